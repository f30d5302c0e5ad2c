"""办理评价 (A–D) as points, where a rule set says so (``[grades.<A-D>] points``).

Seed 002 (尧都) 重点工作任务督办制度 五（二）「督办系统管理事项清零后，经区政府分管副区长审定为优秀、良好
的，对承办单位给予奖励积分」; seed 000 (高平) 五「评级情况纳入年度目标责任考核」. The grade counts for the
lead unit (the 承办单位 graded), in the period the item was closed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import ItemFact, Line, Period
    from .rules import ScoringRules


def grade_lines(rules: ScoringRules, facts: list[ItemFact], period: Period, unit: str,
                line: type[Line]) -> list[Line]:
    out = []
    for fact in facts:
        row = rules.grades.get(fact.grade)
        if row is None or fact.cancelled or not fact.units or fact.units[0] != unit or fact.closed_on not in period:
            continue
        title = row.get("title") or f"办理评价 {fact.grade}"
        out.append(line(f"grade:{fact.grade}", title, float(row["points"]), fact.item_id, fact.number, fact.closed_on))
    return out
