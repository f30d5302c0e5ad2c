"""销毁 in the JSON API: request, approve, reject, the approver's worklist and the 销毁清册.

The views look the record up in the archive, not the item: a record stays (as a tombstone) after
its item is purged, so a late second approval gets a 409 naming who approved, never a 404 or 500.
Every decision is ``archive.disposal``'s — the HTML forms call the same functions.
"""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config

from ...archive import disposal_register
from ...archive.disposal import (
    approve_disposal,
    as_json,
    current_request,
    pending_requests,
    purged,
    register,
    reject_disposal,
    request_disposal,
)
from ...archive.filing import record_for
from ...audit.log import record
from ...audit.reads import log_read
from ...content_types.site_access import get_site
from .archive import ID_PARAM, PDF, XLSX, _download
from .errors import ApiError
from .openapi import PATH_ERRORS, document
from .util import actor, json_body, require

REQUEST_JSON = {"type": "object", "properties": {
    "id": {"type": "integer"}, "state": {"type": "string", "enum": ["pending", "approved", "rejected"]},
    "requested_by": {"type": "string"}, "requested_at": {"type": "string", "format": "date-time"},
    "reason": {"type": "string"}, "opinion": {"type": "string"}, "decided_by": {"type": "string"},
    "decided_at": {"type": "string", "nullable": True}, "decision": {"type": "string"}}}
FILE_JSON = {"type": "object", "properties": {
    "kind": {"type": "string"}, "name": {"type": "string"}, "size": {"type": "integer"},
    "sha256": {"type": "string"}, "sm3": {"type": "string"}}}
ENTRY_JSON = {"type": "object", "properties": {
    "archival_code": {"type": "string"}, "item_id": {"type": "string"}, "title": {"type": "string"},
    "number": {"type": "string"}, "year": {"type": "integer"}, "retention": {"type": "string"},
    "retention_title": {"type": "string"}, "pieces": {"type": "integer"}, "pages": {"type": "integer"},
    "versions": {"type": "integer"}, "files": {"type": "array", "items": FILE_JSON},
    "reason": {"type": "string"}, "opinion": {"type": "string"}, "requested_by": {"type": "string"},
    "requested_at": {"type": "string"}, "approved_by": {"type": "string"}, "approved_at": {"type": "string"},
    "date": {"type": "string", "format": "date"}, "audit_key": {"type": "string"}}}

#: every URL of a destroyed item or attachment answers 410 ``gone`` (views/disposal.py: gone_api)
GONE = "档案已销毁：error 为 gone，archival_code 为档号，见销毁清册"
PATH_ERRORS.extend([("/api/v1/items/{id}", 410, GONE, ("/api/v1/items/{id}/disposal",)),
                    ("/api/v1/attachments/{id}", 410, GONE, ())])


def _record(request):
    site = get_site(request)
    rec = record_for(site, request.matchdict["id"])
    if rec is None:
        raise ApiError(404, "没有该事项的归档记录")
    return site, rec


def _may_read_register(request, site) -> None:
    actor(request)
    if not request.has_permission("disposal_register", site):
        raise ApiError(403, "只有档案员、审计员和档案鉴定审批人可以查看销毁清册")


