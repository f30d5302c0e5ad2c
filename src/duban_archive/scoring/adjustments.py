"""加扣分 (表扬、批评、批示 …) entered by 督查室: the one operation behind
``POST /api/v1/scores/adjustments`` and the ``/scores`` page's form.

:func:`add_adjustment` validates the whole entry against the chosen rule set (Chinese messages,
field by field) and raises :class:`~duban_archive.errors.Refusal` (400) before writing; otherwise
it stores it in the score book and audit-logs it.  Who may enter one (``manage_rules`` on the
site) is the caller's permission check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ..audit.log import record
from ..errors import Refusal
from ..timeutil import today
from . import scoring_rules
from .book import get_book

FIELDS = frozenset({"unit", "kind", "points", "date", "note", "item"})
NOTE_MAX = 500
POINTS_RANGE = (-100, 100)


def add_adjustment(site, registry, data: Mapping[str, Any], actor: str) -> str:
    """Validate and store one adjustment under the deployment's rule set; returns its id."""
    rules = scoring_rules(registry)
    fields: dict[str, str] = {}
    for k in set(data) - FIELDS:
        fields[k] = "未知字段"
    unit = data.get("unit")
    if not isinstance(unit, str) or unit not in site["units"]:
        fields["unit"] = "承办单位不存在"
    kind = rules.adjustments.get(data.get("kind") or "")
    if kind is None:
        fields["kind"] = f"可选：{'、'.join(rules.adjustments)}"
    points: float | None = None
    if kind is not None:
        if kind.points is None:
            given: Any = data.get("points")
            try:
                points = float(given)
            except (TypeError, ValueError):
                fields["points"] = "此类加扣分须填写分值（数字，扣分为负数）"
            else:
                if not POINTS_RANGE[0] <= points <= POINTS_RANGE[1]:
                    fields["points"] = "分值应在 -100 到 100 之间"
        else:
            points = kind.points
    day: date | None
    try:
        day = date.fromisoformat(data["date"]) if data.get("date") else today()
    except (TypeError, ValueError):
        fields["date"] = "日期格式应为 2026-05-06"
        day = None
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        fields["note"] = f"说明不能超过 {NOTE_MAX} 个字符"
    item_id = data.get("item") or ""
    if not isinstance(item_id, str):
        fields["item"], item_id = "事项编号应为字符串", ""
    elif item_id and site.get_item(item_id) is None:
        fields["item"] = "事项不存在"
    elif not item_id and rules.item_required:
        fields["item"] = "加（减）分事项按督查事项确定分值，与督查事项无关的不加（减）分：请填写事项编号"
    if (kind is not None and kind.requires == "no_deductions" and day is not None and isinstance(unit, str)
            and "unit" not in fields):
        from .levels import deductions_in_month

        book = site.get("scoring")  # read only: a refusal writes nothing
        minus = deductions_in_month(book.adjustments(rules.name), unit, day.year, day.month) if book else []
        if minus:
            named = "、".join(rules.adjustments[m.kind].title if m.kind in rules.adjustments else m.kind
                             for m in minus)
            fields["kind"] = (f"{kind.title}须无减分事项：该单位{day.year}年{day.month}月"
                              f"已有减分 {len(minus)} 项（{named}）")
    if kind is not None and kind.rank_top and day is not None and isinstance(unit, str) and not fields:
        problem = _rank_problem(site, rules, kind, unit, day)
        if problem:
            fields["kind"] = problem
    if fields:
        raise Refusal("填写内容有误", fields)
    assert isinstance(unit, str) and kind is not None and points is not None and day is not None
    key = get_book(site).add(unit=unit, kind=kind.name, points=points, day=day, note=note.strip(), actor=actor,
                             item_id=item_id, ruleset=rules.name)
    record(site, "edit", actor, item_id, what="score_adjustment", unit=unit, kind=kind.name, points=points)
    return key


KIND_TITLES = {"county": "县（市、区）", "department": "市直单位", "township": "乡镇（街道）", "office": "办公室"}


def _rank_problem(site, rules, kind, unit: str, day: date) -> str | None:
    """``rank_top``: the unit must be within the first N of its kind in that month's ranking
    (seed 001 附件2 一（一）10「县（市、区）前三名、市直单位前六名」; ties share a place)."""
    from .ranking import rank

    unit_kind = getattr(site["units"][unit], "kind", "")
    top = kind.rank_top.get(unit_kind)
    if top is None:
        allowed = "、".join(f"{KIND_TITLES.get(k, k)}前{n}名" for k, n in kind.rank_top.items())
        return f"{kind.title}仅限{allowed}"
    _, ranking = rank(site, rules, f"{day.year}-{day.month:02d}")
    same = [u for u in ranking if getattr(site["units"].get(u.unit), "kind", "") == unit_kind]
    place = None
    for u in same:
        if u.unit == unit:
            place = 1 + next(j for j, v in enumerate(same) if round(v.score, 6) == round(u.score, 6))
            break
    if place is None or place > top:
        where = f"第 {place} 名" if place else "未参加排名"
        return (f"{kind.title}：该单位{day.year}年{day.month}月在{KIND_TITLES.get(unit_kind, unit_kind)}中{where}，"
                f"不在前{top}名")
    return None
