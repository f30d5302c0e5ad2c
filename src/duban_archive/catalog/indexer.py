"""Applying the index queue, and rebuilding the index from scratch.

One cycle, under the single-writer lock:

1. begin a fresh ZODB transaction (a snapshot newer than every commit whose
   queue entries we are about to read);
2. read a batch of queue entries, build each item's document from that
   snapshot (or delete it when the item is gone) and commit whoosh;
3. delete exactly those queue keys in ZODB and commit.  The queue is sharded
   and keeps a sentinel first key per shard (``queue.py``), so these
   deletions merge with the inserts requests commit meanwhile instead of
   conflicting with them.

A crash (even ``kill -9``) after 2 and before 3 leaves the entries queued;
the next cycle applies them again, which rewrites the same documents
(``update_document`` on the unique ``id``): applying is idempotent, and the
index ends consistent with ZODB.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import transaction
from ZODB.POSException import ConflictError

from ..content_types.site_access import ROOT_KEY
from ..timeutil import now
from .documents import build_document, problem_text
from .engine import DocumentFailed, Engine, IndexWriter
from .queue import get_state
from .store import IndexStore, LockTimeout

log = logging.getLogger(__name__)

BATCH = 200
#: below this many items a rebuild is not worth forking workers for
PARALLEL_MIN_ITEMS = 500
#: documents the index writer may fail on in one rebuild (each costs a restart; ``check_document``
#: catches the known cases before the writer, so these are unforeseen failures)
MAX_REBUILD_RESTARTS = 10


class Indexer:
    """The single writer of one data directory's full-text index (through its engine)."""

    def __init__(self, registry: Any, store: IndexStore, engine: Engine, cache_dir: str | None) -> None:
        self.registry = registry
        self.store = store
        self.engine = engine
        self.cache_dir = cache_dir

    def _db(self):
        return self.registry._zodb_databases[""]

    def apply_pending(self, *, lock_timeout: float | None = 60.0, limit: int | None = None,
                      batch: int = BATCH, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply queued entries until the queue is empty (or ``limit`` entries); returns how many."""
        done = 0
        try:
            with self.store.writer_lock(lock_timeout):
                if not self.store.exists() or not self.store.up_to_date_schema():
                    done += self._rebuild_locked(procs=1)  # no index yet, or an old schema
                while limit is None or done < limit:
                    n = self._cycle(batch if limit is None else min(batch, limit - done))
                    if n == 0:
                        break
                    done += n
                    if on_batch is not None:
                        on_batch(done)
        except LockTimeout:
            log.info("index writer busy; queue left for the running writer")
        return done

    def _cycle(self, batch: int) -> int:
        tm = transaction.TransactionManager()
        conn = self._db().open(transaction_manager=tm)
        try:
            tm.begin()
            site = conn.root().get(ROOT_KEY)
            state = get_state(site, create=False) if site is not None else None
            if state is None:
                return 0
            entries = list(state.items(limit=batch))
            if not entries:
                return 0
            ids = sorted({item_id for _, item_id in entries})
            skipped: dict[str, str] = {}
            while True:  # again without an item whose document the writer failed on
                writer = self.engine.writer()
                try:
                    indexed, failed = self._apply(site, writer, ids, skipped)
                except BaseException:
                    writer.cancel()
                    raise
                if failed is None:
                    break
                writer.cancel()  # a half-added document: drop this writer's work and start over
            writer.commit()
            state.take([key for key, _ in entries])
            try:
                tm.commit()
            except ConflictError:  # the entries stay queued; re-applying them is harmless
                tm.abort()
                log.info("queue cleanup conflicted; will re-apply %d entries", len(entries))
            self._flag_items(skipped, indexed)
            return len(entries)
        finally:
            tm.abort()
            conn.close()

    def _apply(self, site, writer: IndexWriter, ids: list[str],
               skipped: dict[str, str]) -> tuple[list[str], str | None]:
        """Write the documents of ``ids`` (none of ``skipped``, which gains the items that fail).

        Returns the ids indexed that carry a flag from an earlier failure, and the id the *writer*
        failed on (then this writer is spoiled).
        A skipped item's old document is deleted: it would show a stale version, and stale
        permissions, of an item that changed.
        """
        indexed: list[str] = []
        for item_id in ids:
            if item_id in skipped:
                writer.delete(item_id)
                continue
            item = site.get_item(item_id)
            if item is None:
                writer.delete(item_id)
                continue
            try:
                doc = build_document(item, self.registry, self.cache_dir)
            except ConflictError:
                raise
            except Exception as exc:  # one broken item must not block the queue for everyone
                skipped[item_id] = self._skip(item_id, exc)
                writer.delete(item_id)
                continue
            try:
                writer.update(doc)
            except Exception as exc:  # noqa: BLE001 - the item is skipped, the batch written again
                skipped[item_id] = self._skip(item_id, exc)
                return indexed, item_id
            if getattr(item, "index_problem", None) is not None:
                indexed.append(item_id)  # flagged before, indexed now: the flag is cleared
        return indexed, None

    @staticmethod
    def _skip(item_id: str, exc: BaseException) -> str:
        """Log one line for an item left out (its traceback at DEBUG); returns the reason kept on it."""
        text = problem_text(exc)
        log.error("cannot index %s; skipped until it changes or a reindex: %s", item_id, text)
        log.debug("why %s could not be indexed", item_id, exc_info=exc)
        return text

    def _flag_items(self, skipped: dict[str, str], indexed) -> None:
        """Record on the items what could not be indexed, and clear it where it now could.

        A short transaction of its own (retried on a conflict); writes only items whose flag
        changes, so a normal cycle writes nothing.
        """
        if not skipped and not indexed:
            return
        for attempt in range(3):
            tm = transaction.TransactionManager()
            conn = self._db().open(transaction_manager=tm)
            try:
                tm.begin()
                site = conn.root().get(ROOT_KEY)
                if site is None:
                    return
                changed = False
                for item_id, message in skipped.items():
                    item = site.get_item(item_id)
                    old = getattr(item, "index_problem", None) if item is not None else None
                    if item is not None and (old is None or old.get("message") != message):
                        item.index_problem = {"message": message, "at": now()}
                        changed = True
                for item_id in indexed:
                    item = site.get_item(item_id)
                    if item is not None and getattr(item, "index_problem", None) is not None:
                        item.index_problem = None
                        changed = True
                if not changed:
                    return
                tm.get().note("全文索引：记录无法索引的事项")
                tm.commit()
                return
            except ConflictError:
                tm.abort()
                log.info("recording index problems conflicted (attempt %d)", attempt + 1)
            finally:
                tm.abort()
                conn.close()
        log.warning("could not record index problems of %s", ", ".join(sorted(skipped)))

    # -- rebuild -----------------------------------------------------------
    def rebuild(self, *, procs: int = 2, progress: Callable[[int, int], None] | None = None,
                lock_timeout: float | None = 600.0, skipped: dict[str, str] | None = None) -> int:
        """Build a new index generation from ZODB and switch to it; returns items indexed.

        Items that cannot be indexed are left out (flagged on the item, logged); pass a dict as
        ``skipped`` to get them as ``{item_id: reason}``.
        """
        with self.store.writer_lock(lock_timeout):
            return self._rebuild_locked(procs=procs, progress=progress, skipped=skipped)

    def _rebuild_locked(self, *, procs: int, progress: Callable[[int, int], None] | None = None,
                        skipped: dict[str, str] | None = None) -> int:
        tm = transaction.TransactionManager()
        conn = self._db().open(transaction_manager=tm)
        problems: dict[str, str] = {} if skipped is None else skipped
        flagged: list[str] = []  # items carrying a flag that now index fine
        try:
            tm.begin()
            site = conn.root().get(ROOT_KEY)
            if site is None:
                return self.engine.rebuild(iter(()), procs=1)
            state = get_state(site, create=False)
            seen_keys = list(state.keys()) if state is not None else []
            total = len(site.item_index)

            def documents() -> Iterator[dict[str, Any]]:
                for k, item in enumerate(site.item_index.values(), 1):
                    if item.item_id in problems:
                        continue
                    try:
                        doc = build_document(item, self.registry, self.cache_dir)
                    except ConflictError:
                        raise
                    except Exception as exc:  # left out, flagged, reported; the rebuild goes on
                        problems[item.item_id] = self._skip(item.item_id, exc)
                        continue
                    if getattr(item, "index_problem", None) is not None:
                        flagged.append(item.item_id)
                    yield doc
                    if k % 2000 == 0:
                        conn.cacheGC()

            def report(done: int) -> None:
                if progress is not None:
                    progress(done, total)

            for _attempt in range(MAX_REBUILD_RESTARTS + 1):
                flagged.clear()
                try:  # a new generation, switched to when complete (dropped on any failure)
                    n = self.engine.rebuild(documents(), procs=procs if total >= PARALLEL_MIN_ITEMS else 1,
                                            progress=report)
                except DocumentFailed as failed:  # the writer failed on it: again without it
                    problems[failed.item_id] = self._skip(failed.item_id, failed)
                    continue
                break
            else:
                raise RuntimeError(f"全文索引重建失败：超过 {MAX_REBUILD_RESTARTS} 件事项无法写入索引")
            if state is not None and seen_keys:
                state.take(seen_keys)
                try:
                    tm.commit()
                except ConflictError:
                    tm.abort()
            self._flag_items(problems, [i for i in flagged if i not in problems])
            return n
        finally:
            tm.abort()
            conn.close()


class Worker(threading.Thread):
    """In-process indexer for ``make run`` (``duban.run_workers = true``).

    Woken right after each commit that queued something; also polls, so
    commits from other processes (CLI, tick) get indexed too.
    """

    def __init__(self, indexer: Indexer, interval: float = 5.0) -> None:
        super().__init__(name="duban-fulltext-indexer", daemon=True)
        self.indexer = indexer
        self.interval = interval
        self.wake = threading.Event()
        self.stopping = False

    def run(self) -> None:
        from pyramid.threadlocal import manager

        manager.push({"registry": self.indexer.registry, "request": None})
        while not self.stopping:
            try:
                self.indexer.apply_pending(lock_timeout=0)
            except Exception:
                log.exception("background indexing failed; retrying later")
            self.wake.wait(self.interval)
            self.wake.clear()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
