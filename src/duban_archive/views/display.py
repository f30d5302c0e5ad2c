"""Showing field values to people: unit titles, choice titles, dates, state names."""

from __future__ import annotations

import html
import re
from typing import Any

from ..content_types.registry import MASK_PERMISSION, mask_phone, phone_digits
from ..timeutil import display
from .layout import translate

fmt_date = display  # templates and views call it by this name


def unit_title(site, unit_id: str | None) -> str:
    return site["units"].title_of(unit_id) if unit_id else ""


def sees_in_full(request, item, fdef) -> bool:
    """Whether the user sees ``fdef`` of ``item`` unmasked: not a ``masked`` field, or the user holds
    ``view_caller_phone`` on the item (the workflow grants it by state to those who must call back)."""
    return not getattr(fdef, "masked", False) or bool(request.has_permission(MASK_PERMISSION, item))


def field_text(request, site, fdef, value: Any, item: Any = None) -> str:
    """One field value as plain text (the template escapes it); a ``masked`` field of ``item`` is shown
    138****5678 to whoever may not see it in full."""
    if value is None or value == "" or value == ():
        return ""
    if item is not None and not sees_in_full(request, item, fdef):
        return mask_phone(str(value))
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


def mask_snippet(request, item, typedef, snippet: str) -> str:
    """A search snippet (HTML, matches in ``<mark>``) with the item's ``masked`` values the user may not see
    in full replaced by their mask — the index keeps the whole text, the page shows 138****5678."""
    for f in typedef.fields if typedef is not None else ():
        value = getattr(item, f.name, None)
        if not f.masked or not value or sees_in_full(request, item, f):
            continue
        digits = re.sub(r"\D", "", phone_digits(str(value)))
        if len(digits) < 3:
            continue
        # the digits as indexed (separators and <mark> tags may sit between any two of them)
        pattern = r"(?:<[^>]*>|[\s\-()（）+])*".join(re.escape(d) for d in digits)
        snippet = re.sub(pattern, html.escape(mask_phone(str(value))), snippet)
    return snippet


def masked_entry(request, item, entry: dict[str, Any]) -> dict[str, Any]:
    """An audit entry of ``item`` as the user may read it: the old and new value of a ``masked`` field
    (来电号码 changed) masked unless the user may see the number in full."""
    typedef = request.registry.duban_types.get(getattr(item, "type_name", ""))
    fdef = typedef.field_map.get(str(entry.get("field", ""))) if typedef is not None else None
    if fdef is None or sees_in_full(request, item, fdef):
        return entry
    return {**entry, **{k: mask_phone(str(entry[k])) for k in ("old", "new") if entry.get(k)}}


def item_field_groups(request, site, item, typedef) -> list[dict[str, Any]]:
    """The item page's 基本信息: the type's fieldsets (legend + ``(title, text)`` rows), masked fields masked."""
    groups = []
    for legend, names in typedef.groups():
        rows = [(translate(request, typedef.field_map[n].title),
                 field_text(request, site, typedef.field_map[n], getattr(item, n, None), item)) for n in names]
        groups.append({"legend": translate(request, legend) if legend else "", "fields": rows})
    return groups


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
