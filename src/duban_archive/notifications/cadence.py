"""持续推进 clocks of seed 002 beyond the monthly call-up (rule files ``[monthly] follow_up``,
``[quarterly]``, ``[year_end]``).

* 逐月反馈: 「在月底没有反馈的事项，由系统从下月1日开始，每日8时、15时分别催办一次，连续提醒2日，仍未反馈的
  由立项主体催办。超过时限2日未上报的事项，交由区政府核查问责。」 — ``follow_up = "P2D"`` after the month
  starts, the 立项主体 (``follow_up_notify``) is told the item is 2 days late and goes to 核查问责;
* 季度小结: 「在每季度最后一个工作日（第四季度提前一周）分别将第一季度、上半年、第三季度、全年工作进展落实
  情况书面报告立项主体」 — the due day is the last working day of the quarter (Q4: the last working day
  at least ``q4_advance`` before 12-31); reminded ``lead`` before and on the day, at ``time``;
* 年底清零: 「所有事项年底都要销号清零，做到件件有结果」 — open items are reminded on each ``dates``
  (MM-DD) of their year, at ``time``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from ..timeutil import CST

if TYPE_CHECKING:
    from .reminders import Fire
    from .rules import RuleSet


def quarter_due(year: int, quarter: int, calendar, q4_advance_days: int) -> date:
    last = date(year, 12, 31) if quarter == 4 else date(year, quarter * 3 + 1, 1) - timedelta(days=1)
    if quarter == 4:
        last -= timedelta(days=q4_advance_days)
    day = last
    for _ in range(31):
        if calendar.is_workday(day):
            return day
        day -= timedelta(days=1)
    return last


def cadence_fires(item, rs: RuleSet, calendar, moment: datetime, fire: type[Fire]) -> list[Fire]:
    from .durations import add_months

    out: list[Fire] = []
    state = item.state
    if rs.monthly_follow_up is not None and state in rs.monthly_states:
        first = datetime(moment.year, moment.month, 1, tzinfo=CST)
        for months in (0, 1):
            month_start = add_months(first, months)
            prev_start = add_months(month_start, -1)
            out.append(fire(rs.monthly_follow_up.add(month_start), "monthly", "monthly_follow_up", since=prev_start,
                            due=month_start, notify=rs.monthly_follow_up_notify))
    q = rs.quarterly
    if q and state in q["states"] and (not q["boards"] or item.board_id in q["boards"]):
        for year in (moment.year, moment.year + 1):
            for quarter in (1, 2, 3, 4):
                due = quarter_due(year, quarter, calendar, q["q4_advance_days"])
                at_due = datetime.combine(due, q["time"], CST)
                for at in (at_due - timedelta(days=q["lead_days"]), at_due):
                    out.append(fire(at, "reminder", "quarterly", since=at_due - timedelta(days=q["lead_days"] + 7),
                                    due=datetime.combine(due, datetime.max.time(), CST).replace(microsecond=0)))
    y = rs.year_end
    if y and state in y["states"]:
        for mm, dd in y["dates"]:
            at = datetime.combine(date(moment.year, mm, dd), y["time"], CST)
            out.append(fire(at, "reminder", "year_end", due=datetime(moment.year, 12, 31, 23, 59, 59, tzinfo=CST)))
    return out


def cadence_texts(item, f: Fire, format_due) -> tuple[str, str] | None:
    head = f"{item.number}《{item.title}》"
    if f.rule == "monthly_follow_up":
        prev = f.since
        month = f"{prev.year}年{prev.month}月" if prev else "上月"
        return (f"【逾期未报】{item.number} {month}进展超过时限2日未上报",
                f"{head}{month}的落实进展超过时限2日仍未上报，请立项主体催办，并交由区政府核查问责。")
    if f.rule == "quarterly":
        return (f"【季度小结】{item.number}",
                f"{head}请于 {format_due(f.due)} 前将本季度（第四季度为全年）工作进展落实情况书面报告立项主体。")
    if f.rule == "year_end":
        return (f"【年底清零】{item.number}",
                f"{head}尚未办结。所有事项年底都要销号清零，请于 {format_due(f.due)} 前办结销号，做到件件有结果。")
    return None
