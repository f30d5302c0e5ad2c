"""The index queue: written in the transaction that changed an item.

Whoosh is not transactional, so a request never touches it.  Content events
add ``key -> item id`` entries to an OOBTree at ``site["fulltext"]`` inside the
request's transaction; if the transaction aborts (or pyramid_retry re-runs a
conflicting request) the entry vanishes with it, so a retry never indexes
twice.  Keys are ``<time_ns>-<random>``: concurrent writers land in different
buckets, and the indexer deletes exactly the keys it applied, so an entry
added while it worked survives for the next round.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from ..txn import transaction_for

NAME = "fulltext"


class FulltextState(Persistent):
    """Queue of item ids to (re)index, plus each user's saved searches."""

    __name__: str | None = None
    __parent__ = None

    def __init__(self) -> None:
        self.queue = OOBTree()
        self.queued = Length()
        self.saved = OOBTree()  # username -> OOBTree(name -> dict of query params)

    def enqueue(self, item_id: str) -> str:
        key = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        self.queue[key] = item_id
        self.queued.change(1)
        return key

    def pending(self) -> int:
        return max(0, self.queued())

    def take(self, keys) -> None:
        n = 0
        for key in keys:
            if self.queue.pop(key, None) is not None:
                n += 1
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
    get_state(site).enqueue(item_id)


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
