"""Side effects after commit.

pyramid_retry may run a view twice and a transaction may abort, so anything
that leaves the database (index writes, mail, files on disk) is registered
here and runs only once the transaction has committed.  Callbacks must be
idempotent: a crash between commit and callback is repaired by the persistent
queues that the transaction itself wrote (catalog queue, outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import transaction

log = logging.getLogger(__name__)


def transaction_for(obj: object = None) -> transaction.Transaction:
    """The transaction that will commit ``obj``.

    Web requests run under pyramid_tm's *explicit* per-request manager, not
    the thread's global ``transaction.manager``; a hook added to
    ``transaction.get()`` there would never run (or run on someone else's
    commit).  The object's connection knows its manager.  A new object has no
    connection until the next savepoint, so its container is asked instead.
    """
    while obj is not None:
        jar = getattr(obj, "_p_jar", None)
        if jar is not None:
            return jar.transaction_manager.get()
        obj = getattr(obj, "__parent__", None)
    return transaction.get()


def after_commit(callback: Callable[[], object], txn: transaction.Transaction | None = None,
                 obj: object = None) -> None:
    """Run ``callback()`` after ``txn`` (default: the one committing ``obj``) commits successfully."""
    txn = txn or transaction_for(obj)

    def hook(success: bool) -> None:
        if not success:
            return
        try:
            callback()
        except Exception:  # the commit stands; the queue will retry later
            log.exception("after-commit callback %r failed", callback)

    txn.addAfterCommitHook(hook)
