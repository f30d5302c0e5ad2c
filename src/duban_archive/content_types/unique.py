"""Values no two items of one board may share: 12345 工单编号, 互联网+督查 线索编号 (``unique = true`` fields).

A scan of the board would let two simultaneous 立项 with the same 工单编号 both pass (each transaction sees
the board without the other's item).  So every claimed value is a key of ``site.unique_values`` (an
OOBTree ``(board_id, field, normalised value) -> item_id``) written in the creating transaction: two
transactions inserting the same key into the same bucket are refused by BTree conflict resolution, the
request is retried and the retry sees the winner's key — one item, the other a 409 naming it.  A refused
request writes no key (its transaction is doomed with everything else).

Normalised = NFKC (full-width letters and digits folded), no whitespace, upper case: 「rx 2026-001」 and
「RX2026-001」 are the same number.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from BTrees.OOBTree import OOBTree

from ..errors import Refusal

_SPACE = re.compile(r"\s+")


def normalise(value: Any) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(value or ""))).upper()


def unique_values(site) -> OOBTree:
    """The site's table of claimed values (made on first use; evolve step 11 fills it for older sites)."""
    table = getattr(site, "unique_values", None)
    if table is None:
        table = site.unique_values = OOBTree()
    return table


def _key(board_id: str, name: str, value: Any) -> tuple[str, str, str] | None:
    norm = normalise(value)
    return (board_id, name, norm) if norm else None


def check_unique(site, board_id: str, values: dict[str, Any], typedef, own_id: str | None = None) -> None:
    """Raise a 409 :class:`Refusal` naming the existing item when a ``unique`` value of ``values`` is taken
    (by another item than ``own_id``); writes nothing."""
    table = getattr(site, "unique_values", None)
    if table is None:
        return
    problems: dict[str, str] = {}
    first = None
    for f in typedef.unique_fields:
        key = _key(board_id, f.name, values.get(f.name))
        holder = table.get(key) if key is not None else None
        if holder is None or holder == own_id:
            continue
        other = site.get_item(holder)
        label = f"{other.number}（{other.title}）" if other is not None else holder
        problems[f.name] = f"{f.title}“{values[f.name]}”已被事项 {label} 使用"
        first = first or (f.title, values[f.name], label)
    if first is not None:
        title, value, label = first
        raise Refusal(f"本版块已有{title}为“{value}”的事项 {label}，同一编号不能重复立项", problems, status=409,
                      code="duplicate")


def claim(site, board_id: str, item, typedef, old: dict[str, Any] | None = None) -> None:
    """Record ``item``'s unique values (after :func:`check_unique`); ``old``: the values it had before an
    edit, whose keys are released."""
    table = unique_values(site)
    for f in typedef.unique_fields:
        if old is not None and f.name in old:
            previous = _key(board_id, f.name, old[f.name])
            if previous is not None and table.get(previous) == item.item_id:
                del table[previous]
        key = _key(board_id, f.name, getattr(item, f.name, None))
        if key is not None and table.get(key) != item.item_id:
            table[key] = item.item_id


def rebuild(site, registry) -> list[str]:
    """Claim the values of every existing item (evolve step 11); returns the duplicates found
    (``"RX-2026-0003 工单编号 A1 = RX-2026-0001"``), which keep their values — the first item keeps the key."""
    table = unique_values(site)
    duplicates = []
    for item in site.item_index.values():
        typedef = registry.duban_types.get(getattr(item, "type_name", ""))
        for f in typedef.unique_fields if typedef is not None else ():
            key = _key(item.board_id, f.name, getattr(item, f.name, None))
            if key is None:
                continue
            holder = table.get(key)
            if holder is None:
                table[key] = item.item_id
            elif holder != item.item_id:
                duplicates.append(f"{item.number} {f.title} {getattr(item, f.name)} = {holder}")
    return duplicates
