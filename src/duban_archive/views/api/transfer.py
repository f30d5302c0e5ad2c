"""移交 API: candidates, record a transfer, its 登记表 (PDF/xlsx) and package, cancel; ``transfer`` on items.

Every decision is :mod:`duban_archive.archive.transfer`'s — the HTML pages call the same
functions — and every route needs the ``records`` permission on the site.
"""

from __future__ import annotations

import tempfile
from typing import Any

from pyramid.response import FileIter
from pyramid.view import view_config

from ...archive import transfer as tr
from ...archive.rules import RETENTIONS
from ...audit.log import record
from ...audit.reads import log_read
from ...content_types.site_access import get_site
from .archive import PDF, XLSX, ZIP, _download
from .errors import ApiError
from .openapi import document
from .serialize import item_json_contributor
from .util import actor, int_param, json_body, require

_STR = {"type": "string"}
_INT = {"type": "integer"}
ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": _STR}]
FORM_PROPERTIES: dict[str, Any] = {
    "title": {**_STR, "description": "交接工作名称"}, "description": {**_STR, "description": "内容描述"},
    "transferor_unit": {**_STR, "description": "移交单位"},
    "receiver_unit": {**_STR, "description": "接收单位，如：县档案馆"},
    "carrier": {"type": "string", "enum": list(tr.CARRIERS), "description": "移交载体类型：online 在线 / "
                "optical 光盘 / hdd 移动硬盘"},
    "carrier_spec": {**_STR, "description": "载体规格"},
    "carrier_numbers": {**_STR, "description": "载体起止顺序号（光盘、移动硬盘必填）"},
    "transferor": {**_STR, "description": "移交人"}, "receiver": {**_STR, "description": "接收人"},
    "reviewer": {**_STR, "description": "审核人（不能与移交人相同）"},
    "transfer_date": {"type": "string", "format": "date", "description": "日期"},
}
REQUEST = {"type": "object", "required": [*FORM_PROPERTIES.keys() - {"carrier_spec", "carrier_numbers"}, "items"],
           "properties": {**FORM_PROPERTIES,
                          "items": {"type": "array", "items": _STR, "description": "移交的事项 id（已归档）"},
                          "token": {**_STR, "maxLength": 64,
                                    "description": "提交标识：同一标识再次提交时返回已建立的移交批次，不重复移交"}}}
SUMMARY_PROPERTIES: dict[str, Any] = {
    "id": {**_STR, "description": "移交批次号 YJ-年度-序号"}, "state": {"type": "string", "enum": list(tr.STATES)},
    "state_title": _STR, "created": {"type": "string", "format": "date-time"}, "actor": _STR, "title": _STR,
    "transferor_unit": _STR, "receiver_unit": _STR, "transfer_date": {"type": "string", "format": "date"},
    "count": _INT, "bytes": _INT, "carrier": _STR}
SUMMARY = {"type": "object", "properties": SUMMARY_PROPERTIES}
DETAIL = {"type": "object", "properties": {
    **SUMMARY_PROPERTIES, "description": _STR, "carrier_spec": _STR, "carrier_numbers": _STR, "transferor": _STR,
    "receiver": _STR, "reviewer": _STR,
    "inspection": {"type": "array", "items": {"type": "object", "properties": {
        "title": _STR, "result": _STR, "transferor": _STR, "note": _STR, "passed": _INT, "unchecked": _INT,
        "failed": _INT}}},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "item_id": _STR, "archival_code": _STR, "retention": _STR, "title": _STR, "version": _INT, "bytes": _INT,
        "sha256": _STR, "sm3": _STR, "path": _STR}}},
    "files": {"type": "array", "items": {"type": "object", "properties": {
        "path": _STR, "bytes": _INT, "sha256": _STR, "sm3": _STR}}},
    "manifest_sha256": _STR, "manifest_sm3": _STR,
    "receipt": {"type": "object", "nullable": True, "properties": {
        "received_on": {"type": "string", "format": "date"}, "reviewer": _STR, "actor": _STR,
        "results": {"type": "array", "items": {"type": "object", "properties": {
            "row": _STR, "result": _STR, "note": _STR}}}}},
    "cancelled": {"type": "object", "nullable": True, "properties": {
        "time": {"type": "string", "format": "date-time"}, "actor": _STR, "reason": _STR}}}}


def _transfer(request) -> tr.Transfer:
    site = get_site(request)
    require(request, "records", site)
    return tr.get_transfer(site, request.matchdict["id"])


# -- candidates -------------------------------------------------------------------------------

