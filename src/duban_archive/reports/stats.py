"""Statistics for the dashboard and the monthly 通报 (seed 003 考核机制: 按时反馈率、按时办结率 ...;
12345 tickets: :mod:`.hotline_stats`).

Rates are plain ratios over the items where the question applies (an item
never signed for does not count in 按时签收率), returned with their
numerator and denominator so the UI can show "12/15".
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from transaction.interfaces import TransientError

from ..timeutil import CST, as_cst, now
from ..workflows.calendar import WorkCalendar
from ..workflows.hotline_clock import is_ticket
from .hotline_stats import ticket_figures

log = logging.getLogger(__name__)

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
    resolved = [0, 0]
    overdue = 0
    trend_new: Counter = Counter()
    trend_closed: Counter = Counter()
    titles: dict[str, str] = {}
    skipped: list[dict[str, str]] = []
    workflows = registry.duban_workflows
    for item in items:
        try:  # everything one item adds, worked out before any of it is counted
            f = _figures(item, workflows, moment, cal)
        except TransientError:
            raise
        except Exception as exc:  # noqa: BLE001 - one item with a bad stored value is left out, not the report
            skipped.append(skip_note(item, exc, "统计"))
            continue
        titles[f["state"]] = f["state_title"]
        by_state[f["state"]] += 1
        by_board[f["board"]] += 1
        if f["unit"]:
            by_unit[f["unit"]] += 1
        for pair, add in ((signed, f["signed"]), (fed, f["fed"]), (closed_ok, f["closed_ok"]),
                          (satisfied, f["satisfied"]), (resolved, f.get("resolved"))):
            if add is not None:
                pair[0] += add[0]
                pair[1] += add[1]
        if f["closed_month"]:
            trend_closed[f["closed_month"]] += 1
        overdue += f["overdue"]
        if f["registered_month"]:
            trend_new[f["registered_month"]] += 1
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
        "resolution": _rate(*resolved),
        "trend": [{"month": k, "registered": trend_new.get(k, 0), "closed": trend_closed.get(k, 0)}
                  for k in month_keys],
        "skipped": skipped,
    }


def _figures(item, workflows, moment: datetime, cal: WorkCalendar) -> dict[str, Any]:
    """What one item adds to the statistics (raises on a bad stored value; nothing counted then)."""
    wf = workflows.get(item.workflow)
    out: dict[str, Any] = {
        "state": item.state, "board": item.board_id,
        "state_title": wf.states[item.state].title if wf and item.state in wf.states else item.state,
        "unit": getattr(item, "lead_unit", None) or None,
        "signed": None, "fed": None, "closed_ok": None, "satisfied": None,
        "closed_month": None, "registered_month": None,
    }
    assigned = _first(item, ("assign", "dispatch"))
    if assigned is not None:
        accepted = _first(item, ("accept", "deemed_accepted"))
        if accepted is not None or sign_due(item, assigned, cal) < moment:
            out["signed"] = (int(accepted is not None and accepted <= sign_due(item, assigned, cal)), 1)
        fb = sorted(as_cst(f.created) for f in item.feedback.values() if getattr(f, "created", None))
        feedback_due = assigned + timedelta(days=FEEDBACK_DAYS)
        if fb or feedback_due < moment:
            out["fed"] = (int(bool(fb) and fb[0] <= feedback_due), 1)
    closed = _last(item, ("close",))
    deadline = getattr(item, "deadline", None)
    if closed is not None and isinstance(deadline, date):
        out["closed_ok"] = (int(closed.date() <= deadline), 1)
    if closed is not None:
        out["closed_month"] = closed.strftime("%Y-%m")
    out["overdue"] = int(is_overdue(item, moment))
    satisfaction = getattr(item, "satisfaction", None)
    if satisfaction:
        out["satisfied"] = (int(satisfaction != "dissatisfied"), 1)
    if is_ticket(item):  # seed 003: the 1/3/7-working-day clocks, the seed's 满意率, 问题解决率
        out.update(ticket_figures(item, moment, cal))
    reg = getattr(item, "registered_on", None)
    if isinstance(reg, date):
        out["registered_month"] = reg.strftime("%Y-%m")
    return out


def skip_note(item, exc: BaseException, job: str) -> dict[str, str]:
    """Log an item a per-item report job leaves out; the note the report shows for it."""
    item_id = str(getattr(item, "item_id", "") or "")
    number = str(getattr(item, "number", "") or item_id)
    reason = f"数据异常，未能纳入{job}：{type(exc).__name__}: {exc}"
    reason = reason.encode("utf-8", "backslashreplace").decode("utf-8")[:200]
    log.error("%s: item %s left out: %s", job, item_id, reason)
    log.debug("why %s was left out", item_id, exc_info=exc)
    return {"id": item_id, "number": number, "reason": reason}
