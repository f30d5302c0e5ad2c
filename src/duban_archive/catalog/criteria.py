"""The criteria of a search: ONE colander schema for the search page, ``GET /api/v1/search`` and
saved searches, and their canonical query string.

Domain code (no request, no view): :func:`parse_criteria` validates a query string's or a JSON
body's criteria (Chinese messages per field, :class:`~duban_archive.validation.ValidationFailed`),
:func:`compact` keeps the ones that narrow or order the search (what a saved search stores),
:func:`query_string` writes them back without the defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import colander

from ..validation import validate
from .search import SORTS

#: the criteria of a search (what a saved search keeps); ``page``/``per_page`` only page through it
CRITERIA = ("q", "board", "state", "unit", "year", "retention", "overdue", "sort")
PAGING = ("page", "per_page")
#: 保管期限 codes (their titles are the UI's)
RETENTIONS = ("Y", "D30", "D10")
#: values left out of a query string: the defaults
DEFAULTS: dict[str, str] = {"page": "1", "per_page": "20", "sort": "relevance"}


class Text(colander.SchemaType):
    """Stripped text; a JSON number or list is refused rather than turned into its repr."""

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else str(appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None):
            return colander.null
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "应为文本")
        return cstruct.strip() or colander.null


class Int(colander.SchemaType):
    """An integer in ``[low, high]`` from a query string or JSON, with one Chinese message."""

    def __init__(self, low: int, high: int, message: str) -> None:
        self.low, self.high, self.message = low, high, message

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else str(appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return colander.null
        text = cstruct.strip() if isinstance(cstruct, str) else cstruct
        if isinstance(text, bool) or not (isinstance(text, int) or re.fullmatch(r"\d{1,9}", str(text))):
            raise colander.Invalid(node, self.message)
        value = int(text)
        if not self.low <= value <= self.high:
            raise colander.Invalid(node, self.message)
        return value


class Flag(colander.SchemaType):
    """true/false (also 1/0, yes/no) from a query string, or a JSON boolean."""

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else ("true" if appstruct else "false")

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return colander.null
        if isinstance(cstruct, bool):
            return cstruct
        text = str(cstruct).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise colander.Invalid(node, "是否逾期应为 true 或 false")


def _one_of(choices, message: str):
    def check(node, value) -> None:
        if value not in choices:
            raise colander.Invalid(node, message)
    return check


def _criteria_nodes() -> list[colander.SchemaNode]:
    return [
        colander.SchemaNode(Text(), name="q", missing="",
                            validator=colander.Length(max=500, max_err="检索式不能超过 500 个字符")),
        colander.SchemaNode(Text(), name="board", missing=""),
        colander.SchemaNode(Text(), name="state", missing=""),
        colander.SchemaNode(Text(), name="unit", missing=""),
        colander.SchemaNode(Int(1900, 2999, "年度应为四位数字，如 2025"), name="year", missing=None),
        colander.SchemaNode(Text(), name="retention", missing="",
                            validator=_one_of(RETENTIONS, "保管期限应为 " + "、".join(RETENTIONS))),
        colander.SchemaNode(Flag(), name="overdue", missing=None),
        colander.SchemaNode(Text(), name="sort", missing="relevance",
                            validator=_one_of(SORTS, "排序方式应为 " + "、".join(SORTS))),
    ]


def criteria_schema(*, paging: bool = False) -> colander.SchemaNode:
    """The search criteria; ``paging`` adds page/per_page."""
    schema = colander.SchemaNode(colander.Mapping())
    for node in _criteria_nodes():
        schema.add(node)
    if paging:
        schema.add(colander.SchemaNode(Int(1, 10_000, "应为 1 到 10000 之间的整数"), name="page", missing=1))
        schema.add(colander.SchemaNode(Int(1, 100, "应为 1 到 100 之间的整数"), name="per_page", missing=20))
    return schema


_PAGED = criteria_schema(paging=True)


def parse_criteria(get: Mapping[str, Any]) -> dict[str, Any]:
    """Validated criteria and paging from a query string (or any mapping); raises ValidationFailed.

    Other keys (``format``, cache busters) are left to the caller.
    """
    data = {k: get.get(k) for k in CRITERIA + PAGING if get.get(k) not in (None, "")}
    return validate(_PAGED, data)


def compact(params: Mapping[str, Any]) -> dict[str, Any]:
    """Only the criteria that narrow or order the search (plain data, fit for ZODB and JSON)."""
    return {k: params[k] for k in CRITERIA
            if params.get(k) not in (None, "") and not (k == "sort" and params[k] == "relevance")}


def query_string(params: Mapping[str, Any]) -> str:
    """Criteria and paging as a query string, without empty values and defaults (no ``?``)."""
    clean = {}
    for k in CRITERIA + PAGING:
        v = params.get(k)
        if isinstance(v, bool):
            v = "true" if v else "false"
        if v in (None, "") or DEFAULTS.get(k) == str(v):
            continue
        clean[k] = str(v)
    return urlencode(clean)
