"""电子台账: export every ledger field to Excel; import an existing Excel ledger.

Import maps columns by their Chinese header (the field titles of the type
definition, plus the names the seeds use: 事项名称, 承办单位, 完成时限 ...),
validates *every* row with the type registry's colander schema first and
imports nothing if any row fails, listing each failure as
``第 N 行 「列名」：原因``.  The schema carries the text policy (issue 12): a cell
with a control character, a lone surrogate or a character no dossier font draws
is such a failure.  Export writes every cell through ``validation.clean_text``, so
text stored before the policy (or by a bug) can never make the workbook fail.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import colander
from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from transaction.interfaces import TransientError

from ..i18n import invalid_as_dict
from ..timeutil import as_cst
from ..validation import clean_text, visible_text
from .stats import skip_note

#: header aliases used by the seeds' ledgers -> field name
ALIASES = {
    "事项名称": "title", "事项": "title", "交办事项": "content", "事项内容": "content", "督查督办内容": "content",
    "督办事项": "content", "承办单位": "lead_unit", "牵头单位": "lead_unit", "责任单位": "lead_unit",
    "配合单位": "assist_units", "协办单位": "assist_units", "完成时限": "deadline", "办理时限": "deadline",
    "立项时间": "registered_on", "立项日期": "registered_on", "牵头领导": "leader", "责任领导": "leader",
    "工作要求": "requirement", "办理要求": "requirement", "办理标准": "standard", "责任人": "responsible",
    "督办人": "overseer", "联系人": "contact", "任务来源": "source",
}
SYSTEM_COLUMNS = [("number", "事项编号"), ("board", "版块"), ("state", "状态"), ("next_due", "下一时限"),
                  ("grade", "办理评价"), ("escalation_level", "督办级别"), ("closed_on", "办结日期")]
SPLIT = re.compile(r"[、,，;；\s]+")
LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class LedgerImportError(Exception):
    """Rows failed validation; ``errors`` lists them (nothing was imported)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"台账导入失败，共 {len(errors)} 处错误，未导入任何事项")
        self.errors = errors


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_cst(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo else value
    if isinstance(value, set | frozenset | tuple | list):
        value = "、".join(str(v) for v in sorted(value))
    if isinstance(value, str):  # openpyxl refuses control characters; XML cannot hold lone surrogates
        return clean_text(value, multiline=True)
    return value


def ledger_fields(registry, type_name: str = "supervision_item") -> list:
    return [f for f in registry.duban_types[type_name].fields if f.ledger]


def export_ledger(site, registry, items, type_name: str = "supervision_item") -> bytes:
    """Workbook bytes: one row per item, system columns then every ledger field.

    An item whose stored values cannot become a row is left out, logged, and named with the
    reason on a second sheet 「未导出事项」.
    """
    units = site["units"]
    fields = ledger_fields(registry, type_name)
    wb = Workbook()
    ws = wb.active
    ws.title = "电子台账"
    headers = [t for _, t in SYSTEM_COLUMNS] + [f.title for f in fields]
    ws.append(headers)
    for c in range(1, len(headers) + 1):
        cell = ws.cell(row=1, column=c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center")
    workflows = registry.duban_workflows
    skipped: list[dict[str, str]] = []
    for item in items:
        try:  # the whole row is worked out (and every cell checked) before it is written
            row = _row(item, site, units, fields, workflows)
            for value in row:
                Cell(ws, value=value)  # openpyxl's own check: refuses a value it cannot store
        except TransientError:
            raise
        except Exception as exc:  # noqa: BLE001 - one item with a bad stored value is left out, named below
            skipped.append(skip_note(item, exc, "台账"))
            continue
        ws.append(row)
    if skipped:  # a sheet of its own: the ledger sheet stays importable as it is
        sk = wb.create_sheet("未导出事项")
        sk.append(["事项编号", "原因"])
        for note in skipped:
            sk.append([_cell(note["number"]), _cell(note["reason"])])
        sk.column_dimensions["A"].width = 20
        sk.column_dimensions["B"].width = 80
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(h) * 3))
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(item, site, units, fields, workflows) -> list[Any]:
    """One item's ledger row (raises on a bad stored value)."""
    wf = workflows.get(item.workflow)
    state = wf.states[item.state].title if wf and item.state in wf.states else item.state
    closed = next((e["time"] for e in reversed(list(item.history)) if e.get("transition") == "close"), None)
    row = [_cell(item.number),
           _cell(site.boards[item.board_id].title if item.board_id in site.boards else item.board_id),
           _cell(state), _cell(getattr(item, "next_due", None)), getattr(item, "grade", "") or "",
           getattr(item, "escalation_level", 0) or "", _cell(as_cst(closed).date() if closed else None)]
    for f in fields:
        value = getattr(item, f.name, None)
        if f.kind == "unit":
            value = units.title_of(value)
        elif f.kind == "units":
            value = "、".join(units.title_of(u) for u in (value or ()))
        elif f.kind == "choice":
            value = next((c.title for c in f.choices if c.value == value), value)
        row.append(_cell(value))
    return row


