"""Unit scoring rule sets as data (``rules/*.toml``; one chosen by ``duban.scoring_rules``).

Three methods cover the seeds:

* ``additive`` (云和, seed 004): base + automatic events + adjustments;
* ``efficacy`` (三门峡, seed 001): completed / total points × 100 × 功效系数
  (0.5 + items / most items × 0.5) + adjustments;
* ``categories`` (宿州, seed 003): categories with a maximum each, deductions
  floored at zero ("扣完为止"), plus a bonus clamped to ±5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..definitions import DefinitionError, load_definitions, require

METHODS = ("additive", "efficacy", "categories")
EVENTS = {
    "on_time": "按时办结并按时反馈",
    "early": "提前办结",
    "feedback_late": "按时办结但未按时反馈",
    "unfinished": "未按时完成",
    "late_notice": "进度滞后被通报",
    "sign_late": "超时签收",
    "overdue": "超期未办结",
    "escalation1": "一级督办",
    "escalation2": "二级督办",
    "escalation3": "三级督办",
}


@dataclass
class AdjustmentKind:
    name: str
    title: str
    points: float | None  # None: the supervisor enters the points
    category: str | None = None


@dataclass
class Category:
    name: str
    title: str
    max: float
    events: dict[str, float] = field(default_factory=dict)
    satisfaction_per_point: float | None = None


@dataclass
class ScoringRules:
    name: str
    title: str
    method: str
    base: float = 100.0
    item_points: float = 20.0
    events: dict[str, tuple[str, float]] = field(default_factory=dict)  # name -> (title, points)
    adjustments: dict[str, AdjustmentKind] = field(default_factory=dict)
    categories: list[Category] = field(default_factory=list)
    bonus_min: float = -5.0
    bonus_max: float = 5.0
    source: str = ""

    def event_title(self, name: str) -> str:
        return self.events.get(name, (EVENTS.get(name, name), 0))[0]


def _num(source: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DefinitionError(source, f"'{where}' 应为数字，实为 {value!r}")
    return float(value)


def compile_rules(source: str, data: dict[str, Any]) -> ScoringRules:
    head = require(source, data, "ruleset", dict)
    method = require(source, head, "method", str, "ruleset")
    if method not in METHODS:
        raise DefinitionError(source, f"'ruleset.method' 应为 {'、'.join(METHODS)} 之一，实为 {method!r}")
    rules = ScoringRules(
        name=require(source, head, "name", str, "ruleset"),
        title=require(source, head, "title", str, "ruleset"),
        method=method, source=source,
        base=_num(source, head.get("base", 100), "ruleset.base"),
        item_points=_num(source, head.get("item_points", 20), "ruleset.item_points"),
        bonus_min=_num(source, head.get("bonus_min", -5), "ruleset.bonus_min"),
        bonus_max=_num(source, head.get("bonus_max", 5), "ruleset.bonus_max"),
    )
    for name, row in data.get("events", {}).items():
        if name not in EVENTS:
            raise DefinitionError(source, f"'events.{name}' 不是已知的自动计分事件（{'、'.join(EVENTS)}）")
        points = _num(source, row["points"], f"events.{name}.points") if "points" in row else 0.0
        rules.events[name] = (str(row.get("title", EVENTS[name])), points)
    for i, row in enumerate(data.get("categories", [])):
        w = f"categories[{i}]"
        cat = Category(require(source, row, "name", str, w), require(source, row, "title", str, w),
                       _num(source, row.get("max"), f"{w}.max"))
        for ev, pts in (row.get("events") or {}).items():
            if ev not in EVENTS:
                raise DefinitionError(source, f"'{w}.events.{ev}' 不是已知的自动计分事件")
            cat.events[ev] = _num(source, pts, f"{w}.events.{ev}")
        if "satisfaction_per_point" in row:
            cat.satisfaction_per_point = _num(source, row["satisfaction_per_point"], f"{w}.satisfaction_per_point")
        rules.categories.append(cat)
    names = {c.name for c in rules.categories} | {"bonus"}
    for name, row in data.get("adjustments", {}).items():
        w = f"adjustments.{name}"
        points = None if row.get("free") else _num(source, row.get("points"), f"{w}.points")
        category = row.get("category")
        if method == "categories" and category not in names:
            raise DefinitionError(source, f"'{w}.category' 应为已定义的类别或 bonus")
        rules.adjustments[name] = AdjustmentKind(name, require(source, row, "title", str, w), points, category)
    if method == "categories" and not rules.categories:
        raise DefinitionError(source, "method = \"categories\" 需要至少一个 [[categories]]")
    return rules


def load_scoring_rules(profile_dir: str | Path | None = None) -> dict[str, ScoringRules]:
    found = load_definitions("duban_archive.scoring", "rules", profile_dir)
    out = {}
    for source, data in found.values():
        rules = compile_rules(source, data)
        out[rules.name] = rules
    return out
