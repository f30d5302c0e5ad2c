"""What a clerk writes in a 台账 cell, read as the value a field stores.

Ledgers kept by hand in Excel carry dates in every Chinese form (「2026年12月20日」,
「2026.12.20」, 「20261220」, 「2026年12月底前」, an Excel date serial, a real date cell) and units by
their full title or a short form (「住建局」 for 「市住建局」).  These readers turn
such cells into what the type schema accepts, or raise :class:`CellError` with a
Chinese sentence that names the value, so a preview can say exactly what to fix.
Headings are matched here too: the type's own field titles first, then the
names county ledgers use (序号, 事项名称, 责任单位, 完成时限 …).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

#: headings read as "not a field" (the row number a ledger starts with, and what an export adds)
IGNORED = frozenset({"序号", "编号", "事项编号", "版块", "状态", "下一时限", "办理评价", "督办级别", "办结日期",
                     "办理进展", "亮灯"})

#: the headings county ledgers use -> field name (used only when the board's type has the field)
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("事项名称", "事项", "督办事项", "任务", "任务名称", "事项标题", "工作任务", "标题"), "title"),
    **dict.fromkeys(("责任单位", "牵头单位", "主办单位", "承办单位", "牵头责任单位"), "lead_unit"),
    **dict.fromkeys(("配合单位", "协办单位", "配合责任单位"), "assist_units"),
    **dict.fromkeys(("完成时限", "办理时限", "截止日期", "时限", "办结时限", "完成时间"), "deadline"),
    **dict.fromkeys(("立项日期", "交办日期", "立项时间", "交办时间"), "registered_on"),
    **dict.fromkeys(("督办内容", "工作要求", "具体内容", "事项内容", "交办事项", "督查督办内容", "主要内容"),
                    "content"),
    **dict.fromkeys(("责任领导", "分管领导", "牵头领导", "包联领导"), "leader"),
    **dict.fromkeys(("办理要求", "工作标准"), "requirement"),
    **dict.fromkeys(("办理标准", "完成标准"), "standard"),
    **dict.fromkeys(("责任人", "具体责任人"), "responsible"),
    **dict.fromkeys(("联系人", "联系电话", "联系人及电话"), "contact"),
    **dict.fromkeys(("督办人", "督查人"), "overseer"),
    **dict.fromkeys(("任务来源", "来源", "交办来源"), "source"),
}

#: list separators inside one cell (协办单位: 「市交通运输局、东城街道办事处」)
SPLIT = re.compile(r"[、,，;；/\s]+")
_DATE = re.compile(r"^(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*[日号]?"
                   r"(?:[\sT]+\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
#: 「2026年12月底」「2026年11月末」: the last day of that month; 「2026年底」「2026年末」: 31 December
_MONTH_END = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*[底末]$")
_YEAR_END = re.compile(r"^(\d{4})\s*年\s*[底末]$")
#: 「2026年12月20日前」: a deadline says "by", the day is the same
_BY = re.compile(r"\s*(之前|以前|前|为止|止)$")
#: Excel's day 0 (its 1900 leap-year bug makes 1899-12-30 right for every serial after February 1900)
EXCEL_EPOCH = date(1899, 12, 30)
DATE_HINT = "请写成 2026年12月20日、2026-12-20、2026/12/20、2026.12.20 或 20261220（没有固定时限的请留空）"


class CellError(ValueError):
    """A cell that cannot be read as its field's value; ``message`` is the Chinese reason."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def normalise_heading(text: Any) -> str:
    """A heading as compared: full-width folded, spaces and the required mark (*) removed."""
    value = unicodedata.normalize("NFKC", str(text or ""))
    value = re.sub(r"[（(]\s*(必填|选填)\s*[)）]", "", value)
    return re.sub(r"[\s*＊]+", "", value)


def guess_field(heading: Any, titles: dict[str, str], taken: set[str]) -> str:
    """The field a heading names ("" = not imported): the type's titles, then field names, then synonyms.

    ``titles`` maps each importable field's title to its name; ``taken`` holds fields an earlier
    column already claimed (the first column wins, a second 「时限」 is left for the clerk to map).
    """
    text = normalise_heading(heading)
    if not text or text in IGNORED:
        return ""
    names = set(titles.values())
    name = titles.get(text) or (text if text in names else "") or SYNONYMS.get(text, "")
    return name if name in names and name not in taken else ""


def parse_date(value: Any) -> date:
    """A date from a cell in any of the forms Chinese ledgers use (raises :class:`CellError`)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise CellError(f"无法识别的日期“{value}”，{DATE_HINT}")
    if isinstance(value, int | float):
        return _from_number(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    bare = _BY.sub("", text)
    end = _MONTH_END.match(bare)
    if end is not None and 1 <= int(end.group(2)) <= 12:
        y, m = int(end.group(1)), int(end.group(2))
        return date(y, 12, 31) if m == 12 else date(y, m + 1, 1) - timedelta(days=1)
    end = _YEAR_END.match(bare)
    if end is not None:
        return date(int(end.group(1)), 12, 31)
    found = _DATE.match(bare) or _COMPACT.match(bare)
    if found is None:
        if re.fullmatch(r"\d{5}(\.\d+)?", text):  # a date serial that arrived as text
            return _from_number(float(text))
        raise CellError(f"无法识别的日期“{text}”，{DATE_HINT}")
    y, m, d = (int(g) for g in found.groups())
    try:
        return date(y, m, d)
    except ValueError:
        raise CellError(f"日期“{text}”不存在（{y}年{m}月{d}日），请检查月份和日期") from None


def _from_number(value: float) -> date:
    if value == int(value) and 19000101 <= value <= 29991231:  # 20261220 typed as a number
        return parse_date(str(int(value)))
    if 1 <= value < 2958466:  # Excel's serial range (to 9999-12-31)
        return EXCEL_EPOCH + timedelta(days=int(value))
    raise CellError(f"无法识别的日期“{value:g}”，{DATE_HINT}")


def _key(title: str) -> str:
    """A unit title without its administrative prefix: 「市住建局」 -> 「住建局」."""
    return re.sub(r"^(省|市|县|区|旗|镇|乡)", "", title)


def match_unit(units, text: str) -> str:
    """The unit id a cell names: id, 机构代码, full title, or an unambiguous short form.

    Short forms are the title without its 市/县/区 prefix, a part of the title
    (「东城街道」), or its characters in order (「交通局」 for 「市交通运输局」) — each
    only when exactly one unit answers; otherwise :class:`CellError` names the
    value (and the candidates when there are several).
    """
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        raise CellError("单位名称为空")
    if text in units:
        return text
    every = list(units.values())
    for same in (lambda u: u.title == text or (getattr(u, "code", None) or "") == text,
                 lambda u: _key(u.title) == _key(text),
                 lambda u: len(text) >= 2 and text in u.title,
                 lambda u: len(text) >= 2 and _in_order(_key(text), u.title)):
        found = [u for u in every if same(u)]
        if len(found) == 1:
            return found[0].unit_id
        if len(found) > 1:
            names = "、".join(u.title for u in found[:5])
            raise CellError(f"单位“{text}”不明确，可能是：{names}，请填写单位全称")
    raise CellError(f"单位“{text}”不在单位列表中，请填写单位全称（见模板「说明」页）")


def _in_order(short: str, title: str) -> bool:
    it = iter(title)
    return bool(short) and all(ch in it for ch in short)
