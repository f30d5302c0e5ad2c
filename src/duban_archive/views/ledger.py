"""``/boards/<b>/@@import`` — Excel 台账 import in four pages, and ``@@ledger-template``.

upload (the .xlsx is parsed by ``views.multipart`` as it streams in, size-limited,
and sniffed from its bytes by ``reports.ledger_import.read_sheet``) → 列对应 (a
select per column, guessed from the headings) → 预览 (every row checked, problems
row by row and field by field, nothing written) → 导入 (one transaction: every
row or none) → the 事项编号 created, with links.

Between the pages the sheet travels as JSON in a hidden field: nothing is
stored before the import, a retried request (``views/retry.py``) reads the same
form again, and several web processes need no shared scratch space.  Every
step checks again what it is given (the import re-runs the whole check).
"""

from __future__ import annotations

import json
from typing import Any

from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from ..content_types.attachment import ContainerLimits
from ..content_types.board import Board
from ..content_types.site import find_site
from ..errors import Refusal
from ..reports.ledger_import import (
    LedgerImportError,
    Sheet,
    check_rows,
    guess_mapping,
    import_rows,
    importable_fields,
    read_sheet,
)
from ..reports.ledger_template import ledger_template
from .attachments import content_disposition
from .layout import translate

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: rows shown on the preview page (every row is checked; problems are always listed in full)
PREVIEW_ROWS = 300


def _base(context, request, title: str) -> dict[str, Any]:
    return {"page_title": translate(request, title) + " · " + translate(request, context.title), "board": context,
            "back": f"/boards/{context.board_id}", "action": f"/boards/{context.board_id}/@@import",
            "error": "", "errors": {}}


def _fields(request, context) -> list:
    return importable_fields(request.registry.duban_types[context.item_type])


def _upload_page(context, request, refusal: Refusal | None = None) -> dict[str, Any]:
    page = _base(context, request, "导入台账")
    page["step"] = "upload"
    page["template_url"] = f"/boards/{context.board_id}/@@ledger-template"
    page["required"] = [f.title for f in _fields(request, context) if f.required]
    if refusal is not None:
        request.tm.doom()
        request.response.status = refusal.status
        page["error"] = translate(request, refusal.message)
        page["errors"] = {"file": translate(request, refusal.fields.get("file", refusal.message))}
    return page


def _mapping_page(context, request, sheet: Sheet, mapping: list[str]) -> dict[str, Any]:
    page = _base(context, request, "台账列对应")
    page["step"] = "mapping"
    samples = []
    for i in range(len(sheet.headers)):
        sample = next((r[i] for _, r in sheet.rows if i < len(r) and r[i] not in (None, "")), "")
        samples.append(str(sample)[:40])
    page["columns"] = [{"index": i, "letter": sheet.letter(i), "header": h, "sample": samples[i],
                        "field": mapping[i] if i < len(mapping) else ""} for i, h in enumerate(sheet.headers)]
    page["fields"] = [(f.name, translate(request, f.title) + (" *" if f.required else ""))
                      for f in _fields(request, context)]
    page["rows"] = len(sheet.rows)
    page["sheet_json"] = json.dumps(sheet.as_json(), ensure_ascii=False, separators=(",", ":"))
    return page


def _preview_page(context, request, sheet: Sheet, mapping: list[str], problems=None) -> dict[str, Any]:
    site = find_site(context)
    check = check_rows(site, request.registry, context, sheet, mapping)
    if problems is not None:  # the import found these (e.g. a unit removed meanwhile): show what it saw
        check.problems = problems
    page = _base(context, request, "台账导入预览")
    page["step"] = "preview"
    fields = {f.name: f for f in _fields(request, context)}
    shown = [(i, fields[name]) for i, name in enumerate(mapping) if name in fields]
    bad_rows = {p.row for p in check.problems}
    bad_cells = {(p.row, p.column) for p in check.problems}
    page.update({
        "check": check, "rows": check.rows, "valid": len(check.valid), "problems": check.problems,
        "bad_rows": len({r for r in bad_rows if r > sheet.header_row}),
        "columns": [(sheet.letter(i), translate(request, f.title)) for i, f in shown],
        "table": [(n, n in bad_rows, [(_shown(cells, i), (n, sheet.letter(i)) in bad_cells) for i, _ in shown])
                  for n, cells in sheet.rows[:PREVIEW_ROWS]],
        "more": max(0, len(sheet.rows) - PREVIEW_ROWS),
        "ignored": check.ignored,
        "sheet_json": json.dumps(sheet.as_json(), ensure_ascii=False, separators=(",", ":")),
        "mapping": list(enumerate(mapping)),
    })
    return page


