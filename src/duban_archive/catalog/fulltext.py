"""The full-text catalog of one application: wiring, after-commit indexing, search entry points.

``registry.duban_fulltext`` is a :class:`FulltextCatalog`.  After a commit
that queued index work it either wakes the in-process worker thread
(``duban.run_workers = true``, as in ``make run``) or, without a worker,
applies the queue itself right away (tests, single-process setups).  In
production the web processes share a ZEO (or RelStorage) database and set
``duban.external_indexer = true``: they only queue, and one separate
``duban-archive indexer INI`` process, the same :class:`~.indexer.Indexer`
in a loop, is the index's single writer.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..security.policy import request_principals
from ..settings import asbool
from .indexer import Indexer, Worker
from .search import SearchResults, run
from .store import get_store
from .whoosh_engine import FORMAT_VERSION, WhooshEngine

log = logging.getLogger(__name__)


class FulltextCatalog:
    def __init__(self, registry: Any, var_dir: str | Path) -> None:
        var = Path(var_dir)
        self.cache_dir = str(var / "cache")
        self.store = get_store(var, FORMAT_VERSION)
        self.engine = WhooshEngine(self.store)
        self.indexer = Indexer(registry, self.store, self.engine, self.cache_dir)
        self.worker: Worker | None = None
        #: apply the queue right after commit when no worker runs (settable in tests)
        self.inline = True

    def start_worker(self, interval: float = 5.0) -> None:
        if self.worker is None or not self.worker.is_alive():
            self.worker = Worker(self.indexer, interval)
            self.worker.start()

    def after_commit(self) -> None:
        if self.worker is not None and self.worker.is_alive():
            self.worker.wake.set()
        elif self.inline:
            self.indexer.apply_pending(lock_timeout=30)

    def not_ocred(self, item_id: str) -> list[str]:
        """Attachments of the item whose text could not be read (no OCR available)."""
        stored = self.engine.stored(item_id) or {}
        return [a for a in stored.get("unextracted", "").split(",") if a]

    def search(self, principals, q: str = "", **kw) -> SearchResults:
        return run(self.engine, principals, q, **kw)


def get_catalog(registry: Any) -> FulltextCatalog:
    return registry.duban_fulltext


def search(request, q: str = "", **kw):
    """Search as the requesting user (their effective principals filter the query)."""
    return get_catalog(request.registry).search(request_principals(request), q, **kw)


def setup(config) -> None:
    """Called from ``catalog.includeme``: subscribers, the catalog object, the worker."""
    from ..events import ObjectAdded, ObjectModified, ObjectRemoved, StateChanged
    from .queue import on_content_event

    settings = config.get_settings()
    catalog = FulltextCatalog(config.registry, settings["duban.var_dir"])
    config.registry.duban_fulltext = catalog
    for event in (ObjectAdded, ObjectModified, ObjectRemoved, StateChanged):
        config.add_subscriber(on_content_event, event)
    from pyramid.events import ApplicationCreated

    def warm(event) -> None:  # the segmenter's dictionary (~0.4 s) before the first search, not in it
        from .analysis import warm_up

        threading.Thread(target=warm_up, name="duban-jieba-warm-up", daemon=True).start()

    config.add_subscriber(warm, ApplicationCreated)
    if asbool(settings.get("duban.external_indexer", "false")):
        catalog.inline = False  # `duban-archive indexer INI` applies the queue
    elif asbool(settings.get("duban.run_workers", "false")):
        # started once the app is built: the ZODB databases must exist first
        def start(event) -> None:
            catalog.start_worker(float(settings.get("duban.fulltext_poll", 5)))

        config.add_subscriber(start, ApplicationCreated)
