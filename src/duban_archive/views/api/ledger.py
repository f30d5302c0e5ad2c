"""Excel 台账 import over the JSON API: preview, import (all or nothing) and the board's template.

The same operations as the web pages (``reports.ledger_import``): the workbook
comes as the ``file`` of a multipart body (or as the whole body with the .xlsx
content type), columns are mapped from their headings, and ``mapping`` (a JSON
object: column letter or heading -> field name, "" to leave a column out)
overrides any of them.  Preview writes nothing; import creates every row in
one transaction or none, answering 400 with every problem row by row.
"""

from __future__ import annotations

import io
import json
from typing import IO, Any

from pyramid.response import Response
from pyramid.view import view_config

from ...content_types.attachment import ContainerLimits
from ...content_types.site_access import get_site
from ...reports.ledger_import import (
    XLSX,
    LedgerImportError,
    Problem,
    Sheet,
    check_rows,
    guess_mapping,
    import_rows,
    read_sheet,
)
from ...reports.ledger_template import ledger_template
from ..attachments import content_disposition, too_large_message
from .errors import ApiError, error_response
from .openapi import document

BOARD = [{"name": "board", "in": "path", "required": True, "schema": {"type": "string"}}]
UPLOAD = {"multipart": True, "type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "Excel 台账（.xlsx，按内容识别；第 1 行为列名）"},
    "mapping": {"type": "string",
                "description": "可选，JSON 对象：列字母或列名 → 字段名（\"\" 表示不导入），覆盖自动识别"},
}}
PROBLEM = {"type": "object", "properties": {
    "row": {"type": "integer", "description": "Excel 行号（0：整个文件）"}, "column": {"type": "string"},
    "field": {"type": "string"}, "title": {"type": "string"}, "message": {"type": "string"}}}
PREVIEW = {"type": "object", "required": ["board", "rows", "valid", "ok", "columns", "errors"], "properties": {
    "board": {"type": "string"}, "rows": {"type": "integer", "description": "数据行数"},
    "valid": {"type": "integer", "description": "无误的行数"}, "ok": {"type": "boolean"},
    "header_row": {"type": "integer"},
    "columns": {"type": "array", "items": {"type": "object", "properties": {
        "column": {"type": "string"}, "header": {"type": "string"}, "field": {"type": "string"},
        "title": {"type": "string"}}}},
    "errors": {"type": "array", "items": PROBLEM}}}
IMPORTED = {"type": "object", "required": ["count", "items"], "properties": {
    "count": {"type": "integer"},
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "number": {"type": "string"}, "title": {"type": "string"},
        "url": {"type": "string"}}}}}}


def _board(request):
    if request.authenticated_userid is None:
        raise ApiError(401, "未登录或令牌无效/已过期")
    site = get_site(request)
    board = site.boards.get(request.matchdict["board"])
    if board is None:
        raise ApiError(404, f"版块“{request.matchdict['board']}”不存在")
    if not request.has_permission("add_item", board):
        raise ApiError(403, "您无权在此版块立项，不能导入台账")
    return site, board


def _source(request) -> IO[bytes]:
    if request.content_type == XLSX:
        return io.BytesIO(request.body)
    upload = request.POST.get("file")
    if not hasattr(upload, "file"):
        raise ApiError(400, "请上传 Excel 台账文件（multipart 字段 file）", {"file": "请选择文件"})
    if getattr(upload.digests, "over_limit", None):
        raise ApiError(413, too_large_message(request), {"file": too_large_message(request)})
    return upload.file


