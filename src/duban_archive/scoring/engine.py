"""Scoring units for a month, quarter or year, with the breakdown of every point.

Facts are read from the items (history, feedback, deadlines) into plain
:class:`ItemFact` records first, so the arithmetic can be checked against
hand-computed examples from the seeds without building items.  An item
counts in the period its 办结时限 falls in (so it is counted once); dated
events (督办, 通报, adjustments) count in the period they happened.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..timeutil import as_cst, today
from .rules import ScoringRules


@dataclass(frozen=True)
class Period:
    key: str
    title: str
    start: date
    end: date  # inclusive

    def __contains__(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def parse_period(text: str) -> Period:
    """``2026-05`` (月), ``2026-Q2`` (季度) or ``2026`` (年度)."""
    text = (text or "").strip().upper()
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError("月份应为 1–12")
        return Period(f"{y}-{mo:02d}", f"{y}年{mo}月", date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]))
    m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
    if m:
        y, q = int(m.group(1)), int(m.group(2))
        last = q * 3
        return Period(f"{y}-Q{q}", f"{y}年第{'一二三四'[q - 1]}季度", date(y, last - 2, 1),
                      date(y, last, calendar.monthrange(y, last)[1]))
    m = re.fullmatch(r"(\d{4})-H([12])", text)
    if m:  # 半年 (seed 001 年中考核)
        y, h = int(m.group(1)), int(m.group(2))
        return Period(f"{y}-H{h}", f"{y}年{'上下'[h - 1]}半年", date(y, 6 * h - 5, 1),
                      date(y, 6 * h, 30 if h == 1 else 31))
    m = re.fullmatch(r"(\d{4})", text)
    if m:
        y = int(m.group(1))
        return Period(str(y), f"{y}年度", date(y, 1, 1), date(y, 12, 31))
    raise ValueError("考核期间格式应为 2026-05（月）、2026-Q2（季度）、2026-H1（半年）或 2026（年度）")


@dataclass
class ItemFact:
    item_id: str
    number: str
    title: str
    units: tuple[str, ...]
    deadline: date | None = None
    closed_on: date | None = None
    cancelled: bool = False
    feedback_due: date | None = None
    first_feedback_on: date | None = None
    escalations: list[tuple[date, int]] = field(default_factory=list)
    sign_late: bool = False
    sign_due: date | None = None
    #: 12345: the caller was still dissatisfied at the second evaluation
    dissatisfied: bool = False
    visited: bool = False
    #: every report's date and the 交办 date (the rule set's ``[feedback]`` switch reads them)
    feedback_on: tuple[date, ...] = ()
    assigned_on: date | None = None
    #: the 办理评价 given on 办结 (A–D), "" when none
    grade: str = ""
    #: events charged to one unit whichever units the item has now: ``(event, unit, day)`` (12345 不当退单)
    unit_events: list[tuple[str, str, date]] = field(default_factory=list)

    @property
    def counting_day(self) -> date | None:
        return self.deadline or self.closed_on


@dataclass
class Adjustment:
    unit: str
    kind: str
    points: float
    day: date
    note: str = ""
    item_id: str = ""
    adj_id: str = ""


@dataclass
class Line:
    rule: str
    title: str
    points: float
    item: str = ""
    number: str = ""
    day: date | None = None
    category: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "title": self.title, "points": _round(self.points), "item": self.item or None,
                "number": self.number or None, "date": self.day.isoformat() if self.day else None,
                "category": self.category or None}


@dataclass
class UnitScore:
    unit: str
    title: str
    score: float = 0.0
    items: int = 0
    completed: int = 0
    lines: list[Line] = field(default_factory=list)
    categories: dict[str, float] = field(default_factory=dict)
    rank: int = 0
    #: ``[[flags]]`` marks (e.g. 建议取消当年评优评先资格), each with the items that caused it
    flags: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"unit": self.unit, "title": self.title, "score": _round(self.score), "rank": self.rank,
                "items": self.items, "completed": self.completed,
                "categories": {k: _round(v) for k, v in self.categories.items()},
                "breakdown": [ln.as_json() for ln in self.lines], "flags": self.flags}


def _round(x: float) -> float:
    return round(x + 0.0, 2)


def score_units(rules: ScoringRules, period: Period, facts: list[ItemFact], adjustments: list[Adjustment],
                unit_titles: dict[str, str], as_of: date | None = None) -> list[UnitScore]:
    """Ranking (best first) of every unit with items or adjustments in the period."""
    as_of = min(as_of or today(), period.end)
    scores: dict[str, UnitScore] = {}

    def unit(u: str) -> UnitScore:
        if u not in scores:
            scores[u] = UnitScore(u, unit_titles.get(u, u))
        return scores[u]

    events: dict[str, list[tuple[str, ItemFact, date | None]]] = {}
    for fact in facts:
        if fact.cancelled:
            continue
        for u in fact.units:
            for ev, day in item_events(fact, period, as_of, rules):
                events.setdefault(u, []).append((ev, fact, day))
            if fact.counting_day in period:
                us = unit(u)
                us.items += 1
                if fact.closed_on is not None and fact.closed_on <= as_of:
                    us.completed += 1
        for ev, u, day in fact.unit_events:
            if day in period:
                events.setdefault(u, []).append((ev, fact, day))
    adj_by_unit: dict[str, list[Adjustment]] = {}
    for a in adjustments:
        if a.day in period:
            adj_by_unit.setdefault(a.unit, []).append(a)
            unit(a.unit)
    for u in events:
        unit(u)

    if rules.method == "additive":
        for us in scores.values():
            us.lines.append(Line("base", "基准分", rules.base))
            for ev, fact, day in events.get(us.unit, []):
                if ev in rules.events and rules.events[ev][1]:
                    title, pts = rules.events[ev]
                    us.lines.append(Line(ev, title, pts, fact.item_id, fact.number, day))
            if rules.grades:
                from .grades import grade_lines

                us.lines.extend(grade_lines(rules, facts, period, us.unit, Line))
            _add_adjustments(rules, us, adj_by_unit.get(us.unit, []))
            us.score = sum(ln.points for ln in us.lines)
    elif rules.method == "efficacy":
        most = max((us.items for us in scores.values()), default=0)
        for us in scores.values():
            if us.items:
                coef = 0.5 + us.items / most * 0.5
                total = us.items * rules.item_points
                done = us.completed * rules.item_points
                pts = done / total * 100 * coef
                us.lines.append(Line("efficacy", f"督查事项得分：完成 {done:g}/{total:g} 分 × 100 × 功效系数 "
                                     f"{coef:.4g}（0.5 + {us.items}/{most} × 0.5）", pts))
            _add_adjustments(rules, us, adj_by_unit.get(us.unit, []))
            us.score = sum(ln.points for ln in us.lines)
    else:
        _categories(rules, scores, events, adj_by_unit, facts, period)
    if rules.flags:
        from .flags import unit_flags

        for u, marks in unit_flags(rules, facts, period, as_of, item_events).items():
            unit(u).flags = marks
    ranking = sorted(scores.values(), key=lambda s: (-round(s.score, 6), s.unit))
    for i, us in enumerate(ranking):
        us.rank = i + 1 if i == 0 or round(us.score, 6) != round(ranking[i - 1].score, 6) else ranking[i - 1].rank
    return ranking


def item_events(fact: ItemFact, period: Period, as_of: date,
                rules: ScoringRules | None = None) -> list[tuple[str, date | None]]:
    out: list[tuple[str, date | None]] = []
    if fact.deadline is not None and fact.deadline in period:
        closed_on = fact.closed_on
        if closed_on is not None and closed_on <= fact.deadline:  # closed in time
            from .feedback import feedback_in_time

            if feedback_in_time(fact, rules, as_of):
                out.append(("on_time", closed_on))
                if closed_on < fact.deadline:
                    out.append(("early", closed_on))
            else:
                out.append(("feedback_late", closed_on))
        elif fact.deadline < as_of:
            out.append(("unfinished", fact.deadline))
            out.append(("overdue", fact.deadline))
    for day, level in fact.escalations:
        if day in period:
            out.append(("late_notice", day))
            out.append((f"escalation{level}", day))
    if fact.sign_late and fact.sign_due in period:
        out.append(("sign_late", fact.sign_due))
    return out


def _add_adjustments(rules: ScoringRules, us: UnitScore, adjustments: list[Adjustment]) -> None:
    from .levels import counted

    for a, points, why in counted(rules, adjustments):
        kind = rules.adjustments.get(a.kind)
        title = kind.title if kind else a.kind
        us.lines.append(Line(f"adj:{a.kind}", title + (f"（{a.note}）" if a.note else "") + (f"：{why}" if why else ""),
                             points, a.item_id, "", a.day, kind.category or "" if kind else ""))


def _categories(rules: ScoringRules, scores: dict[str, UnitScore], events, adj_by_unit, facts, period) -> None:
    rates: dict[str, float] = {}
    for u in scores:
        visited = [f for f in facts if u in f.units and f.visited and f.counting_day in period]
        if visited:
            rates[u] = (1 - sum(f.dissatisfied for f in visited) / len(visited)) * 100
    def group(u: str) -> str:
        if rules.satisfaction_average != "class":
            return ""
        title = scores[u].title
        return next((c for c, members in rules.unit_classes.items() if u in members or title in members), "*")

    groups: dict[str, list[float]] = {}
    for u, r in rates.items():
        groups.setdefault(group(u), []).append(r)
    averages = {g: sum(rs) / len(rs) for g, rs in groups.items()}
    kw = rules.key_work
    from .levels import counted

    for us in scores.values():
        exempt = kw is not None and us.unit not in kw.units and us.title not in kw.units
        # (adjustment, points counted, why less): a rule set's group / requires switches (seed 001)
        adjusted = counted(rules, adj_by_unit.get(us.unit, []))
        for cat in rules.categories:
            if exempt and kw is not None and cat.name == kw.category and kw.missing == "scale":
                continue  # 合理缺项: scaled below
            lines: list[Line] = []
            for ev, fact, day in events.get(us.unit, []):
                if ev in cat.events:
                    lines.append(Line(ev, rules.event_title(ev), cat.events[ev], fact.item_id, fact.number, day,
                                      cat.name))
            average = averages.get(group(us.unit)) if us.unit in rates else None
            if cat.satisfaction_per_point and average is not None and us.unit in rates:
                below = math.floor(average - rates[us.unit] + 1e-9)
                if below > 0:
                    lines.append(Line("satisfaction", f"满意率 {rates[us.unit]:.1f}% 低于平均 {average:.1f}% "
                                      f"{below} 个百分点", -below * cat.satisfaction_per_point, category=cat.name))
            for a, points, why in adjusted:
                kind = rules.adjustments.get(a.kind)
                if kind is not None and kind.category == cat.name:
                    lines.append(Line(f"adj:{a.kind}", kind.title + (f"（{a.note}）" if a.note else "")
                                      + (f"：{why}" if why else ""), points, a.item_id, "", a.day, cat.name))
            deducted = sum(ln.points for ln in lines)
            got = max(0.0, min(cat.max, cat.max + deducted))
            us.categories[cat.name] = got
            us.lines.append(Line(f"cat:{cat.name}", f"{cat.title}（满分 {cat.max:g}）", cat.max, category=cat.name))
            us.lines.extend(lines)
            if got != cat.max + deducted:  # 扣完为止
                us.lines.append(Line("floor", f"{cat.title} 扣完为止", got - (cat.max + deducted), category=cat.name))
        if exempt and kw is not None and kw.missing == "scale":
            _scale_for_key_work(rules, us, kw.category)
        bonus_adjustments = [(a, points, why) for a, points, why in adjusted
                             if a.kind in rules.adjustments and rules.adjustments[a.kind].category == "bonus"]
        bonus_lines = [Line(f"adj:{a.kind}", rules.adjustments[a.kind].title + (f"（{a.note}）" if a.note else "")
                            + (f"：{why}" if why else ""), points, a.item_id, "", a.day, "bonus")
                       for a, points, why in bonus_adjustments]
        for cap, most in rules.bonus_caps.items():  # 累计不超过 … 分
            got = sum(points for a, points, _ in bonus_adjustments if rules.adjustments[a.kind].cap == cap)
            if got > most:
                bonus_lines.append(Line("bonus_subcap", f"{cap} 类加分累计不超过 {most:g} 分", most - got,
                                        category="bonus"))
        bonus = sum(ln.points for ln in bonus_lines)
        clamped = max(rules.bonus_min, min(rules.bonus_max, bonus))
        us.lines.extend(bonus_lines)
        if clamped != bonus:
            us.lines.append(Line("bonus_cap", f"附加考核以 ±{rules.bonus_max:g} 分为限", clamped - bonus,
                                 category="bonus"))
        us.categories["bonus"] = clamped
        us.score = sum(us.categories.values())


def _scale_for_key_work(rules: ScoringRules, us: UnitScore, key: str) -> None:
    """Seed 003 三: 「非重点工作责任单位以合理缺项按比例折算分值」 — the other categories × full / their maximum."""
    others = sum(c.max for c in rules.categories if c.name != key)
    full = sum(c.max for c in rules.categories)
    got = sum(v for k, v in us.categories.items() if k != key)
    scaled = got * full / others if others else got
    us.categories[key] = scaled - got
    us.lines.append(Line("key_work_scale", f"非重点工作责任单位，合理缺项按比例折算：{got:g} × {full:g}/{others:g}",
                         scaled - got, category=key))


# -- facts from the site -------------------------------------------------
def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return as_cst(value).date()
    if isinstance(value, date):
        return value
    return None


def fact_for(item, feedback_days: int = 3) -> ItemFact:
    """What scoring needs to know about one item (plain data)."""
    history = list(item.history)
    closed_on = cancelled = None
    assigned = None
    signed = None
    escalations: list[tuple[date, int]] = []
    redo = 0
    for e in history:
        t = e.get("transition")
        when = _day(e.get("time"))
        if t in ("assign", "dispatch") and assigned is None:
            assigned = as_cst(e["time"])
        elif t in ("accept", "deemed_accepted") and signed is None:
            signed = as_cst(e["time"])
        elif t == "close":
            closed_on = when
        elif t == "cancel":
            cancelled = True
        elif t == "escalate" and when is not None:  # an undated one would count in no period
            escalations.append((when, int((e.get("fields") or {}).get("level", 1))))
        elif t == "redo":
            redo += 1
    feedback_days_list = sorted(d for d in (_day(getattr(f, "created", None)) for f in item.feedback.values())
                                if d is not None)
    sign_late = False
    sign_due = None
    if assigned is not None and item.board_id == "hotline":
        from ..notifications.reminders import sign_by
        from ..workflows.calendar import WorkCalendar

        due = sign_by(getattr(item, "dispatched_at", None) or assigned, WorkCalendar())
        sign_due = due.date()
        sign_late = (signed or datetime.max.replace(tzinfo=due.tzinfo)) > due
    satisfaction = getattr(item, "satisfaction", None)
    fact = ItemFact(
        item_id=item.item_id, number=item.number, title=item.title, units=tuple(item.units),
        deadline=_day(getattr(item, "deadline", None)), closed_on=closed_on, cancelled=bool(cancelled),
        feedback_due=(assigned.date() + timedelta(days=feedback_days)) if assigned else None,
        first_feedback_on=feedback_days_list[0] if feedback_days_list else None,
        escalations=escalations, sign_late=sign_late, sign_due=sign_due,
        dissatisfied=satisfaction == "dissatisfied" and redo >= 1, visited=satisfaction is not None,
        feedback_on=tuple(feedback_days_list), assigned_on=assigned.date() if assigned else None,
        grade=str(getattr(item, "grade", "") or ""),
    )
    if item.board_id == "hotline":  # seed 003: the ticket's own clocks and 不当退单
        from .hotline import ticket_fact

        ticket_fact(item, fact)
    return fact


def site_facts(site) -> list[ItemFact]:
    return [fact_for(item) for item in site.item_index.values() if item.state not in ("registered", "approved")]