def _shown(cells: list, i: int) -> str:
    value = cells[i] if i < len(cells) else None
    return "" if value is None else str(value)


def _posted_sheet(request) -> tuple[Sheet, list[str]]:
    try:
        data = json.loads(request.POST.get("sheet", ""))
    except ValueError:
        raise Refusal("表格数据不完整，请重新上传 Excel 文件", {"file": "请重新上传"}) from None
    sheet = Sheet.from_json(data)
    mapping = [str(request.POST.get(f"map-{i}", "")) for i in range(len(sheet.headers))]
    return sheet, mapping


@view_config(context=Board, name="import", permission="add_item", request_method="GET",
             renderer="templates/ledger_upload.pt")
def import_form(context, request):
    return _upload_page(context, request)


@view_config(context=Board, name="import", permission="add_item", request_method="POST",
             renderer="templates/ledger_upload.pt")
def import_step(context, request):
    """One POST per step; ``step`` says which page sent it."""
    step = request.POST.get("step", "upload")
    try:
        if step == "upload":
            upload = request.POST.get("file")
            if not hasattr(upload, "file") or not getattr(upload, "filename", ""):
                raise Refusal("请选择要导入的 Excel 台账文件（.xlsx）", {"file": "请选择文件"})
            if getattr(upload.digests, "over_limit", None):
                from .attachments import too_large_message

                raise Refusal(too_large_message(request), {"file": too_large_message(request)}, status=413)
            sheet = read_sheet(upload.file, ContainerLimits.from_settings(request.registry.settings))
            typedef = request.registry.duban_types[context.item_type]
            return _render("ledger_mapping.pt", _mapping_page(context, request, sheet,
                                                               guess_mapping(typedef, sheet.headers)), request)
        sheet, mapping = _posted_sheet(request)
        if step == "remap":
            return _render("ledger_mapping.pt", _mapping_page(context, request, sheet, mapping), request)
        if step == "preview":
            return _render("ledger_preview.pt", _preview_page(context, request, sheet, mapping), request)
        if step == "import":
            return _import(context, request, sheet, mapping)
    except Refusal as exc:
        return _upload_page(context, request, exc)
    raise HTTPBadRequest(translate(request, "未知的导入步骤"))


def _import(context, request, sheet: Sheet, mapping: list[str]):
    site = find_site(context)
    try:
        result = import_rows(site, request.registry, context.board_id, sheet, mapping, request.identity.username)
    except LedgerImportError as exc:
        request.tm.doom()  # nothing of this request is kept
        request.response.status = 400
        page = _preview_page(context, request, sheet, mapping, exc.problems)
        page["error"] = translate(request, "未导入任何事项：请按下列错误修改 Excel 后重新上传")
        return _render("ledger_preview.pt", page, request)
    page = _base(context, request, "台账导入完成")
    page["step"] = "done"
    page["created"] = [site.item_index[i] for i in result.created]
    return _render("ledger_result.pt", page, request)


def _render(template: str, page: dict[str, Any], request) -> Response:
    from pyramid.renderers import render_to_response

    return render_to_response(f"duban_archive.views:templates/{template}", page, request=request,
                              response=request.response)


@view_config(context=Board, name="ledger-template", permission="add_item", request_method="GET")
def template_download(context, request):
    body = ledger_template(find_site(context), request.registry, context)
    response = Response(body=body, content_type=XLSX)
    response.headers["Content-Disposition"] = content_disposition(f"{context.title}-台账导入模板.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response