document("api.transfer.candidates", "GET", "可移交的档案（已归档、未销毁、未移交），按保管期限、档号排列",
         params=[{"name": "year", "in": "query", "schema": _INT},
                 {"name": "retention", "in": "query", "schema": {"type": "string", "enum": list(RETENTIONS)}},
                 {"name": "board", "in": "query", "schema": _STR}],
         response={"type": "array", "items": {"type": "object", "properties": {
             "id": _STR, "archival_code": _STR, "retention": _STR, "year": _INT, "title": _STR, "bytes": _INT,
             "version": _INT}}}, errors=(400, 401, 403))


def selection(request) -> dict[str, Any]:
    """The query's 年度 / 保管期限 / 版块 (400 on a bad one)."""
    retention = (request.GET.get("retention") or "").strip() or None
    if retention is not None and retention not in RETENTIONS:
        raise ApiError(400, "查询参数有误", {"retention": "应为 Y（永久）、D30（定期30年）或 D10（定期10年）"})
    return {"year": int_param(request, "year", 0, 1900, 9999) or None, "retention": retention,
            "board": (request.GET.get("board") or "").strip() or None}


@view_config(route_name="api.transfer.candidates", request_method="GET", renderer="json")
def candidates_view(request):
    site = get_site(request)
    require(request, "records", site)
    recs = tr.candidates(site, **selection(request))
    log_read(request, (r.item_id for r in recs), via="api.transfer.candidates")
    return [{"id": r.item_id, "archival_code": r.archival_code, "retention": r.retention, "year": r.year,
             "title": getattr(site.get_item(r.item_id), "title", ""), "bytes": r.current.size,
             "version": r.current.version} for r in recs]


# -- transfers --------------------------------------------------------------------------------

document("api.transfers", "GET", "移交批次列表（新的在前）", response={"type": "array", "items": SUMMARY},
         errors=(401, 403))
document("api.transfers", "POST",
         "移交：登记移交批次并生成电子档案移交与接收登记表（PDF/A、Excel）；同一档案只能移交一次（撤销后方可再移交）",
         request=REQUEST, response=DETAIL, status=201, errors=(400, 401, 403, 409))


@view_config(route_name="api.transfers", request_method="GET", renderer="json")
def transfers_view(request):
    site = get_site(request)
    require(request, "records", site)
    return [tr.as_json(t, full=False) for t in tr.all_transfers(site)]


@view_config(route_name="api.transfers", request_method="POST", renderer="json")
def create_view(request):
    site = get_site(request)
    require(request, "records", site)
    data = json_body(request)
    token = data.pop("token", "")
    if not isinstance(token, str) or len(token) > 64:
        raise ApiError(400, "提交的内容有误，请按提示修改", {"token": "应为不超过 64 个字符的文本"})
    appstruct = tr.validate_form(data)
    transfer = tr.create_transfer(site, appstruct, actor=actor(request), token=token)
    request.response.status = 201
    return tr.as_json(transfer)


document("api.transfer", "GET", "移交批次详情：登记表各项、检验结果、移交目录与摘要", params=ID_PARAM, response=DETAIL,
         errors=(401, 403, 404))


@view_config(route_name="api.transfer", request_method="GET", renderer="json")
def transfer_view(request):
    transfer = _transfer(request)
    log_read(request, [e["item_id"] for e in transfer.entries], via="api.transfer")
    return tr.as_json(transfer)


