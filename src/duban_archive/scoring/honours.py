"""三门峡 (seed 001 四（二）3) 年中 / 年终 通报表扬 lists: 「年中考核：督查事项全部完成的责任单位，按照
分值从高到低排序取前3名予以通报表扬。年终考核：督查事项全部完成的责任单位，按照分值从高到低排序取前5名
予以通报表扬。」 ``[[honours]]`` rows: ``period = "H1"`` (1–6 月) or ``"year"``, ``top``,
``all_completed``. Ties at the cut are all named (same score, same rank).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Period, UnitScore
    from .rules import ScoringRules


def honour_period(row: dict[str, Any], year: int) -> str:
    return f"{year}-H1" if row["period"] == "H1" else str(year)


def honours(rules: ScoringRules, period: Period, ranking: list[UnitScore]) -> list[dict[str, Any]]:
    """The lists whose period is ``period`` (a ranking of 2026-H1 gives 年中前3)."""
    out = []
    for row in rules.honours:
        if honour_period(row, period.start.year) != period.key:
            continue
        eligible = [u for u in ranking if u.items and (u.completed == u.items or not row.get("all_completed", True))]
        named: list[UnitScore] = []
        for u in eligible:
            if len(named) >= row["top"] and round(u.score, 6) != round(named[-1].score, 6):
                break
            named.append(u)
        out.append({"name": row["name"], "title": row["title"], "top": row["top"],
                    "units": [{"unit": u.unit, "title": u.title, "score": round(u.score, 2)} for u in named],
                    "left_out": [{"unit": u.unit, "title": u.title,
                                  "why": f"督查事项未全部完成（{u.completed}/{u.items}）"}
                                 for u in ranking if u.items and u not in eligible]})
    return out
