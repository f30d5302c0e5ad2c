"""When an item's 反馈 counts as in time, by the rule set's ``[feedback]`` switch.

* ``days`` (13710, seed 002 「3天内要反馈办理情况」): a first report within ``days`` calendar days of
  交办 (the 交办 day not counted);
* ``monthly`` (云和, seed 004 二（四）「对于短期内可办结的事项，实行即办结即反馈；对于短期内不能办结的
  事项，实行一月一反馈，于每月5日前反馈办理情况」): a report by the day the item is closed, and for
  every month after the 交办 month that the item is still open on the ``day``-th, a report since the
  previous one fell due, by that day.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import ItemFact
    from .rules import ScoringRules


def reports_of(fact: ItemFact) -> list[date]:
    if fact.feedback_on:
        return sorted(fact.feedback_on)
    return [fact.first_feedback_on] if fact.first_feedback_on else []


def monthly_due_days(start: date, end: date, day: int) -> list[date]:
    """The ``day``-th of every month after ``start``'s month, up to ``end``."""
    out: list[date] = []
    y, m = start.year, start.month
    while True:
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        due = date(y, m, day)
        if due > end:
            return out
        out.append(due)


def feedback_in_time(fact: ItemFact, rules: ScoringRules | None, as_of: date) -> bool:
    reports = reports_of(fact)
    if rules is None or rules.feedback_mode == "days":
        due = fact.feedback_due
        if rules is not None and fact.assigned_on is not None:
            due = fact.assigned_on + timedelta(days=rules.feedback_days)
        return due is None or (bool(reports) and reports[0] <= due)
    # monthly: 即办结即反馈 ...
    if fact.closed_on is not None and not any(r <= fact.closed_on for r in reports):
        return False
    if fact.assigned_on is None:
        return True
    # ... and 一月一反馈 while it runs
    end = min(d for d in (fact.closed_on, as_of) if d is not None)
    since = fact.assigned_on
    for due in monthly_due_days(fact.assigned_on, end, rules.feedback_day):
        if fact.closed_on is not None and fact.closed_on <= due:
            break
        if not any(since <= r <= due for r in reports):
            return False
        since = due + timedelta(days=1)
    return True