def _header_map(typedef, headers: list[Any]) -> tuple[dict[int, str], list[str]]:
    by_title = {f.title: f.name for f in typedef.fields}
    by_name = {f.name: f.name for f in typedef.fields}
    mapping: dict[int, str] = {}
    unknown = []
    for i, h in enumerate(headers):
        text = str(h or "").strip()
        if not text:
            continue
        name = by_title.get(text) or ALIASES.get(text) or by_name.get(text)
        if name and name in typedef.field_map:
            mapping[i] = name
        elif text not in {t for _, t in SYSTEM_COLUMNS}:
            unknown.append(visible_text(text))
    return mapping, unknown


def _unit_id(units, text: str) -> str:
    if text in units:
        return text
    for u in units.values():
        if u.title == text or getattr(u, "code", None) == text:
            return u.unit_id
    return text  # left for the schema to refuse by name


def _cstruct(typedef, units, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in values.items():
        f = typedef.field_map[name]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if f.kind == "date":
            out[name] = raw.date().isoformat() if isinstance(raw, datetime) else (
                raw.isoformat() if isinstance(raw, date) else str(raw).strip().replace("/", "-").replace(".", "-"))
        elif f.kind == "datetime":
            out[name] = raw.isoformat() if isinstance(raw, datetime) else str(raw).strip()
        elif f.kind == "unit":
            out[name] = _unit_id(units, str(raw).strip())
        elif f.kind in ("units", "multi_choice"):
            parts = [p for p in SPLIT.split(str(raw)) if p]
            out[name] = [_unit_id(units, p) for p in parts] if f.kind == "units" else parts
        elif f.kind == "choice":
            text = str(raw).strip()
            out[name] = next((c.value for c in f.choices if c.title == text), text)
        elif f.kind == "int":
            out[name] = str(int(raw)) if isinstance(raw, float) else str(raw)
        elif f.kind == "textarea":
            out[name] = str(raw).strip()
        else:  # a line wrapped in its cell (Alt+Enter) is one line here; the schema refuses the rest
            out[name] = LINE_BREAKS.sub(" ", str(raw).strip())
    return out


def import_ledger(site, registry, source: IO[bytes] | str, board_id: str, actor: str) -> ImportResult:
    """Validate every row, then create every item (raises LedgerImportError, importing nothing)."""
    from ..content_types.actions import create_item

    if board_id not in site.boards:
        raise LedgerImportError([f"版块“{board_id}”不存在"])
    board = site.boards[board_id]
    typedef = registry.duban_types[board.item_type]
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a non-xlsx file
        raise LedgerImportError([f"无法读取 Excel 文件：{exc}"]) from exc
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    if not rows:
        raise LedgerImportError(["表格为空：第 1 行应为列名"])
    mapping, unknown = _header_map(typedef, list(rows[0]))
    errors = [f"第 1 行：无法识别的列名「{u}」" for u in unknown]
    titles = {f.name: f.title for f in typedef.fields}
    missing = [titles[f.name] for f in typedef.fields if f.required and f.name not in mapping.values()]
    if missing:
        errors.append(f"第 1 行：缺少必填列「{'」「'.join(missing)}」")
    if errors:
        raise LedgerImportError(errors)
    schema = typedef.schema("add", site=site, registered_today=False)
    valid: list[dict[str, Any]] = []
    for n, row in enumerate(rows[1:], start=2):
        if row is None or all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        values = {name: row[i] if i < len(row) else None for i, name in mapping.items()}
        try:
            valid.append(schema.deserialize(_cstruct(typedef, site["units"], values)))
        except colander.Invalid as exc:
            for name, msg in invalid_as_dict(exc).items():
                errors.append(f"第 {n} 行「{titles.get(name, name)}」：{msg}")
    if errors:
        raise LedgerImportError(errors)
    if not valid:
        raise LedgerImportError(["表格中没有可导入的数据行"])
    result = ImportResult()
    for appstruct in valid:
        result.created.append(create_item(site, board, appstruct, actor, registry).item_id)
    return result
