"""Opening the site: the root factory for traversal and helpers for scripts.

Depends on ``bootstrap`` (``open_site(create=True)`` creates a missing site); ``bootstrap``
does not depend on this module (``ROOT_KEY`` lives in ``site.py``).
"""

from __future__ import annotations

from contextlib import contextmanager

import transaction
from pyramid_zodbconn import get_connection

from .bootstrap import ensure_site
from .site import ROOT_KEY

__all__ = ["ROOT_KEY", "get_site", "open_site", "root_factory"]


def get_site(request):
    """The Site of this request's ZODB connection (raises if not initialised).

    Cached per attempt: pyramid_retry re-runs a request with the *same* environ
    but a fresh connection, so a site cached by an earlier attempt is stale.
    """
    attempt = request.environ.get("retry.attempt", 0)
    site = request.environ.get("duban.site")
    if site is None or request.environ.get("duban.site_attempt", 0) != attempt:
        zroot = get_connection(request).root()
        site = zroot.get(ROOT_KEY)
        if site is None:
            raise LookupError("站点尚未初始化：请先运行 duban-archive init INI")
        request.environ["duban.site"] = site
        request.environ["duban.site_attempt"] = attempt
    return site


def root_factory(request):
    return get_site(request)


@contextmanager
def open_site(registry, tm: transaction.TransactionManager | None = None, create: bool = False):
    """Open a connection outside any request (CLI, workers, tests, benchmarks).

    Yields the Site; the caller commits with ``tm`` (default: the thread's
    ``transaction.manager``).  Pushes ``registry`` as the current registry
    so events reach their subscribers.
    """
    from pyramid.threadlocal import manager as threadlocal_manager

    db = registry._zodb_databases[""]
    tm = tm or transaction.manager
    conn = db.open(transaction_manager=tm)
    threadlocal_manager.push({"registry": registry, "request": None})
    try:
        zroot = conn.root()
        site = zroot.get(ROOT_KEY)
        if site is None:
            if not create:
                raise LookupError("站点尚未初始化：请先运行 duban-archive init INI")
            site, _ = ensure_site(zroot, registry)
        yield site
    finally:
        try:
            tm.abort()
        finally:
            threadlocal_manager.pop()
            conn.close()
