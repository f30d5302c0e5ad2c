"""Showing field values to people: unit titles, choice titles, dates, state names."""

from __future__ import annotations

from typing import Any

from ..timeutil import display
from .layout import translate

fmt_date = display  # templates and views call it by this name


def unit_title(site, unit_id: str | None) -> str:
    return site["units"].title_of(unit_id) if unit_id else ""


def field_text(request, site, fdef, value: Any) -> str:
    """One field value as plain text (the template escapes it)."""
    if value is None or value == "" or value == ():
        return ""
    kind = fdef.kind
    if kind == "unit":
        return unit_title(site, value)
    if kind == "units":
        return "、".join(unit_title(site, u) for u in value)
    if kind in ("choice", "multi_choice"):
        titles = {c.value: c.title for c in fdef.choices}
        values = [value] if kind == "choice" else list(value)
        return "、".join(translate(request, titles.get(v, v)) for v in values)
    if kind == "bool":
        return translate(request, "是" if value else "否")
    if kind in ("date", "datetime"):
        return fmt_date(value)
    return str(value)


def state_title(request, item) -> str:
    return workflow_state_title(request, request.registry.duban_workflows.get(getattr(item, "workflow", "")),
                                item.state)


def workflow_state_title(request, workflow, name: str) -> str:
    """A state's title in the request's language (the name itself for a state the workflow lacks)."""
    state = workflow.states.get(name) if workflow is not None else None
    return translate(request, state.title) if state is not None else name


def user_title(site, username: str | None) -> str:
    user = site["users"].get(username) if username else None
    return user.title if user is not None else (username or "")
