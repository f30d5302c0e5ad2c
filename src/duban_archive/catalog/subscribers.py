"""Keeping the listing index in step with items (same transaction)."""

from __future__ import annotations

from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from .listing import reindex_item


def listing_on_change(event) -> None:
    obj = event.object
    if isinstance(obj, SupervisionItem):
        reindex_item(find_site(obj), obj)
    elif getattr(obj, "__parent__", None) is not None:
        item = obj.__parent__.__parent__  # record -> its folder -> the item
        if isinstance(item, SupervisionItem):
            reindex_item(find_site(item), item)
