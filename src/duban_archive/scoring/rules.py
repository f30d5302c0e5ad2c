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

from ..definitions import DefinitionError, load_checked, suggest, validate
from .schema import EVENTS, rules_schema

#: the rule set used when the ini names none (云和, seed 004)
DEFAULT_RULES = "yunhe"


@dataclass
class AdjustmentKind:
    name: str
    title: str
    points: float | None  # None: the supervisor enters the points
    category: str | None = None
    #: kinds of one ``group`` given for the same item count once, at the highest level
    #: (seed 001 附件2 一（一）9「同一事项同时被国家、省、市表彰…按最高等级认定分值」)
    group: str | None = None
    #: a condition checked when it is entered: ``no_deductions`` (the unit has no 减分 in the month)
    requires: str | None = None
    #: unit kind -> the places of that month's ranking (among units of the kind) it is for
    rank_top: dict[str, int] = field(default_factory=dict)
    #: a bonus sub-cap (``[bonus_caps]``) this kind counts against
    cap: str | None = None


@dataclass
class KeyWork:
    """Seed 003 四(二) 重点工作考核: only ``units`` are scored on ``category``; the others get
    ``missing``: ``scale`` (their other categories × full / (full − the category's max)) or ``full``."""

    category: str
    units: tuple[str, ...] = ()
    missing: str = "scale"


@dataclass
class FlagRule:
    """A mark on a unit when ``event`` happened ``count`` times in the year (or the period)."""

    name: str
    title: str
    event: str
    count: int
    scope: str = "year"


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
    bonus_caps: dict[str, float] = field(default_factory=dict)
    #: "all" (every unit's average) or "class" (the average of the unit's class in ``unit_classes``)
    satisfaction_average: str = "all"
    unit_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    key_work: KeyWork | None = None
    #: ``[feedback]``: ``days`` within ``feedback_days`` of 交办, or ``monthly`` by ``feedback_day``
    feedback_mode: str = "days"
    feedback_days: int = 3
    feedback_day: int = 5
    flags: list[FlagRule] = field(default_factory=list)
    #: ``[grades.<A-D>]``: points (for the lead unit, when the grade counts), 工作亮点 / 通报批评
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: 加（减）分事项按督查事项确定分值 (seed 001 附件2): an adjustment must name its item
    item_required: bool = False
    #: ``[[ladder]]``: (name, title, after) — 通报 → 通报批评 → 约谈 → 问责 for an overdue item
    ladder: list[tuple[str, str, str]] = field(default_factory=list)
    #: ``[[honours]]``: 年中前3 / 年终前5 lists
    honours: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    def event_title(self, name: str) -> str:
        return self.events.get(name, (EVENTS.get(name, name), 0))[0]


def compile_rules(source: str, data: dict[str, Any], checked: bool = False) -> ScoringRules:
    """A scoring rule set from a parsed file: :func:`.schema.rules_schema` first (unless
    ``checked``), then what spans keys (an adjustment's category)."""
    if not checked:
        validate(source, rules_schema(), data)
    head = data["ruleset"]
    method = head["method"]
    rules = ScoringRules(
        name=head["name"], title=head["title"], method=method, source=source,
        base=float(head.get("base", 100)),
        item_points=float(head.get("item_points", 20)),
        bonus_min=float(head.get("bonus_min", -5)),
        bonus_max=float(head.get("bonus_max", 5)),
        item_required=bool(head.get("item_required", False)),
        satisfaction_average=head.get("satisfaction_average", "all"),
        unit_classes={str(k): tuple(v) for k, v in (data.get("unit_classes") or {}).items()},
    )
    for name, row in data.get("events", {}).items():
        rules.events[name] = (str(row.get("title", EVENTS[name])), float(row.get("points", 0.0)))
    for row in data.get("categories", []):
        cat = Category(row["name"], row["title"], float(row["max"]))
        cat.events = {ev: float(pts) for ev, pts in (row.get("events") or {}).items()}
        if "satisfaction_per_point" in row:
            cat.satisfaction_per_point = float(row["satisfaction_per_point"])
        rules.categories.append(cat)
    names = {c.name for c in rules.categories} | {"bonus"}
    rules.bonus_caps = {str(k): float(v) for k, v in (data.get("bonus_caps") or {}).items()}
    for name, row in data.get("adjustments", {}).items():
        points = None if row.get("free") else float(row["points"])
        category = row.get("category")
        if method == "categories" and category not in names:
            raise DefinitionError(source, f"adjustments.{name}.category: 应为已定义的类别或 bonus"
                                          f"（可选：{', '.join(sorted(names))}）")
        cap = row.get("cap")
        if cap is not None and (category != "bonus" or cap not in rules.bonus_caps):
            raise DefinitionError(source, f"adjustments.{name}.cap: 应为 [bonus_caps] 中定义的加分上限，且类别为 bonus"
                                          f"（可选：{', '.join(sorted(rules.bonus_caps)) or '无'}）")
        if row.get("requires") not in (None, "no_deductions"):
            raise DefinitionError(source, f"adjustments.{name}.requires: 可选 no_deductions")
        rules.adjustments[name] = AdjustmentKind(name, row["title"], points, category, group=row.get("group"),
                                                 requires=row.get("requires"),
                                                 rank_top=dict(row.get("rank_top") or {}), cap=cap)
    if "key_work" in data:
        kw = data["key_work"]
        if kw["category"] not in {c.name for c in rules.categories}:
            raise DefinitionError(source, f"key_work.category: 应为已定义的类别"
                                          f"（可选：{', '.join(c.name for c in rules.categories)}）")
        rules.key_work = KeyWork(kw["category"], tuple(kw.get("units", ())), kw.get("missing", "scale"))
    fb = data.get("feedback") or {}
    rules.feedback_mode = fb.get("mode", "days")
    rules.feedback_days = int(fb.get("days", 3))
    rules.feedback_day = int(fb.get("day", 5))
    for row in data.get("flags", []):
        rules.flags.append(FlagRule(row["name"], row["title"], row["event"], int(row["count"]),
                                    row.get("scope", "year")))
    rules.grades = {k: dict(v) for k, v in (data.get("grades") or {}).items()}
    rules.ladder = [(row["name"], row["title"], row["after"]) for row in data.get("ladder", [])]
    rules.honours = [dict(row) for row in data.get("honours", [])]
    return rules


#: where a site profile keeps its scoring rule sets (``rules/`` belongs to the reminder rules)
PROFILE_FOLDER = "scoring/rules"


def load_scoring_rules(profile_dir: str | Path | None = None) -> dict[str, ScoringRules]:
    found = load_checked("duban_archive.scoring", "rules", profile_dir, rules_schema,
                         profile_folder=PROFILE_FOLDER)
    out = {}
    for source, data in found.values():
        rules = compile_rules(source, data, checked=True)
        out[rules.name] = rules
    return out


def check_choice(all_rules: dict[str, ScoringRules], chosen: str | None) -> str | None:
    """Why the ini's ``duban.scoring_rules`` cannot be used (None when it can); unset means the default."""
    name = (chosen or DEFAULT_RULES).strip()
    if name in all_rules:
        return None
    close = suggest(name, all_rules)
    hint = f"是否应为 {close}？" if close else ""
    return f"未知的计分规则 '{name}'（{hint}可选：{'、'.join(sorted(all_rules))}）"
