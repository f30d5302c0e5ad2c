"""Saved searches: ONE store for the search page and ``/api/v1/saved-searches``.

A saved search is a name plus the criteria of a search (:mod:`.criteria`), kept per user in
``site["fulltext"].saved[user][name] = {"params": {...}, "created": datetime}`` — plain data
(the :class:`SavedSearch` objects handed out are built on reading, never stored, so this class
may move freely).  Refusals are :class:`~duban_archive.validation.ValidationFailed` (a
:class:`~duban_archive.errors.Refusal`, 400, Chinese by field).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import colander

from ..timeutil import now
from ..validation import ValidationFailed, validate
from .criteria import Text, compact, criteria_schema, parse_criteria, query_string
from .queue import get_state

SAVED_MAX = 100  # per user
NAME_MAX = 60


@dataclass(frozen=True)
class SavedSearch:
    name: str
    params: dict[str, Any]  # criteria that differ from the defaults (see criteria.CRITERIA)
    created: datetime | None

    @property
    def query_string(self) -> str:
        return query_string(self.params)


def _save_schema() -> colander.SchemaNode:
    schema = criteria_schema()
    schema.insert(0, colander.SchemaNode(
        Text(), name="name", missing_msg="请填写检索名称",
        validator=colander.All(
            colander.Length(max=NAME_MAX, max_err=f"名称不能超过 {NAME_MAX} 个字符"),
            colander.Regex(r"^[^/\\?#]+$", "名称不能包含 / \\ ? #"))))
    return schema


_SAVE_SCHEMA = _save_schema()


def _stored(name: str, entry: dict[str, Any]) -> SavedSearch:
    params = entry.get("params")
    if params is None:  # saved before criteria were stored parsed: a query string
        raw = dict(parse_qsl(entry.get("query", "")))
        try:
            params = compact(parse_criteria(raw))
        except ValidationFailed:
            params = {"q": raw.get("q", "")}
    return SavedSearch(name, dict(params), entry.get("created"))


def saved_searches(site, user: str) -> list[SavedSearch]:
    """``user``'s saved searches, by name."""
    state = get_state(site, create=False)
    mine = state.saved.get(user) if state is not None else None
    return [_stored(name, entry) for name, entry in sorted((mine or {}).items())]


def find_saved_search(site, user: str, name: str) -> SavedSearch | None:
    for saved in saved_searches(site, user):
        if saved.name == name:
            return saved
    return None


def save_search(site, user: str, data: dict[str, Any]) -> tuple[SavedSearch, bool]:
    """Validate ``{"name", <criteria>...}`` and save it for ``user``, replacing one of the same name.

    Returns ``(saved, created)``; raises ValidationFailed (Chinese, by field) before writing.
    """
    from persistent.mapping import PersistentMapping

    values = validate(_SAVE_SCHEMA, data)
    params = compact(values)
    if not set(params) - {"sort"}:
        raise ValidationFailed({"q": "请至少填写检索式或一个筛选条件"})
    state = get_state(site)
    assert state is not None  # create=True
    mine = state.saved.get(user)
    created = mine is None or values["name"] not in mine
    if created and mine is not None and len(mine) >= SAVED_MAX:
        raise ValidationFailed({"name": f"每人最多保存 {SAVED_MAX} 个检索，请先删除不用的"})
    if mine is None:
        mine = state.saved[user] = PersistentMapping()
    mine[values["name"]] = {"params": params, "created": now()}
    return _stored(values["name"], mine[values["name"]]), created


def delete_saved_search(site, user: str, name: str) -> bool:
    """Remove ``user``'s saved search ``name``; False when there is none."""
    state = get_state(site, create=False)
    mine = state.saved.get(user) if state is not None else None
    if mine is None or name not in mine:
        return False
    del mine[name]
    return True
