"""Marks on a unit from counted events (``[[flags]]`` of a rule set).

云和 (seed 004 三（二）): 「年度内同一单位如出现 3 次没有按时办结且无正当理由的，建议取消当年评优评先
资格」 — ``event = "unfinished"``, ``count = 3``, ``scope = "year"``: counted over the calendar year
of the period up to the day scored, whichever period is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import ItemFact, Period
    from .rules import ScoringRules


def unit_flags(rules: ScoringRules, facts: list[ItemFact], period: Period, as_of: date,
               item_events: Callable[..., list[tuple[str, date | None]]]) -> dict[str, list[dict[str, Any]]]:
    """``item_events`` is :func:`.engine.item_events` (passed in: this module is imported by the engine)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for flag in rules.flags:
        scope = period
        if flag.scope == "year":
            y = period.start.year
            scope = type(period)(str(y), f"{y}年度", date(y, 1, 1), date(y, 12, 31))
        counted: dict[str, list[str]] = {}
        for fact in facts:
            if fact.cancelled:
                continue
            hits = [ev for ev, _ in item_events(fact, scope, min(as_of, scope.end), rules) if ev == flag.event]
            for u in fact.units:
                counted.setdefault(u, []).extend(fact.number for _ in hits)
            for ev, u, day in fact.unit_events:  # charged to one unit (12345 不当退单)
                if ev == flag.event and day in scope and day <= as_of:
                    counted.setdefault(u, []).append(fact.number)
        for unit, numbers in counted.items():
            if len(numbers) >= flag.count:
                out.setdefault(unit, []).append({
                    "name": flag.name, "title": flag.title, "count": len(numbers), "threshold": flag.count,
                    "items": numbers, "scope": scope.title})
    return out
