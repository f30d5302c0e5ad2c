"""``GET/POST /api/v1/items/{id}/transitions…`` — the workflow over JSON.

The list holds only what the caller may take now; firing validates the
transition's fields (400, field by field), refuses a role or state that does
not allow it (403) and a transition that is no longer possible because
somebody else moved the item first (409) — in every case nothing changes.
"""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config

from ...content_types.registry import FieldDef
from ...workflows.deadlines import item_deadlines, next_deadline
from .errors import ApiError
from .openapi import document
from .schemas import array_of, ref
from .serialize import item_json_contributor
from .util import actor, get_item, json_body, principals

KIND_TYPES = {"int": "integer", "bool": "boolean", "multi_choice": "array", "units": "array"}


def field_json(f: FieldDef) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "title": f.title, "kind": f.kind, "required": f.required}
    if f.description:
        out["description"] = f.description
    if f.choices:
        out["choices"] = [{"value": c.value, "title": c.title} for c in f.choices if not c.refused]
    return out


def transition_json(t) -> dict[str, Any]:
    fields = [field_json(f) for f in t.fields]
    if not any(f["name"] == "comment" for f in fields):
        fields.append({"name": "comment", "title": "意见", "kind": "textarea", "required": False})
    out = {"name": t.name, "title": t.title, "target": t.target, "fields": fields}
    if t.requires_attachments:
        out["requires_attachments"] = list(t.requires_attachments)
    return out


ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
document("api.item.transitions", "GET", "调用者此刻可执行的流转（含需填写的字段）", response=array_of("Transition"),
         params=[ID_PARAM])


@view_config(route_name="api.item.transitions", request_method="GET", renderer="json")
def list_transitions(request):
    _site, item = get_item(request)
    wf = request.registry.duban_workflows[item.workflow]
    return [transition_json(t) for t in wf.available(item, principals(request), request)]


document("api.item.transition", "POST", "执行一个流转（签收、退单、申请办结、核查、办结……）",
         request=ref("TransitionInput"), response=ref("TransitionResult"), errors=(400, 401, 403, 404, 409),
         params=[ID_PARAM, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "流转名（GET /api/v1/items/{id}/transitions 的 name）"}])


@view_config(route_name="api.item.transition", request_method="POST", renderer="json")
def fire_transition(request):
    who = actor(request)
    site, item = get_item(request)
    name = request.matchdict["name"]
    wf = request.registry.duban_workflows[item.workflow]
    t = wf.transitions.get(name)
    if t is None or t.auto or t.system:  # 归档 goes through POST /items/{id}/file (archive)
        raise ApiError(404, f"没有名为“{name}”的流转")
    data = json_body(request)
    wf.fire(item, name, who, principals(request), data, request=request, site=site)
    state = wf.states[item.state]
    return {"state": item.state, "state_title": state.title, "deadlines": item_deadlines(item)}


@item_json_contributor
def _light(request, item, data, full) -> None:
    """Every item JSON carries its 亮灯 (the light of its next deadline) and 12345 flags."""
    nxt = next_deadline(item)
    data["light"] = nxt["light"] if nxt else None
    if getattr(item, "improper_decline", False):
        data["improper_decline"] = True
