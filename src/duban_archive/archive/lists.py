"""归档文件目录 (filing list, DA/T 22-2015 columns) and the unrecorded transfer export.

Rows come from the archive records, grouped by 保管期限 (永久, 定期30年, 定期10年 — DA/T 22 keeps
one 目录 per 保管期限, each numbered from 1) and ordered by 档号 inside each group; Excel through
openpyxl (a sheet per 保管期限), PDF (A4 landscape, a section per 保管期限) through the shared
safe renderer.  The 移交 that is recorded, with its 登记表, is :mod:`.transfer`.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from ..timeutil import isoformat, now
from .checks import FAILED, INCOMPLETE, conclusion_of, unchecked_count
from .dossier import closed_on
from .package import ascii_code
from .render import render_pdf, render_template
from .rules import RETENTIONS
from .transfer import ordered, transfer_of

COLUMNS = ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
CLASSIFICATION = {"public": "公开", "internal": "内部"}


def records(site, *, year: int | None = None, unit: str | None = None) -> list[Any]:
    """Archive records of ``year`` (年度) and lead ``unit`` (unit id or 机构代码), by 保管期限 then 档号."""
    root = site.get("archive")
    if root is None:
        return []
    out = []
    for rec in root.values():
        if year is not None and rec.year != year:
            continue
        if unit:
            item = site.get_item(rec.item_id)
            if unit not in (rec.unit_code, getattr(item, "lead_unit", None)):
                continue
        out.append(rec)
    return ordered(out)


def rows(site, recs: list[Any]) -> list[dict[str, Any]]:
    """One row per record (the nine DA/T 22 columns, plus ``保管期限`` to group by); 序号 restarts
    with each 保管期限, as each has its own 目录."""
    units = site["units"]
    out = []
    n, group = 0, None
    for rec in recs:
        n = 1 if rec.retention != group else n + 1
        group = rec.retention
        item = site.get_item(rec.item_id)
        closed = closed_on(item) if item is not None else None
        notes = []
        if rec.legal_hold:
            notes.append("冻结")
        if len(rec.versions) > 1:
            notes.append(f"著录更正 {len(rec.versions) - 1} 次")
        if getattr(rec, "disposed", None):
            notes.append("已销毁")
        checked = rec.current.checks if rec.current is not None else None
        conclusion = conclusion_of(checked)
        if conclusion == INCOMPLETE:  # filed with checks that did not run: said on the list, not hidden
            notes.append(f"四性检测：{unchecked_count(checked)} 项未检测")
        elif conclusion == FAILED:
            notes.append("四性检测：不通过")
        elif not checked:
            notes.append("四性检测：未检测")
        moved = transfer_of(site, rec.item_id)
        if moved is not None:
            notes.append(f"已移交{moved.form['receiver_unit']}（{moved.form['transfer_date'].isoformat()}）")
        out.append({
            "序号": n, "档号": rec.archival_code, "文号": getattr(item, "number", ""),
            "责任者": units.title_of(getattr(item, "lead_unit", None)), "题名": getattr(item, "title", ""),
            "日期": (closed or rec.filed).strftime("%Y%m%d"),
            "密级": CLASSIFICATION.get(getattr(item, "classification", "public") or "public", ""),
            "页数": rec.current.pages if rec.current else 0, "备注": "；".join(notes),
            "保管期限": RETENTIONS.get(rec.retention, rec.retention),
        })
    return out


def groups(table: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """``rows`` split by 保管期限, in the order the rows come (永久 first)."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for row in table:
        if not out or out[-1][0] != row["保管期限"]:
            out.append((row["保管期限"], []))
        out[-1][1].append(row)
    return out


def start_sheet(ws: Any, title: str, columns: Any) -> None:
    """A register's first two rows, as the archive's Excel lists have them: the title centred in 16 pt
    bold across every column, then the column headings in bold."""
    from openpyxl.styles import Alignment, Font

    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(list(columns))
    for cell in ws[2]:
        cell.font = Font(bold=True)


def to_xlsx(table: list[dict[str, Any]], *, title: str) -> bytes:
    """One sheet per 保管期限 (named after it), each with its title row and the nine columns."""
    from openpyxl import Workbook

    wb = Workbook()
    parts = groups(table) or [("", [])]
    for n, (retention, part) in enumerate(parts):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = retention or "归档文件目录"
        start_sheet(ws, f"{title}（{retention}）" if retention else title, COLUMNS)
        for row in part:
            ws.append([row[c] for c in COLUMNS])
            ws.cell(ws.max_row, 6).number_format = "@"  # 日期 stays 8 digits as text
        for col, width in zip("ABCDEFGHI", (6, 26, 18, 18, 40, 11, 8, 6, 16), strict=True):
            ws.column_dimensions[col].width = width
        ws.print_options.gridLines = True
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_pdf(table: list[dict[str, Any]], *, title: str) -> bytes:
    html = render_template("duban_archive.archive:templates/filing_list.pt", title=title, columns=COLUMNS,
                           groups=groups(table))
    return render_pdf(html, title=title, landscape=True)


def list_title(site, year: int | None, unit: str | None) -> str:
    unit_title = ""
    if unit:
        units = site["units"]
        found = units.get(unit) or next((u for u in units.values() if u.code == unit), None)
        unit_title = found.title if found is not None else unit
    return f"{year or ''}{'年度' if year else ''}{unit_title}归档文件目录"


def transfer_export(site, *, year: int | None, unit: str | None) -> tuple[bytes, dict[str, Any]]:
    """A zip of the current packages + 归档文件目录 (xlsx) + a plain list of them (txt and json).

    Nothing is recorded as transferred: this is a copy for the office's own use.  A transfer to
    an archives, with its 电子档案移交与接收登记表, is :func:`.transfer.create_transfer`.
    """
    recs = [r for r in records(site, year=year, unit=unit) if r.current is not None]
    table = rows(site, recs)
    title = list_title(site, year, unit)
    buf = io.BytesIO()
    total = 0
    entries = []
    with zipfile.ZipFile(buf, "w") as zf:
        for rec in recs:
            name = f"packages/{ascii_code(rec.archival_code)}.zip"
            sha = hashlib.sha256()
            with rec.current.blob.open("r") as src, zf.open(name, "w") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                    sha.update(chunk)
            total += rec.current.size
            entries.append({"档号": rec.archival_code, "文件": name, "字节数": rec.current.size,
                            "SHA-256": sha.hexdigest(), "包版本": rec.current.version})
        zf.writestr("归档文件目录.xlsx", to_xlsx(table, title=title))
        register = {"标题": f"{title} 移交登记表", "移交时间": isoformat(now()), "件数": len(recs),
                    "总字节数": total, "归档包": entries}
        zf.writestr("移交登记表.json", json.dumps(register, ensure_ascii=False, indent=2))
        lines = [f"{title} 移交登记表", f"移交时间：{register['移交时间']}", f"件数：{len(recs)}",
                 f"总字节数：{total}", "", "档号\t文件\t字节数\tSHA-256"]
        lines += [f"{e['档号']}\t{e['文件']}\t{e['字节数']}\t{e['SHA-256']}" for e in entries]
        zf.writestr("移交登记表.txt", "\n".join(lines) + "\n")
    return buf.getvalue(), register
