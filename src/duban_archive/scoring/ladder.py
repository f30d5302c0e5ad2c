"""三门峡 (seed 001 四（二）4) 整改阶梯 for an item not finished by its deadline:

「对无特殊原因，未按规定时限要求完成督查事项的责任单位，首次予以全市通报，限5个工作日内完成整改；
5个工作日内仍未完成整改的，予以通报批评并通过媒体曝光；媒体曝光之日起5个工作日内仍未完成整改的，
由市政府领导同志约谈责任单位，并责令其作出书面承诺；约谈后5个工作日内仍未达到书面承诺要求的，
由市政府督查室提请市政府启动问责程序。」

The rule set's ``[[ladder]]`` rows say each step and how long after the previous one (the deadline
for the first) it is reached: ``after = "P1D"`` (the day after the deadline) then ``"5WD"`` — the
step is reached on the day after the 5th working day following the previous step (the previous
step's own day not counted), unless the item was closed before.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import ItemFact
    from .rules import ScoringRules


def ladder(rules: ScoringRules, fact: ItemFact, calendar, as_of: date) -> list[dict[str, Any]]:
    """The steps ``fact`` has reached by ``as_of`` (with their day and the day it must be rectified by)."""
    from ..notifications.durations import parse_duration

    if not rules.ladder or fact.deadline is None or fact.cancelled:
        return []
    out: list[dict[str, Any]] = []
    previous = fact.deadline
    for i, (name, title, after) in enumerate(rules.ladder):
        dur = parse_duration(after)
        if dur.working_days:
            # reached the day after the rectification window ends
            reached = calendar.add_working_days(previous, dur.working_days) + timedelta(days=1)
        else:
            reached = previous + dur.delta + timedelta(days=30 * dur.months)
        if reached > as_of or (fact.closed_on is not None and fact.closed_on < reached):
            break
        nxt = rules.ladder[i + 1] if i + 1 < len(rules.ladder) else None
        rectify_by = None
        if nxt is not None:
            nd = parse_duration(nxt[2])
            rectify_by = calendar.add_working_days(reached, nd.working_days) if nd.working_days else None
        out.append({"step": name, "title": title, "date": reached, "rectify_by": rectify_by,
                    "item": fact.item_id, "number": fact.number, "units": fact.units})
        previous = reached
    return out
