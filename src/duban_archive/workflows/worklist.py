"""我的待办: the caller's worklist buckets, answered from the listing index.

A state names its bucket (``worklist``) and who works it (``worklist_roles``);
the listing index keys items by ``bucket|principal`` so a bucket is one index
lookup, never a scan.  即将到期 and 已逾期 are the caller's to-do items whose
``next_due`` falls inside the warning window or has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..timeutil import now

#: bucket -> title; the first six are the ones the issue names
BUCKETS = {
    "to_approve": "待审签",
    "to_accept": "待签收",
    "to_handle": "待办理",
    "to_review": "待核查",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "to_assign": "待交办",
    "to_visit": "待回访",
    "to_file": "待归档",
}
#: an item is 即将到期 when its next deadline is this close
DUE_SOON = timedelta(days=2)


def _query(site: Any, principals, **kw: Any) -> tuple[int, list[Any]]:
    from ..catalog.listing import query_items  # the shared listing index

    return query_items(site, principals, **kw)


def bucket(site: Any, principals, name: str, *, start: int = 0, limit: int = 20,
           moment: datetime | None = None, memo: dict | None = None) -> tuple[int, list[Any]]:
    """``(total, items)`` of one bucket for these principals (``memo``: share unions between the
    buckets of one request)."""
    principals = list(principals)
    moment = moment or now()
    if name == "overdue":
        return _query(site, principals, worklist="*", overdue=True, sort="due", start=start, limit=limit,
                      memo=memo)
    if name == "due_soon":
        total, items = _query(site, principals, worklist="*", overdue=False, due_before=moment + DUE_SOON,
                              sort="due", start=start, limit=limit, memo=memo)
        return total, items
    if name != "*" and name not in BUCKETS:
        raise KeyError(name)
    return _query(site, principals, worklist=name, sort="due", start=start, limit=limit, memo=memo)


def worklist(site: Any, principals, *, limit: int = 20, moment: datetime | None = None,
             empty: bool = False, memo: dict | None = None) -> list[dict[str, Any]]:
    """Every bucket with items (``empty=True`` keeps the six named buckets even when empty)."""
    memo = {} if memo is None else memo
    out = []
    for i, (name, title) in enumerate(BUCKETS.items()):
        total, items = bucket(site, principals, name, limit=limit, moment=moment, memo=memo)
        if total or (empty and i < 6):
            out.append({"name": name, "title": title, "total": total, "items": items})
    return out
