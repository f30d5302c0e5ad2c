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


def after_commit(callback: Callable[[], object], txn: transaction.Transaction | None = None) -> None:
    """Run ``callback()`` after the current transaction commits successfully."""
    txn = txn or transaction.get()

    def hook(success: bool) -> None:
        if not success:
            return
        try:
            callback()
        except Exception:  # the commit stands; the queue will retry later
            log.exception("after-commit callback %r failed", callback)

    txn.addAfterCommitHook(hook)
