"""The clocks of one 12345 ticket read back from its history (seed 003, 宿州 "宿事速办").

Statistics (``reports/hotline_stats.py``) and unit scoring (``scoring/hotline.py``) ask the same
questions of a ticket; they are answered here once, from the workflow definition (the ``limit``
deadline of ``dispatch``: 咨询/应急 1、复杂咨询/建议 3、投诉 7 个工作日, 附件2 四(四) 限时办结) and the
ticket's history, so nothing depends on the deadline records that are dropped once met.

* **派单** — ``dispatched_at`` (set by the ``dispatch`` transition; immutable afterwards).
* **办结时限** — the ``limit`` spec for the ticket kind counted from 派单, plus the working days of an
  approved 延期 (附件2 四(四): 延长时限不得超过原办理时限).
* **反馈** — the unit's first 答复 (``reply``) to the platform.
* **办结** — the 答复 the platform accepted (the last ``reply`` before the first ``approve_reply``):
  a 答复 sent back as 不规范 must be completed 在办理时限内.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..timeutil import as_cst
from .calendar import WorkCalendar
from .deadlines import END_OF_DAY, _at, compute_due
from .lookup import workflow_for

#: the board and workflow of 12345 tickets
HOTLINE = "hotline"


def is_ticket(item: Any) -> bool:
    return getattr(item, "workflow", None) == HOTLINE or getattr(item, "board_id", None) == HOTLINE


def _times(item: Any, names: tuple[str, ...]) -> list[datetime]:
    return [as_cst(e["time"]) for e in item.history if e.get("transition") in names and e.get("time")]


def dispatched(item: Any) -> datetime | None:
    value = getattr(item, "dispatched_at", None)
    if isinstance(value, datetime):
        return as_cst(value)
    found = _times(item, ("dispatch",))
    return found[-1] if found else None


def limit_spec(item: Any) -> str | None:
    """The 办结时限 spec of the ticket's kind, from the workflow's ``dispatch`` deadline ``limit``."""
    try:
        wf = workflow_for(item)
    except Exception:  # noqa: BLE001 - no registry (plain-data tests): the shipped table
        wf = None
    transition = wf.transitions.get("dispatch") if wf is not None else None
    for d in (transition.deadlines if transition is not None else ()):
        if d.name == "limit":
            return d.spec_for(item)
    return None


def extension_days(item: Any) -> int:
    """Working days granted by 延期 (the request the platform approved)."""
    requested = 0
    granted = 0
    for e in item.history:
        t = e.get("transition")
        if t == "request_extension":
            requested = int((e.get("fields") or {}).get("days") or 0)
        elif t == "approve_extension":
            granted += requested
    return granted


def handling_due(item: Any, cal: WorkCalendar | None = None) -> datetime | None:
    """The end of the ticket's 办结时限 (first round), or None before 派单."""
    start = dispatched(item)
    spec = limit_spec(item)
    if start is None or not spec:
        return None
    cal = cal or WorkCalendar()
    due = compute_due(start, spec, cal).due
    extra = extension_days(item)
    if extra:
        due = _at(cal.add_working_days(due.date(), extra), END_OF_DAY)
    return due


def first_reply(item: Any) -> datetime | None:
    found = _times(item, ("reply",))
    return found[0] if found else None


def done_at(item: Any) -> datetime | None:
    """When the unit's accepted 答复 was sent (None while none was accepted)."""
    last_reply = None
    for e in item.history:
        t = e.get("transition")
        if t == "reply":
            last_reply = as_cst(e["time"])
        elif t == "approve_reply":
            return last_reply
    return None


def redo_count(item: Any) -> int:
    return sum(1 for e in item.history if e.get("transition") == "redo")


def second_dissatisfied(item: Any) -> bool:
    """附件5 (5): 第二次评价不满意 — closed 不满意 after at least one 重办 (a first 不满意 without a
    reasonable claim is 默认满意)."""
    return getattr(item, "satisfaction", None) == "dissatisfied" and redo_count(item) >= 1
