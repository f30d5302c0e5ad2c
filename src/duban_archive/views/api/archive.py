"""Archive API: dossier, filing (立卷归档), package, corrections, legal hold, 归档文件目录, transfer.

Filing is refused before anything is written (state, permission, retention,
then render and 四性检测); the error handler dooms the transaction besides,
so the 件号 counter is not consumed by a refused request.
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid.response import FileIter, Response
from pyramid.view import view_config

from ...archive.dossier import render_dossier
from ...archive.filing import (
    CORRECTABLE,
    FilingRefused,
    correct_metadata,
    default_retention,
    file_item,
    queue,
    record_for,
    set_legal_hold,
)
from ...archive.lists import list_title, records, rows, to_pdf, to_xlsx, transfer_export
from ...archive.render import RenderFailed
from ...archive.report import item_checks
from ...archive.rules import RETENTIONS
from ...audit.log import record
from ...audit.reads import log_read
from ...content_types.site_access import get_site
from ...timeutil import isoformat
from .errors import ApiError
from .openapi import document
from .serialize import item_json_contributor
from .util import actor, get_item, int_param, json_body, principals, require

ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
PDF = "application/pdf"
ZIP = "application/zip"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _refused(exc: FilingRefused) -> ApiError:
    return ApiError(exc.status, exc.message, exc.fields, code=exc.code)


def _download(data_or_blob, content_type: str, filename: str, **headers) -> Response:
    if isinstance(data_or_blob, bytes):
        res = Response(body=data_or_blob, content_type=content_type)
    else:
        try:
            stream = open(data_or_blob.committed(), "rb")  # noqa: SIM115 - closed by FileIter
        except Exception:  # noqa: BLE001 - uncommitted blob: read through ZODB
            stream = data_or_blob.open("r")
        res = Response(app_iter=FileIter(stream), content_type=content_type)
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\%;' else "_" for c in filename)
    res.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    res.headers["Cache-Control"] = "private, no-store"
    res.headers["X-Content-Type-Options"] = "nosniff"
    for key, value in headers.items():
        res.headers[key.replace("_", "-")] = str(value)
    return res


# -- dossier -------------------------------------------------------------------

document("api.item.dossier", "GET", "事项档案 PDF/A-3（已办结事项为预览；已归档事项为封包时的版本，?version= 取旧版）",
         params=ID_PARAM + [{"name": "version", "in": "query", "schema": {"type": "integer"}}],
         content_type=PDF, response={"type": "string", "format": "binary"}, errors=(401, 403, 404, 409))


@view_config(route_name="api.item.dossier", request_method="GET")
def dossier_view(request):
    site, item = get_item(request)
    username = actor(request)
    rec = record_for(site, item.item_id)
    if item.archived and rec is not None and rec.versions:
        number = int_param(request, "version", len(rec.versions), 1, len(rec.versions))
        version = rec.versions[number - 1]
        record(site, "download", username, item.item_id, what="dossier", version=number, via="api")
        return _download(version.dossier, PDF, f"{rec.archival_code}.pdf", X_Checksum_SHA256=version.dossier_sha256)
    if item.state != "closed":
        raise ApiError(409, "只有已办结或已归档的事项才有档案 PDF")
    try:
        pdf = render_dossier(site, item, request.registry)
    except RenderFailed as exc:
        raise ApiError(409, exc.message, code="render_failed") from exc
    log_read(request, item, via="api.dossier_preview")  # a preview of a closed item: not a download
    return _download(pdf, PDF, f"{item.number}-预览.pdf")


# -- filing --------------------------------------------------------------------

document("api.item.file", "POST", "立卷归档：赋予档号、封包（四性检测不通过则拒绝并说明原因）",
         params=ID_PARAM, request={"type": "object", "properties": {
             "retention": {"type": "string", "enum": list(RETENTIONS),
                           "description": "保管期限 Y 永久 / D30 定期30年 / D10 定期10年；省略按保管期限表"}}},
         response={"type": "object", "properties": {
             "archival_code": {"type": "string"}, "retention": {"type": "string"}, "piece": {"type": "integer"},
             "version": {"type": "integer"}, "package_sha256": {"type": "string"}, "pages": {"type": "integer"}}},
         errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.file", request_method="POST", renderer="json")
def file_view(request):
    site, item = get_item(request)
    data = json_body(request)
    unknown = {k: "不允许的字段（未知字段）" for k in data if k != "retention"}
    if unknown:
        raise ApiError(400, "提交的内容有误，请按提示修改", unknown)
    retention = data.get("retention")
    if retention is not None and retention not in RETENTIONS:
        raise ApiError(400, "提交的内容有误，请按提示修改",
                       {"retention": "应为 Y（永久）、D30（定期30年）或 D10（定期10年）"})
    if item.archived:
        raise ApiError(409, "事项已归档，不能重复归档")
    if item.state != "closed":
        raise ApiError(409, "只有已办结的事项才能归档")
    require(request, "file", item)
    try:
        rec = file_item(site, item, request.registry, retention=retention, actor=actor(request),
                        principals=principals(request))
    except FilingRefused as exc:
        raise _refused(exc) from exc
    v = rec.current
    return {"archival_code": rec.archival_code, "retention": rec.retention, "piece": rec.piece,
            "version": v.version, "package_sha256": v.sha256, "package_sm3": v.sm3, "pages": v.pages}


document("api.item.package", "GET", "归档包（BagIt zip）；?version= 取旧版本", content_type=ZIP,
         params=ID_PARAM + [{"name": "version", "in": "query", "schema": {"type": "integer"}}],
         response={"type": "string", "format": "binary"}, errors=(401, 403, 404, 409))


@view_config(route_name="api.item.package", request_method="GET")
def package_view(request):
    site, item = get_item(request)
    rec = record_for(site, item.item_id)
    if rec is None or not rec.versions:
        raise ApiError(409, "事项尚未归档，没有归档包")
    number = int_param(request, "version", len(rec.versions), 1, len(rec.versions))
    version = rec.versions[number - 1]
    record(site, "download", actor(request), item.item_id, what="package", version=number, via="api")
    from ...archive.package import ascii_code

    return _download(version.blob, ZIP, f"{ascii_code(rec.archival_code)}-v{number}.zip",
                     X_Checksum_SHA256=version.sha256, X_Checksum_SM3=version.sm3, X_Package_Version=number)


document("api.item.correction", "POST", "著录更正（记录旧值→新值，生成新版本归档包，旧版本保留）", params=ID_PARAM,
         request={"type": "object", "required": ["changes", "reason"], "properties": {
             "changes": {"type": "object", "description": "可更正项：" + "、".join(CORRECTABLE)},
             "reason": {"type": "string"}}},
         response={"type": "object", "properties": {"version": {"type": "integer"},
                                                    "package_sha256": {"type": "string"}}},
         errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.correction", request_method="POST", renderer="json")
def correction_view(request):
    site, item = get_item(request)
    data = json_body(request)
    unknown = {k: "不允许的字段（未知字段）" for k in data if k not in ("changes", "reason")}
    if unknown or not isinstance(data.get("changes"), dict):
        raise ApiError(400, "提交的内容有误，请按提示修改", unknown or {"changes": "应为对象：{字段: 新值}"})
    require(request, "correct_metadata", item)
    try:
        version = correct_metadata(site, item, request.registry, data["changes"], reason=str(data.get("reason") or ""),
                                   actor=actor(request))
    except FilingRefused as exc:
        raise _refused(exc) from exc
    return {"version": version.version, "package_sha256": version.sha256}


document("api.item.legal_hold", "POST", "冻结/解除冻结归档档案（冻结期间不得销毁）", params=ID_PARAM,
         request={"type": "object", "required": ["hold"], "properties": {
             "hold": {"type": "boolean"}, "reason": {"type": "string"}}},
         response={"type": "object", "properties": {"hold": {"type": "boolean"}, "reason": {"type": "string"}}},
         errors=(400, 401, 403, 404))


@view_config(route_name="api.item.legal_hold", request_method="POST", renderer="json")
def legal_hold_view(request):
    site, item = get_item(request)
    require(request, "records", site)
    data = json_body(request)
    if not isinstance(data.get("hold"), bool):
        raise ApiError(400, "提交的内容有误，请按提示修改", {"hold": "应为 true 或 false"})
    try:
        rec = set_legal_hold(site, item.item_id, hold=data["hold"], reason=str(data.get("reason") or ""),
                             actor=actor(request))
    except FilingRefused as exc:
        raise _refused(exc) from exc
    return {"hold": rec.legal_hold, "reason": rec.legal_hold_reason}


# -- the records officer's lists ---------------------------------------------------

document("api.archive.queue", "GET", "待归档队列（已办结、未归档的事项）", response={"type": "array", "items": {
    "type": "object", "properties": {"id": {"type": "string"}, "number": {"type": "string"},
                                     "title": {"type": "string"}, "default_retention": {"type": "string"}}}},
    errors=(401, 403))


@view_config(route_name="api.archive.queue", request_method="GET", renderer="json")
def queue_view(request):
    site = get_site(request)
    require(request, "records", site)
    from ...archive.dossier import closed_on

    return [{"id": i.item_id, "number": i.number, "title": i.title, "board": i.board_id,
             "closed": isoformat(closed_on(i)), "default_retention": default_retention(i, request.registry)}
            for i in queue(site)]


def _year_unit(request) -> tuple[int | None, str | None]:
    year = int_param(request, "year", 0, 1900, 9999) or None
    unit = (request.GET.get("unit") or "").strip() or None
    return year, unit


document("api.filing_list", "GET", "归档文件目录（format=xlsx 或 pdf，A4 横向）", content_type=XLSX,
         params=[{"name": "year", "in": "query", "schema": {"type": "integer"}},
                 {"name": "unit", "in": "query", "schema": {"type": "string"}, "description": "单位 id 或机构代码"},
                 {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["xlsx", "pdf", "json"]}}],
         response={"type": "string", "format": "binary"}, errors=(400, 401, 403, 409),
         more_content={PDF: {"type": "string", "format": "binary"},
                       "application/json": {"type": "array", "items": {"type": "object"}}})


@view_config(route_name="api.filing_list", request_method="GET")
def filing_list_view(request):
    site = get_site(request)
    require(request, "records", site)
    year, unit = _year_unit(request)
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "pdf", "json"):
        raise ApiError(400, "查询参数有误", {"format": "应为 xlsx、pdf 或 json"})
    recs = records(site, year=year, unit=unit)
    table = rows(site, recs)
    title = list_title(site, year, unit)
    record(site, "export", actor(request), "", what="filing_list", year=year, unit=unit, format=fmt)
    log_read(request, (r.item_id for r in recs), via="api.filing_list", year=year, unit=unit)
    if fmt == "json":
        res = Response(json_body=table)
        return res
    if fmt == "xlsx":
        return _download(to_xlsx(table, title=title), XLSX, f"{title}.xlsx")
    try:
        return _download(to_pdf(table, title=title), PDF, f"{title}.pdf")
    except RenderFailed as exc:
        raise ApiError(409, exc.message, code="render_failed") from exc


document("api.archive.transfer", "GET", "移交导出：归档包 + 归档文件目录 + 移交登记表（件数、字节数）",
         content_type=ZIP,
         params=[{"name": "year", "in": "query", "schema": {"type": "integer"}},
                 {"name": "unit", "in": "query", "schema": {"type": "string"}}],
         response={"type": "string", "format": "binary"}, errors=(400, 401, 403))


@view_config(route_name="api.archive.transfer", request_method="GET")
def transfer_view(request):
    site = get_site(request)
    require(request, "records", site)
    year, unit = _year_unit(request)
    data, register = transfer_export(site, year=year, unit=unit)
    record(site, "export", actor(request), "", what="transfer", year=year, unit=unit, count=register["件数"],
           bytes=register["总字节数"])
    log_read(request, (r.item_id for r in records(site, year=year, unit=unit) if r.current is not None),
             via="api.transfer", year=year, unit=unit)
    return _download(data, ZIP, f"移交-{year or '全部'}-{unit or '全部单位'}.zip")


@item_json_contributor
def _archive_keys(request, item, data, full) -> None:
    """``archival_code`` (档号, null until filed) and, in the detail, ``checks`` (the 四性检测)."""
    data["archival_code"] = getattr(item, "archival_code", None)
    if full:
        data["checks"] = item_checks(get_site(request), item, request.registry)