document("api.item.disposal", "POST",
         "提出销毁申请（档案员；保管期限届满、未冻结、非永久）：销毁理由与鉴定意见，待档案鉴定审批人审批",
         params=ID_PARAM, status=201,
         request={"type": "object", "required": ["reason", "opinion"], "properties": {
             "reason": {"type": "string", "description": "销毁理由"},
             "opinion": {"type": "string", "description": "鉴定意见"}}},
         response=REQUEST_JSON, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.disposal", request_method="POST", renderer="json")
def request_view(request) -> dict[str, Any]:
    site, rec = _record(request)
    require(request, "records", site)
    req = request_disposal(site, rec.item_id, json_body(request), actor=actor(request))
    request.response.status = 201
    return as_json(req)


document("api.item.disposal", "GET", "该档案的销毁申请（最近一次，无则为 null）与销毁清册条目",
         params=ID_PARAM, response={"type": "object", "properties": {
             "request": {**REQUEST_JSON, "nullable": True},
             "disposal": {**ENTRY_JSON, "nullable": True}}}, errors=(401, 403, 404))


@view_config(route_name="api.item.disposal", request_method="GET", renderer="json")
def state_view(request) -> dict[str, Any]:
    site, rec = _record(request)
    _may_read_register(request, site)
    req = current_request(rec)
    entry = rec.disposal if purged(rec) else None
    return {"request": as_json(req) if req else None, "disposal": as_json(entry) if entry else None}


document("api.item.disposal.approve", "POST",
         "批准销毁申请（档案鉴定审批人，且不是申请人）：立即彻底销毁事项、附件、归档包和档案 PDF，登记销毁清册",
         params=ID_PARAM, response=ENTRY_JSON, errors=(401, 403, 404, 409))


@view_config(route_name="api.item.disposal.approve", request_method="POST", renderer="json")
def approve_view(request) -> dict[str, Any]:
    site, rec = _record(request)
    require(request, "approve_disposal", site)
    entry = approve_disposal(site, rec.item_id, actor=actor(request), registry=request.registry)
    return as_json(entry)


document("api.item.disposal.reject", "POST", "驳回销毁申请（档案鉴定审批人，且不是申请人），须写明理由",
         params=ID_PARAM, request={"type": "object", "required": ["reason"], "properties": {
             "reason": {"type": "string", "description": "驳回理由"}}},
         response=REQUEST_JSON, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.disposal.reject", request_method="POST", renderer="json")
def reject_view(request) -> dict[str, Any]:
    site, rec = _record(request)
    require(request, "approve_disposal", site)
    return as_json(reject_disposal(site, rec.item_id, json_body(request), actor=actor(request)))


document("api.disposals", "GET", "待审批的销毁申请（审批人的待办）", response={"type": "array", "items": {
    "type": "object", "properties": {"archival_code": {"type": "string"}, "item_id": {"type": "string"},
                                     "retention": {"type": "string"}, "year": {"type": "integer"},
                                     "request": REQUEST_JSON}}}, errors=(401, 403))


@view_config(route_name="api.disposals", request_method="GET", renderer="json")
def pending_view(request) -> list[dict[str, Any]]:
    site = get_site(request)
    actor(request)
    if not (request.has_permission("records", site) or request.has_permission("approve_disposal", site)):
        raise ApiError(403, "只有档案员和档案鉴定审批人可以查看销毁申请")
    return [{"archival_code": rec.archival_code, "item_id": rec.item_id, "retention": rec.retention,
             "year": rec.year, "request": as_json(req)} for rec, req in pending_requests(site)]


document("api.disposal_register", "GET",
         "销毁清册（档号、题名、保管期限、件数/页数、每个销毁文件的 SHA-256 与 SM3、申请与批准）",
         response={"type": "array", "items": ENTRY_JSON}, errors=(401, 403))


@view_config(route_name="api.disposal_register", request_method="GET", renderer="json")
def register_view(request) -> list[dict[str, Any]]:
    site = get_site(request)
    _may_read_register(request, site)
    entries = register(site)
    log_read(request, [e["item_id"] for e in entries], via="api.disposal_register")
    return [as_json(e) for e in entries]


def _export(request, content_type: str, suffix: str, make):
    site = get_site(request)
    _may_read_register(request, site)
    entries = register(site)
    record(site, "export", actor(request), "", what="disposal_register", format=suffix, count=len(entries))
    return _download(make(entries), content_type, f"{disposal_register.TITLE}.{suffix}")


document("api.disposal_register.xlsx", "GET", "销毁清册（Excel）", content_type=XLSX,
         response={"type": "string", "format": "binary"}, errors=(401, 403))


@view_config(route_name="api.disposal_register.xlsx", request_method="GET")
def register_xlsx(request):
    return _export(request, XLSX, "xlsx", disposal_register.to_xlsx)


document("api.disposal_register.pdf", "GET", "销毁清册（PDF/A）", content_type=PDF,
         response={"type": "string", "format": "binary"}, errors=(401, 403))


@view_config(route_name="api.disposal_register.pdf", request_method="GET")
def register_pdf(request):
    return _export(request, PDF, "pdf", disposal_register.to_pdf)
