"""Listings through the shared listing index (``catalog/listing.py``).

Never iterate a board: 100k items must page in milliseconds, and the index
already filters by what the caller may view.
"""

from __future__ import annotations

from typing import Any

SORTS = {"number": "编号", "deadline": "办结时限", "registered_on": "立项日期", "modified": "最近更新"}
PAGE_SIZE = 50


def query(site, principals, **kw: Any) -> tuple[int, list[Any]]:
    from ..catalog.listing import query_items  # the lead's index; imported late on purpose

    return query_items(site, principals, **kw)
