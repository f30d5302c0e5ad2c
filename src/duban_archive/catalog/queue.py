"""The index queue: written in the transaction that changed an item.

Whoosh is not transactional, so a request never touches it.  Content events
add ``key -> item id`` entries to ``site["fulltext"]`` inside the request's
transaction; if the transaction aborts (or pyramid_retry re-runs a
conflicting request) the entry vanishes with it, so a retry never indexes
twice.  The indexer deletes exactly the keys it applied, so an entry added
while it worked survives for the next round.

Keys are ``<time_ns:020d>-<shard:02x><random>`` in one of :data:`SHARDS`
OOBTrees: a transaction picks a shard at random (one for all its entries,
:func:`~duban_archive.audit.log.writer_shard`), so concurrent writers seldom
share a bucket, and the indexer's deletions, which take the oldest keys, merge
with their inserts: each shard keeps a sentinel as its first key, so while a
shard fits in one bucket (under ~30 entries, ~500 queued in all) a deletion
never removes a bucket's first key nor empties a bucket, the two changes
BTrees cannot merge.  (A longer backlog can still conflict at a bucket
boundary; the indexer then applies those entries again, which is harmless.)
Readers merge the shards by key, i.e. in time order.  A state pickled before the shards keeps its single
``queue`` tree as an extra source that is only read and drained; the first
enqueue adds the shards.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..audit.log import merged, shard_key, shard_of, writer_shard
from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from ..txn import transaction_for

NAME = "fulltext"
#: queue sub-trees of a new state
SHARDS = 16
#: every shard's first key (sorts before any time key), never deleted
SENTINEL = ""


class FulltextState(Persistent):
    """Queue of item ids to (re)index, plus each user's saved searches."""

    __name__: str | None = None
    __parent__ = None
    #: the queue, sharded (see the module docstring)
    shards: tuple = ()
    #: the single queue tree of a state pickled before the shards (drained, never written to)
    queue = None

    def __init__(self) -> None:
        self._add_shards()
        self.queued = Length()
        self.saved = OOBTree()  # username -> OOBTree(name -> dict of query params)

    def _add_shards(self) -> None:
        self.shards = tuple(OOBTree({SENTINEL: ""}) for _ in range(SHARDS))

    def enqueue(self, item_id: str) -> str:
        if not self.shards:  # a state from before the shards: add them (one write of this object)
            self._add_shards()
        n = writer_shard(self, len(self.shards))
        key = shard_key(n)
        self.shards[n][key] = item_id
        self.queued.change(1)
        return key

    def pending(self) -> int:
        return max(0, self.queued())

    def items(self, limit: int | None = None) -> Iterator[tuple[str, str]]:
        """Queued ``(key, item id)``, oldest first (at most ``limit``)."""
        sources = [shard.items(min=SENTINEL, excludemin=True) for shard in self.shards]
        if self.queue is not None:
            sources.insert(0, iter(self.queue.items()))
        entries = merged(sources)
        return islice(entries, limit) if limit is not None else entries

    def keys(self) -> Iterator[str]:
        return (key for key, _ in self.items())

    def take(self, keys) -> None:
        n = 0
        for key in keys:
            if key == SENTINEL:
                continue
            shard = shard_of(key, len(self.shards))
            if shard is not None and self.shards[shard].pop(key, None) is not None:
                n += 1
            elif self.queue is not None and self.queue.pop(key, None) is not None:
                n += 1
        if n:
            self.queued.change(-n)


def get_state(site: Any, create: bool = True) -> FulltextState | None:
    state = site.get(NAME)
    if state is None and create:
        state = site.add(NAME, FulltextState())
    return state


def queue_item(site: Any, item_id: str, registry: Any = None) -> None:
    """Queue ``item_id`` for (re)indexing once the current transaction commits.

    Other subsystems call this after changing indexed attributes without an
    event (e.g. ``archival_code``).  Queued at most once per transaction.
    """
    txn = transaction_for(site)
    marker = _TxnMarker
    try:
        seen = txn.data(marker)
    except KeyError:
        seen = set()
        txn.set_data(marker, seen)
        _after_commit(txn, registry)
    if item_id in seen:
        return
    seen.add(item_id)
    state = get_state(site)
    assert state is not None  # created when missing
    state.enqueue(item_id)


class _TxnMarker:
    """Key of this transaction's queued ids in ``Transaction.data``."""


def _after_commit(txn, registry: Any) -> None:
    from pyramid.threadlocal import get_current_registry

    from ..txn import after_commit

    registry = registry or get_current_registry()
    catalog = getattr(registry, "duban_fulltext", None)
    if catalog is not None:
        after_commit(catalog.after_commit, txn)


def item_of(obj: Any) -> SupervisionItem | None:
    if isinstance(obj, SupervisionItem):
        return obj
    folder = getattr(obj, "__parent__", None)
    item = getattr(folder, "__parent__", None)
    return item if isinstance(item, SupervisionItem) else None


def on_content_event(event) -> None:
    """Subscriber for ObjectAdded / ObjectModified / ObjectRemoved / StateChanged."""
    item = item_of(event.object)
    if item is None:
        return
    try:
        site = find_site(item)
    except LookupError:
        return
    queue_item(site, item.item_id)