document("api.transfer.cancel", "POST", "撤销移交批次（填写原因）；其中的档案可重新移交", params=ID_PARAM,
         request={"type": "object", "required": ["reason"], "properties": {"reason": {**_STR,
                                                                                     "description": "撤销原因"}}},
         response=DETAIL, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.transfer.cancel", request_method="POST", renderer="json")
def cancel_view(request):
    transfer = _transfer(request)
    data = json_body(request)
    unknown = {k: "不允许的字段（未知字段）" for k in data if k != "reason"}
    if unknown or not isinstance(data.get("reason", ""), str):
        raise ApiError(400, "提交的内容有误，请按提示修改", unknown or {"reason": "应为文本"})
    done = tr.cancel_transfer(get_site(request), transfer.transfer_id, actor=actor(request),
                              reason=data.get("reason", ""))
    return tr.as_json(done)


RECEIPT_ROWS = {"authenticity": "准确性检验", "integrity": "完整性检验", "usability": "可用性检验",
                "security": "安全性检验", "carrier": "载体外观检验"}
RECEIPT = {"type": "object", "required": ["received_on", "reviewer", *RECEIPT_ROWS], "properties": {
    "received_on": {"type": "string", "format": "date", "description": "接收日期"},
    "reviewer": {**_STR, "description": "接收单位审核人"},
    **{k: {"type": "string", "enum": list(tr.RECEIPT_RESULTS), "description": f"接收单位的{t}结果"}
       for k, t in RECEIPT_ROWS.items()},
    **{f"{k}_note": {**_STR, "description": f"{t}说明"} for k, t in RECEIPT_ROWS.items()}}}
document("api.transfer.receipt", "POST",
         "登记接收：接收单位在登记表上填写的各项检验结果、审核人与日期；登记表随之补全（移交包保持移交时原样），之后不能撤销",
         params=ID_PARAM, request=RECEIPT, response=DETAIL, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.transfer.receipt", request_method="POST", renderer="json")
def receipt_view(request):
    transfer = _transfer(request)
    data = tr.validate_receipt(json_body(request))
    done = tr.record_receipt(get_site(request), transfer.transfer_id, data, actor=actor(request))
    return tr.as_json(done)


# -- files --------------------------------------------------------------------------------------

STAGE = [{"name": "stage", "in": "query", "schema": {"type": "string", "enum": ["transferred", "received"]},
          "description": "transferred（默认）：移交时的登记表，即移交包中的一份；"
                         "received：登记接收后补全接收单位一栏的登记表"}]


def _file_doc(route: str, what: str, content_type: str, params: list[dict] | None = None) -> None:
    document(route, "GET", what, params=ID_PARAM + (params or []), content_type=content_type,
             response={"type": "string", "format": "binary"}, errors=(400, 401, 403, 404, 409))


_file_doc("api.transfer.register_pdf", "电子档案移交与接收登记表及归档/移交目录（PDF/A）", PDF, STAGE)
_file_doc("api.transfer.register_xlsx", "电子档案移交与接收登记表及移交目录（Excel）", XLSX, STAGE)
_file_doc("api.transfer.package", "移交包（zip）：各件归档包（BagIt）、登记表、SHA-256 与 SM3 清单及清单自身摘要", ZIP)


def _register(request, transfer: tr.Transfer, index: int):
    """(blob, file name, sha256, sm3) of the register asked for (``?stage=``)."""
    stage = request.GET.get("stage", "transferred")
    if stage not in ("transferred", "received"):
        raise ApiError(400, "查询参数有误", {"stage": "应为 transferred 或 received"})
    if stage == "received":
        if transfer.receipt is None:
            raise ApiError(409, "该移交批次尚未登记接收")
        blob = transfer.received_pdf if index == 0 else transfer.received_xlsx
        name, _size, sha, sm3 = transfer.received_files[index]
    else:
        blob = transfer.register_pdf if index == 0 else transfer.register_xlsx
        name, _size, sha, sm3 = transfer.files[index]
    return blob, name, sha, sm3


def _audit_download(request, transfer: tr.Transfer, what: str) -> None:
    record(get_site(request), "download", actor(request), "", what=what, transfer=transfer.transfer_id)


def _register_download(request, index: int, mimetype: str):
    """The 登记表 file ``index`` (0: PDF, 1: Excel) with its digests in the headers; the read is audited."""
    transfer = _transfer(request)
    blob, name, sha, sm3 = _register(request, transfer, index)
    _audit_download(request, transfer, "transfer_register")
    return _download(blob, mimetype, f"{transfer.transfer_id}-{name}", X_Checksum_SHA256=sha,
                     X_Checksum_SM3=sm3)


@view_config(route_name="api.transfer.register_pdf", request_method="GET")
def register_pdf_view(request):
    return _register_download(request, 0, PDF)


@view_config(route_name="api.transfer.register_xlsx", request_method="GET")
def register_xlsx_view(request):
    return _register_download(request, 1, XLSX)


@view_config(route_name="api.transfer.package", request_method="GET")
def package_view(request):
    """The zip is laid out into a spooled file (memory up to 16 MiB, then disk) and streamed."""
    transfer = _transfer(request)
    site = get_site(request)
    out = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115 - closed by FileIter
    try:
        tr.write_package(site, transfer, out)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    _audit_download(request, transfer, "transfer_package")
    log_read(request, [e["item_id"] for e in transfer.entries], via="api.transfer.package")
    res = _download(b"", ZIP, tr.package_name(transfer), X_Manifest_SHA256=transfer.manifest_sha256,
                    X_Manifest_SM3=transfer.manifest_sm3)
    res.app_iter = FileIter(out)
    res.content_length = out.seek(0, 2)
    out.seek(0)
    return res


@item_json_contributor
def _transfer_key(request, item, data, full) -> None:
    """``transfer``: the active 移交 holding the item ({id, date, receiver_unit}), null when none."""
    moved = tr.transfer_of(get_site(request), item.item_id)
    data["transfer"] = None if moved is None else {
        "id": moved.transfer_id, "date": moved.form["transfer_date"].isoformat(),
        "receiver_unit": moved.form["receiver_unit"]}
