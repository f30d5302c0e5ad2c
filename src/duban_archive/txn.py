"""Side effects after commit.

pyramid_retry may run a view twice and a transaction may abort, so anything
that leaves the database (index writes, mail, files on disk) is registered
here and runs only once the transaction has committed.  Callbacks must be
idempotent: a crash between commit and callback is repaired by the persistent
queues that the transaction itself wrote (catalog queue, outbox).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

import transaction
from ZODB.POSException import ConflictError, POSKeyError

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


def in_own_transaction(obj: Any, fn: Callable[[Any], Any], *, attempts: int = 8, backoff: float = 0.005) -> Any:
    """``fn(obj as seen by a new connection)``, committed in a short transaction of its own.

    For hot counters (件号, 事项编号): the caller's long transaction never writes
    them, so it cannot conflict on them.  Retried on conflicts with a small
    random back-off; after ``attempts`` the ConflictError goes to the caller
    (a request's own retry).  An object not committed yet (created in the
    caller's transaction) has nothing to open: ``fn(obj)`` then runs in the
    caller's transaction, the old way.
    """
    jar, oid = getattr(obj, "_p_jar", None), getattr(obj, "_p_oid", None)
    if jar is None or oid is None:
        return fn(obj)
    tm = transaction.TransactionManager()
    conn = jar.db().open(transaction_manager=tm)
    try:
        for attempt in range(attempts):
            tm.begin()  # the newest committed state
            try:
                other = conn.get(oid)
                other._p_activate()
            except POSKeyError:  # created in the caller's uncommitted transaction
                tm.abort()
                return fn(obj)
            try:
                result = fn(other)
                tm.commit()
                return result
            except ConflictError:
                tm.abort()
                if attempt == attempts - 1:
                    raise
            time.sleep(random.uniform(0, backoff * 2 ** attempt))
        raise AssertionError("unreachable")
    finally:
        tm.abort()
        conn.close()
