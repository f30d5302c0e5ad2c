"""The 台账 template a board offers for download: its type's headings, an example row, a 说明 sheet.

A clerk who starts from this file gets headings the import recognises without
any mapping (the field titles, required ones marked 「*」 and red), drop-down
lists for choice fields, and on the 说明 sheet what each column takes — the
date forms, the unit names of this site.  The example row is marked 「示例」 in
the 序号 column; the import skips such a row, so a template filled in below it
imports as it is.
"""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..timeutil import today
from .ledger_import import EXAMPLE_MARK, importable_fields

KIND_HELP = {
    "text": "文字（一行）",
    "textarea": "文字（可换行：单元格内按 Alt+Enter）",
    "date": "日期：2026年12月20日、2026-12-20、2026/12/20、2026.12.20、20261220 或 Excel 日期均可",
    "datetime": "日期时间：2026-12-20 09:30",
    "unit": "单位全称（见下方单位列表），或不致混淆的简称",
    "units": "一个或多个单位，用顿号“、”或逗号分隔",
    "choice": "从下拉列表中选择",
    "multi_choice": "一项或多项，用顿号“、”分隔",
    "phone": "电话号码",
    "int": "整数",
    "bool": "是 / 否",
    "user": "用户名",
}


def _example(f, units: list[Any]) -> Any:
    """A plausible value for the example row."""
    day = today()
    if f.kind == "date":
        return f"{day.year}年12月20日" if f.name == "deadline" else f"{day.year}年{day.month}月{day.day}日"
    if f.kind == "unit":
        return units[0].title if units else ""
    if f.kind == "units":
        return "、".join(u.title for u in units[1:3])
    if f.kind in ("choice", "multi_choice"):
        return f.choices[0].title if f.choices else ""
    if f.kind == "bool":
        return "否"
    examples = {"title": "老旧小区改造（示例）", "source": "县政府常务会议", "content": "完成 3 个小区的改造",
                "requirement": "每月 5 日前报送进展", "leader": "李副县长", "responsible": "张科长",
                "contact": "0371-12345678"}
    return examples.get(f.name, "")


def ledger_template(site, registry, board) -> bytes:
    """Workbook bytes of the import template for ``board``."""
    typedef = registry.duban_types[board.item_type]
    fields = importable_fields(typedef)
    units = sorted(site["units"].values(), key=lambda u: u.title)
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    headers = ["序号"] + [f.title + ("*" if f.required else "") for f in fields]
    ws.append(headers)
    ws.append([EXAMPLE_MARK] + [_example(f, units) for f in fields])
    for c, f in enumerate([None, *fields], start=1):
        cell = ws.cell(row=1, column=c)
        cell.font = Font(bold=True, color="C00000" if f is not None and f.required else "000000")
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center")
        if f is not None:
            cell.comment = Comment(("必填。" if f.required else "") + KIND_HELP.get(f.kind, ""), "督查督办系统")
            ws.column_dimensions[get_column_letter(c)].width = 30 if f.kind == "textarea" else 16
        ws.cell(row=2, column=c).font = Font(italic=True, color="808080")
    ws.column_dimensions["A"].width = 8
    for c, f in enumerate(fields, start=2):
        titles = [ch.title for ch in f.choices]
        formula = '"' + ",".join(titles) + '"'
        if f.kind == "choice" and titles and len(formula) <= 255 and not any("," in t for t in titles):
            dv = DataValidation(type="list", formula1=formula, allow_blank=True)
            dv.add(f"{get_column_letter(c)}3:{get_column_letter(c)}2000")
            ws.add_data_validation(dv)
    ws.freeze_panes = "B2"
    _notes(wb, board, typedef, fields, units)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _notes(wb, board, typedef, fields, units) -> None:
    notes = wb.create_sheet("说明")
    notes.append([f"{board.title} 台账导入模板（{typedef.title}）"])
    notes["A1"].font = Font(bold=True, size=14)
    for line in ("1. 第 1 行为列名，请勿修改；带 * 的列为必填。",
                 "2. 从第 3 行起每行填写一件事项；第 2 行为示例（序号为“示例”的行不会导入），可删除。",
                 "3. 任一行有误则全部不导入；导入前可先“预览”，逐行查看错误。",
                 "4. 日期可写成 2026年12月20日、2026-12-20、2026/12/20、2026.12.20 或 20261220。",
                 "5. 单位请填写下方列表中的全称；多个协办单位用顿号“、”分隔。"):
        notes.append([line])
    notes.append([])
    notes.append(["列名", "必填", "填写说明"])
    for c in range(1, 4):
        notes.cell(row=notes.max_row, column=c).font = Font(bold=True)
    for f in fields:
        help_text = KIND_HELP.get(f.kind, "")
        if f.choices:
            help_text += "：" + "、".join(ch.title for ch in f.choices)
        if f.description:
            help_text += f"（{f.description}）"
        notes.append([f.title, "是" if f.required else "", help_text])
    notes.append([])
    notes.append(["单位全称", "机构代码"])
    notes.cell(row=notes.max_row, column=1).font = Font(bold=True)
    for u in units:
        notes.append([u.title, getattr(u, "code", "")])
    notes.column_dimensions["A"].width = 24
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 80
