"""Building a new index generation on several cores.

Analysis is Python, so a rebuild scales only with processes.  The parent
reads ZODB and builds the documents (about a third of the CPU); forked
workers each index a share into segments of their own (a new one every
``MAX_POSTINGS``), and the parent commits one table of contents listing
those segments.  This is what
whoosh's ``MpWriter(multisegment=True)`` does, with one difference that
matters: the workers use our :class:`~.postings.ArrayWriter`, which
``MpWriter``'s sub-writers cannot be given.

whoosh has no public API for committing segments written by other processes:
``_finalize_segment``, ``_close_segment``, ``_commit_toc`` and ``_finish`` are
``SegmentWriter`` internals of the pinned whoosh 2.7.4 (as is everything
:class:`~.postings.ArrayWriter` overrides); reads of whoosh internals otherwise live in
:mod:`.codec`.

Only for a fresh generation directory that no one else writes: the caller
holds the single-writer lock and switches ``CURRENT`` after :func:`build`
returns.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Iterable
from typing import Any

from .documents import problem_reason
from .engine import DocumentFailed
from .postings import open_writer

#: documents per message to a worker
BATCH = 200
#: postings per segment a worker writes (~30 000 items of the benchmark)
MAX_POSTINGS = 10_000_000


__all__ = ["DocumentFailed", "build"]


def _work(storage, indexname: str, jobs, results, max_postings: int) -> None:
    """Worker: index batches until ``None``, then report its finished segments.

    A segment is closed whenever it holds ``max_postings`` postings: a worker's
    memory stays bounded (~100 bytes per posting while sorting) however large the archive.
    """
    try:
        ix = storage.open_index(indexname)
        writer = open_writer(ix, _lk=False)  # the parent holds the lock
        segments = []
        while (batch := jobs.get()) is not None:
            for doc in batch:
                try:
                    writer.add_document(**doc)
                except Exception as exc:  # noqa: BLE001 - named to the parent, which starts over without it
                    results.put(("bad", (doc.get("id", ""), problem_reason(exc))))
                    return
            if len(writer.pool) >= max_postings:
                segments.append(writer._finalize_segment())
                writer = open_writer(ix, _lk=False)
        # not _finish(): the temp directory is shared with the other workers
        segments.append(writer._finalize_segment())
        results.put(("ok", segments))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the rebuild
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def build(ix, documents: Iterable[dict[str, Any]], *, procs: int,
          progress: Callable[[int], None] | None = None, max_postings: int | None = None) -> int:
    """Index ``documents`` into the empty index ``ix`` with ``procs`` workers; returns how many."""
    ctx = multiprocessing.get_context("fork")
    # a queue per worker, batches dealt round-robin: equal shares, one segment each
    jobs = [ctx.Queue(maxsize=4) for _ in range(procs)]
    results = ctx.Queue()
    main = open_writer(ix)  # holds the index lock and commits the TOC
    cap = max_postings or MAX_POSTINGS
    workers = [ctx.Process(target=_work, args=(ix.storage, ix.indexname, jobs[i], results, cap), daemon=True)
               for i in range(procs)]
    for w in workers:
        w.start()
    n = sent = 0
    try:
        batch: list[dict[str, Any]] = []
        for doc in documents:
            batch.append(doc)
            n += 1
            if len(batch) >= BATCH:
                _put(jobs[sent % procs], batch, workers, results)
                sent += 1
                batch = []
                if progress is not None:
                    progress(n)
        if batch:
            _put(jobs[sent % procs], batch, workers, results)
        for queue_ in jobs:
            _put(queue_, None, workers, results)
        segments = [s for _ in workers for s in _result(results, workers) if s.doc_count_all()]
        for w in workers:
            w.join()
        main._close_segment()
        main._commit_toc(list(main.segments) + segments)
        main._finish()
        if progress is not None:
            progress(n)
        return n
    except BaseException:
        for w in workers:
            if w.is_alive():
                w.kill()
            w.join(5)
        main.cancel()
        raise


def _put(jobs, batch, workers, results) -> None:
    while True:
        try:
            jobs.put(batch, timeout=1.0)
            return
        except queue.Full:
            if not all(w.is_alive() for w in workers):
                _died(results)


def _result(results, workers):
    while True:
        try:
            status, payload = results.get(timeout=1.0)
        except queue.Empty:
            if not any(w.is_alive() for w in workers):
                _died(results)
            continue
        if status == "bad":
            raise DocumentFailed(*payload)
        if status != "ok":
            raise RuntimeError(f"全文索引工作进程失败：{payload}")
        return payload


def _died(results) -> None:
    """A worker is gone: name the document it failed on when it said so, else fail the rebuild."""
    while True:
        try:
            status, payload = results.get(timeout=1.0)
        except queue.Empty:
            break
        if status == "bad":
            raise DocumentFailed(*payload)
    raise RuntimeError("全文索引工作进程意外退出")