def _mapping(request, typedef, sheet: Sheet) -> list[str]:
    """The guessed mapping with the caller's ``mapping`` applied (by column letter or heading)."""
    mapping = guess_mapping(typedef, sheet.headers)
    text = request.POST.get("mapping") if request.content_type != XLSX else request.GET.get("mapping")
    if not text:
        return mapping
    try:
        given = json.loads(text)
    except ValueError:
        given = None
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        raise ApiError(400, "mapping 应为 JSON 对象：列字母或列名 → 字段名", {"mapping": "格式不正确"})
    fields = {f.name for f in typedef.fields if not f.system}
    for key, name in given.items():
        at = [i for i, h in enumerate(sheet.headers) if key in (sheet.letter(i), h)]
        if not at:
            raise ApiError(400, f"mapping 中的列“{key}”不在表格中", {"mapping": f"没有列“{key}”"})
        if name and name not in fields:
            raise ApiError(400, f"mapping 中的字段“{name}”不存在", {"mapping": f"没有字段“{name}”"})
        for i in at:
            mapping[i] = name
    return mapping


def _read(request):
    site, board = _board(request)
    sheet = read_sheet(_source(request), ContainerLimits.from_settings(request.registry.settings))
    typedef = request.registry.duban_types[board.item_type]
    return site, board, typedef, sheet, _mapping(request, typedef, sheet)


document("api.board.ledger.preview", "POST",
         "台账导入预览：识别列、逐行校验（行号同 Excel），不写入任何数据",
         request=UPLOAD, response=PREVIEW, params=BOARD, errors=(400, 401, 403, 404, 413, 415))


@view_config(route_name="api.board.ledger.preview", request_method="POST", renderer="json")
def preview_view(request):
    site, board, typedef, sheet, mapping = _read(request)
    check = check_rows(site, request.registry, board, sheet, mapping)
    titles = {f.name: f.title for f in typedef.fields}
    request.tm.doom()  # a preview keeps nothing, whatever a hook touched
    return {"board": board.board_id, "rows": check.rows, "valid": len(check.valid), "ok": check.ok,
            "header_row": sheet.header_row,
            "columns": [{"column": sheet.letter(i), "header": h, "field": m, "title": titles.get(m, "")}
                        for i, (h, m) in enumerate(zip(sheet.headers, mapping, strict=True))],
            "errors": [p.as_json() for p in check.problems]}


document("api.board.ledger.import", "POST",
         "导入台账：全部行无误才导入（一个事务），任一行有误则不导入并逐行返回错误（errors）",
         request=UPLOAD, response=IMPORTED, status=201, params=BOARD, errors=(400, 401, 403, 404, 413, 415))


@view_config(route_name="api.board.ledger.import", request_method="POST", renderer="json")
def import_view(request):
    site, board, _typedef, sheet, mapping = _read(request)
    try:
        result = import_rows(site, request.registry, board.board_id, sheet, mapping, request.authenticated_userid)
    except LedgerImportError as exc:
        return _refused(request, exc)
    request.response.status_int = 201
    items = [site.item_index[i] for i in result.created]
    return {"count": len(items), "items": [
        {"id": it.item_id, "number": it.number, "title": it.title,
         "url": request.route_url("api.item", id=it.item_id)} for it in items]}


def _refused(request, exc: LedgerImportError) -> dict[str, Any]:
    body = error_response(request, 400, exc.message, _fields(exc.problems), exc.code)
    body["errors"] = [p.as_json() for p in exc.problems]
    return body


def _fields(problems: list[Problem]) -> dict[str, str]:
    """``行号.字段`` -> message, like a batch 立项's ``序号.字段``."""
    out: dict[str, str] = {}
    for p in problems:
        out.setdefault(f"{p.row}.{p.field or '_'}", p.message)
    return out


document("api.board.ledger.template", "GET", "下载本版块的台账导入模板（.xlsx：列名、示例行、说明页）",
         content_type=XLSX, response={"type": "string", "format": "binary"}, params=BOARD,
         errors=(401, 403, 404))


@view_config(route_name="api.board.ledger.template", request_method="GET")
def template_view(request):
    site, board = _board(request)
    response = Response(body=ledger_template(site, request.registry, board), content_type=XLSX)
    response.headers["Content-Disposition"] = content_disposition(f"{board.title}-台账导入模板.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response
