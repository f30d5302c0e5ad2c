"""Which entered adjustments count, and how much (seed 001 附件2).

* ``group``: 「同一事项同时被国家、省、市表彰或通报表扬的按最高等级认定分值」 (一（一）9, and 二（一）9 for
  批评): of the adjustments of one group given to one unit for the same item, only the highest level
  (largest absolute value) counts; the others are listed with 0 points and the reason.
* ``requires = "no_deductions"``: 「月排名通报…且无减分事项的加10分」 (一（一）10): counts only when
  the unit has no 减分 in the same month (a 减分 entered later takes it back, with the reason).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Adjustment
    from .rules import ScoringRules


def counted(rules: ScoringRules, adjustments: list[Adjustment]) -> list[tuple[Adjustment, float, str]]:
    """(adjustment, points counted, why it counts less) for one unit's adjustments of a period."""
    best: dict[tuple[str, str], Adjustment] = {}
    for a in adjustments:
        kind = rules.adjustments.get(a.kind)
        if kind is not None and kind.group and a.item_id:
            key = (kind.group, a.item_id)
            if key not in best or abs(a.points) > abs(best[key].points):
                best[key] = a
    out = []
    for a in adjustments:
        kind = rules.adjustments.get(a.kind)
        points, why = a.points, ""
        if kind is not None and kind.group and a.item_id and best[(kind.group, a.item_id)] is not a:
            top = best[(kind.group, a.item_id)]
            points, why = 0.0, f"同一事项按最高等级认定（已计 {top.points:+g} 分）"
        elif kind is not None and kind.requires == "no_deductions":
            minus = [b for b in adjustments if b.points < 0 and (b.day.year, b.day.month) == (a.day.year, a.day.month)]
            if minus:
                points, why = 0.0, f"当月有减分事项（{len(minus)} 项），不加分"
        out.append((a, points, why))
    return out


def deductions_in_month(adjustments: list[Adjustment], unit: str, year: int, month: int) -> list[Adjustment]:
    return [a for a in adjustments if a.unit == unit and a.points < 0 and (a.day.year, a.day.month) == (year, month)]
