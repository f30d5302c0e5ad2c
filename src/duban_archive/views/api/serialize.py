"""The JSON shapes of items and their records — ONE place for each.

``item_json`` is used by ``GET /api/v1/items/{id}``, list entries and every
other module that returns items (worklist, search ...).  Other subsystems add
keys (``grade``, ``archival_code``, ``light`` ...) by registering a contributor
with :func:`item_json_contributor` instead of copying the function::

    @item_json_contributor
    def _light(request, item, data, full):
        data["light"] = light_of(item)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...audit.log import _jsonable
from ...content_types.attachment import describe
from ...content_types.registry import MASK_PERMISSION, mask_phone, to_json_value

log = logging.getLogger(__name__)

#: permissions reported in ``can`` so clients show only the actions that will succeed
ITEM_PERMISSIONS = ("edit", "add_feedback", "add_attachment", "add_instruction", "view_audit", "view_caller_phone")

Contributor = Callable[[Any, Any, dict[str, Any], bool], None]
_CONTRIBUTORS: list[Contributor] = []


def item_json_contributor(fn: Contributor) -> Contributor:
    """Register ``fn(request, item, data, full)`` to add keys to every item JSON."""
    if fn not in _CONTRIBUTORS:
        _CONTRIBUTORS.append(fn)
    return fn


def item_json(request, item, full: bool = True) -> dict[str, Any]:
    """An item as JSON: fields of its type, state, and (``full``) its records."""
    registry = request.registry
    typedef = registry.duban_types.get(item.type_name)
    workflow = registry.duban_workflows.get(item.workflow)
    state = workflow.states.get(item.state) if workflow else None
    data: dict[str, Any] = {
        "id": item.item_id,
        "number": item.number,
        "board": item.board_id,
        "type": item.type_name,
        "url": request.route_url("api.item", id=item.item_id),
    }
    full_view: bool | None = None
    for f in typedef.fields if typedef else ():
        data[f.name] = to_json_value(getattr(item, f.name, None))
        if f.masked:  # 来电号码: 138****5678 unless the user must call back (``view_caller_phone``)
            if full_view is None:
                full_view = bool(request.has_permission(MASK_PERMISSION, item))
            if not full_view and data[f.name]:
                data[f.name] = mask_phone(data[f.name])
            data[f"{f.name}_masked"] = not full_view
    units = _units(request)
    data.update({
        "lead_unit_title": units.title_of(getattr(item, "lead_unit", None)) if units is not None else "",
        "state": item.state,
        "state_title": state.title if state else item.state,
        "workflow": item.workflow,
        "archived": bool(item.archived),
        "creator": getattr(item, "creator", ""),
        "created": _jsonable(getattr(item, "created", None)),
        "modified": _jsonable(getattr(item, "modified", None)),
        "next_due": _jsonable(getattr(item, "next_due", None)),
        "deadlines": deadlines_json(item),
    })
    if full:
        data["history"] = [_jsonable(dict(entry)) for entry in item.history]
        data["attachments"] = [attachment_json(request, a) for a in item.attachments.values()]
        data["feedback"] = [record_json(request, r) for r in item.feedback.values()]
        data["instructions"] = [record_json(request, r) for r in item.instructions.values()]
        data["can"] = {p: bool(request.has_permission(p, item)) for p in ITEM_PERMISSIONS}
    for fn in _CONTRIBUTORS:
        try:
            fn(request, item, data, full)
        except Exception:  # one broken extension must not take the item page down
            log.exception("item_json contributor %r failed for %s", fn, item.item_id)
    return data


def deadlines_json(item) -> list[dict[str, Any]]:
    """``[{"name", "due", "light"}]`` from the workflows subsystem, when it is there."""
    try:
        from ...workflows.deadlines import item_deadlines
    except ImportError:
        return []
    return [_jsonable(d if isinstance(d, dict) else vars(d)) for d in item_deadlines(item) or ()]


def attachment_json(request, att) -> dict[str, Any]:
    data = describe(att)
    data["url"] = request.route_url("api.attachment.content", id=att.__name__)
    if att.width:
        data["width"], data["height"] = att.width, att.height
    from ...archive.capture import status

    check = status(att)
    data["capture_check"] = {k: check[k] for k in ("status", "label", "checked_at", "detail", "signatures")}
    return data


def record_json(request, rec) -> dict[str, Any]:
    """A feedback report or instruction: its type's fields plus author and date."""
    data: dict[str, Any] = {"id": rec.__name__, "type": rec.type_name, "author": rec.author,
                            "created": _jsonable(rec.created)}
    typedef = request.registry.duban_types.get(rec.type_name)
    for f in typedef.fields if typedef else ():
        data[f.name] = to_json_value(getattr(rec, f.name, None))
    return data


def _units(request):
    from ...content_types.site_access import get_site

    try:
        return get_site(request)["units"]
    except (LookupError, KeyError):
        return None


@item_json_contributor
def _index_problem(request, item, data, full) -> None:
    """``index_problem``: why the full-text index could not take the item (``null`` when it could).

    Always in the detail; in lists only when set (a flagged item is rare and worth seeing).
    """
    problem = getattr(item, "index_problem", None)
    if problem is None:
        if full:
            data["index_problem"] = None
        return
    data["index_problem"] = {"message": problem.get("message", ""), "at": _jsonable(problem.get("at"))}
