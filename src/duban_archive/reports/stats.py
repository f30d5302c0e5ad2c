"""Statistics for the dashboard and the monthly 通报 (seed 003 考核机制: 按时反馈率、按时办结率 ...).

Rates are plain ratios over the items where the question applies (an item
never signed for does not count in 按时签收率), returned with their
numerator and denominator so the UI can show "12/15".
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from ..timeutil import CST, as_cst, now
from ..workflows.calendar import WorkCalendar

FEEDBACK_DAYS = 3  # 13710 的 "3": 3 天内反馈办理情况
FINAL_STATES = ("closed", "archived", "cancelled")


def _first(item, names) -> datetime | None:
    for e in item.history:
        if e.get("transition") in names:
            return as_cst(e["time"])
    return None


def _last(item, names) -> datetime | None:
    for e in reversed(list(item.history)):
        if e.get("transition") in names:
            return as_cst(e["time"])
    return None


def sign_due(item, assigned: datetime, cal: WorkCalendar) -> datetime:
    """12345: seed 003 sign-by; other boards: 事不过夜 (the end of the day of 交办)."""
    if item.board_id == "hotline":
        from ..notifications.reminders import sign_by

        return sign_by(getattr(item, "dispatched_at", None) or assigned, cal)
    return datetime.combine(assigned.date(), time(23, 59, 59), CST)


def is_overdue(item, moment: datetime) -> bool:
    if item.state in FINAL_STATES or item.state in ("registered", "approved"):
        return False
    nxt = getattr(item, "next_due", None)
    if isinstance(nxt, datetime):
        return as_cst(nxt) < moment
    deadline = getattr(item, "deadline", None)
    return isinstance(deadline, date) and deadline < moment.date()


def _rate(num: int, den: int) -> dict[str, Any]:
    return {"rate": round(num / den * 100, 1) if den else None, "num": num, "den": den}


def statistics(site, registry, items, moment: datetime | None = None, months: int = 12) -> dict[str, Any]:
    moment = moment or now()
    cal = WorkCalendar.for_site(site)
    by_state: Counter = Counter()
    by_board: Counter = Counter()
    by_unit: Counter = Counter()
    signed = [0, 0]
    fed = [0, 0]
    closed_ok = [0, 0]
    satisfied = [0, 0]
    overdue = 0
    trend_new: Counter = Counter()
    trend_closed: Counter = Counter()
    titles: dict[str, str] = {}
    workflows = registry.duban_workflows
    for item in items:
        wf = workflows.get(item.workflow)
        titles[item.state] = wf.states[item.state].title if wf and item.state in wf.states else item.state
        by_state[item.state] += 1
        by_board[item.board_id] += 1
        if getattr(item, "lead_unit", None):
            by_unit[item.lead_unit] += 1
        assigned = _first(item, ("assign", "dispatch"))
        if assigned is not None:
            accepted = _first(item, ("accept", "deemed_accepted"))
            if accepted is not None or sign_due(item, assigned, cal) < moment:
                signed[1] += 1
                signed[0] += accepted is not None and accepted <= sign_due(item, assigned, cal)
            fb = sorted(as_cst(f.created) for f in item.feedback.values() if getattr(f, "created", None))
            feedback_due = assigned + timedelta(days=FEEDBACK_DAYS)
            if fb or feedback_due < moment:
                fed[1] += 1
                fed[0] += bool(fb) and fb[0] <= feedback_due
        closed = _last(item, ("close",))
        deadline = getattr(item, "deadline", None)
        if closed is not None and isinstance(deadline, date):
            closed_ok[1] += 1
            closed_ok[0] += closed.date() <= deadline
        if closed is not None:
            trend_closed[closed.strftime("%Y-%m")] += 1
        if is_overdue(item, moment):
            overdue += 1
        satisfaction = getattr(item, "satisfaction", None)
        if satisfaction:
            satisfied[1] += 1
            satisfied[0] += satisfaction != "dissatisfied"
        reg = getattr(item, "registered_on", None)
        if isinstance(reg, date):
            trend_new[reg.strftime("%Y-%m")] += 1
    month_keys = []
    y, m = moment.year, moment.month
    for _ in range(months):
        month_keys.append(f"{y}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    month_keys.reverse()
    units = site["units"]
    boards = site.boards
    return {
        "total": sum(by_state.values()),
        "by_state": [{"state": s, "title": titles[s], "count": n} for s, n in by_state.most_common()],
        "by_board": [{"board": b, "title": boards[b].title if b in boards else b, "count": n}
                     for b, n in by_board.most_common()],
        "by_unit": [{"unit": u, "title": units.title_of(u), "count": n} for u, n in by_unit.most_common()],
        "sign_on_time": _rate(*signed),
        "feedback_on_time": _rate(*fed),
        "closed_on_time": _rate(*closed_ok),
        "overdue": overdue,
        "satisfaction": _rate(*satisfied),
        "trend": [{"month": k, "registered": trend_new.get(k, 0), "closed": trend_closed.get(k, 0)}
                  for k in month_keys],
    }
