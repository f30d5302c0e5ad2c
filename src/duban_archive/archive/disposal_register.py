"""The 销毁清册 as a table, an Excel workbook and a PDF/A list for the records officer and auditor.

One row per destroyed record, from the entries :func:`archive.disposal.register` returns (the same
data the append-only audit entry ``dispose`` carries); each destroyed file is listed with its size,
SHA-256 and SM3, so a copy found later can be proved to be (or not be) what was destroyed.
"""

from __future__ import annotations

import io
from typing import Any

from .render import render_pdf, render_template

COLUMNS = ("序号", "档号", "题名", "年度", "保管期限", "件数", "页数", "销毁理由", "鉴定意见",
           "申请人", "申请时间", "批准人", "批准时间", "销毁日期", "销毁文件及摘要")
TITLE = "档案销毁清册"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") and hasattr(value, "hour") else (
        value.isoformat() if hasattr(value, "isoformat") else str(value or ""))


def file_lines(entry: dict[str, Any]) -> list[str]:
    """One line per destroyed file: kind, name, bytes, SHA-256, SM3."""
    out = []
    for f in entry.get("files", ()):
        d = dict(f)
        out.append(f"{d['kind']} {d['name']}（{d['size']} 字节）SHA-256:{d['sha256']} SM3:{d['sm3']}")
    return out


def rows(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "序号": n, "档号": e["archival_code"], "题名": e["title"], "年度": e["year"],
        "保管期限": e.get("retention_title", e["retention"]), "件数": e["pieces"], "页数": e["pages"],
        "销毁理由": e["reason"], "鉴定意见": e["opinion"], "申请人": e["requested_by"],
        "申请时间": _when(e["requested_at"]), "批准人": e["approved_by"], "批准时间": _when(e["approved_at"]),
        "销毁日期": _when(e["date"]), "销毁文件及摘要": "\n".join(file_lines(e)),
    } for n, e in enumerate(entries, 1)]


def to_xlsx(entries: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    from .lists import start_sheet

    wb = Workbook()
    ws = wb.active
    ws.title = "销毁清册"
    start_sheet(ws, TITLE, COLUMNS)
    for row in rows(entries):
        ws.append([row[c] for c in COLUMNS])
        ws.cell(ws.max_row, len(COLUMNS)).alignment = Alignment(wrap_text=True, vertical="top")
    for n, width in enumerate((6, 24, 36, 7, 10, 6, 6, 24, 24, 12, 17, 12, 17, 11, 90), 1):
        ws.column_dimensions[ws.cell(2, n).column_letter].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(entries: list[dict[str, Any]]) -> bytes:
    table = rows(entries)
    for row in table:  # a line break per file: one cell per line is enough for the PDF's table
        row["销毁文件及摘要"] = "；".join(row["销毁文件及摘要"].splitlines())
    html = render_template("duban_archive.archive:templates/disposal_register.pt", title=TITLE, columns=COLUMNS,
                           rows=table)
    return render_pdf(html, title=TITLE, landscape=True)
