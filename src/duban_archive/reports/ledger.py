"""电子台账: export every ledger field to Excel (import: ``ledger_import``).

The export leads with what leaders read first: 办理进展 (the latest 反馈报告's
办理进展情况, with its date) and 亮灯 (绿/黄/红 of the next open deadline, as the
item page shows it; 已办结 once closed).  Export writes every cell through
``validation.clean_text``, so text stored before the text policy (issue 12, or
by a bug) can never make the workbook fail.

Import maps columns by their Chinese header, validates *every* row with the
type registry's colander schema first and imports nothing if any row fails
(:mod:`.ledger_import`, re-exported here for the CLI and older callers).
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from transaction.interfaces import TransientError

from ..timeutil import as_cst, now
from ..validation import clean_text
from ..workflows.deadlines import light, open_deadlines
from .ledger_import import ImportResult, LedgerImportError, import_ledger
from .stats import skip_note

__all__ = ["ImportResult", "LedgerImportError", "export_ledger", "import_ledger", "ledger_fields"]

SYSTEM_COLUMNS = [("number", "事项编号"), ("board", "版块"), ("state", "状态"), ("next_due", "下一时限"),
                  ("grade", "办理评价"), ("escalation_level", "督办级别"), ("closed_on", "办结日期")]
#: 办理进展 and 亮灯 follow the system columns (ledger_cells.IGNORED skips them on import)
PROGRESS_COLUMNS = ["办理进展", "亮灯"]
LIGHTS = {"green": "绿", "yellow": "黄", "red": "红"}
CLOSED_STATES = frozenset({"closed", "archived"})


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
    headers = [t for _, t in SYSTEM_COLUMNS] + PROGRESS_COLUMNS + [f.title for f in fields]
    ws.append(headers)
    for c in range(1, len(headers) + 1):
        cell = ws.cell(row=1, column=c)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center")
    workflows = registry.duban_workflows
    moment = now()
    skipped: list[dict[str, str]] = []
    for item in items:
        try:  # the whole row is worked out (and every cell checked) before it is written
            row = _row(item, site, units, fields, workflows, moment)
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


def progress_text(item) -> str:
    """The latest 反馈报告's 办理进展情况, dated: what a leader reads first in the ledger."""
    reports = [r for r in item.feedback.values() if getattr(r, "created", None) is not None]
    if not reports:
        return ""
    latest = max(reports, key=lambda r: r.created)
    text = (getattr(latest, "progress", "") or "").strip()
    return f"{as_cst(latest.created):%Y-%m-%d}：{text}" if text else f"{as_cst(latest.created):%Y-%m-%d}"


def light_text(item, moment: datetime) -> str:
    """亮灯 of the next open deadline (绿/黄/红), 已办结 once closed, empty without a deadline."""
    if item.state in CLOSED_STATES or getattr(item, "archived", False):
        return "已办结"
    deadlines = [d for d in open_deadlines(item).values() if d.get("due")]
    if not deadlines:
        return ""
    first = min(deadlines, key=lambda d: d["due"])
    return LIGHTS[light(first["due"], first.get("warn_from"), moment)]


def _row(item, site, units, fields, workflows, moment: datetime) -> list[Any]:
    """One item's ledger row (raises on a bad stored value)."""
    wf = workflows.get(item.workflow)
    state = wf.states[item.state].title if wf and item.state in wf.states else item.state
    closed = next((e["time"] for e in reversed(list(item.history)) if e.get("transition") == "close"), None)
    row = [_cell(item.number),
           _cell(site.boards[item.board_id].title if item.board_id in site.boards else item.board_id),
           _cell(state), _cell(getattr(item, "next_due", None)), getattr(item, "grade", "") or "",
           getattr(item, "escalation_level", 0) or "", _cell(as_cst(closed).date() if closed else None),
           _cell(progress_text(item)), light_text(item, moment)]
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
