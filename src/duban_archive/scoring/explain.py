"""规则核对: every point of one unit's score in one period, with the rule and the item behind it.

One function for the three ways a 督查室 checks a score by hand — the HTML page
``/scores/@@explain``, ``GET /api/v1/scores/explain`` and ``duban-archive explain-score`` — so they
cannot disagree. Each line names the rule (its key in the rule file and the file), the item
(number and title) and the date that put it in the period; the lines add up to the score, which
the answer checks (``"balanced"``). Flags, the 整改阶梯 (rule sets with ``[[ladder]]``) and the
unit's items of the period with what each contributed are listed too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..errors import Refusal
from ..timeutil import today
from .engine import Period, parse_period, score_units, site_facts
from .rules import ScoringRules


def rule_ref(rules: ScoringRules, rule: str) -> str:
    """Where a breakdown line's rule is written (the rule file key)."""
    if rule == "base":
        return "ruleset.base"
    if rule == "efficacy":
        return "ruleset.item_points（功效系数法）"
    if rule.startswith("adj:"):
        return f"adjustments.{rule[4:]}"
    if rule.startswith("grade:"):
        return f"grades.{rule[6:]}"
    if rule.startswith("cat:"):
        return f"categories.{rule[4:]}"
    fixed = {"floor": "categories（扣完为止）", "bonus_cap": "ruleset.bonus_min / bonus_max",
             "satisfaction": "categories.satisfaction_per_point", "bonus_subcap": "bonus_caps",
             "key_work_scale": "key_work.missing（合理缺项按比例折算）"}
    if rule in fixed:
        return fixed[rule]
    return f"events.{rule}"


def explain(site, rules: ScoringRules, unit: str, period_text: str, as_of: date | None = None,
            calendar=None) -> dict[str, Any]:
    """The whole account of ``unit``'s score in ``period_text`` (raises :class:`Refusal` on bad input)."""
    fields = {}
    units = site["units"]
    if not unit or unit not in units:
        fields["unit"] = "承办单位不存在"
    try:
        period: Period | None = parse_period(period_text)
    except ValueError as exc:
        fields["period"], period = str(exc), None
    if fields:
        raise Refusal("无法核对得分", fields, status=404 if set(fields) == {"unit"} else 400)
    assert period is not None
    from .book import get_book

    titles = {u.unit_id: u.title for u in units.values()}
    adjustments = get_book(site).adjustments(rules.name) if "scoring" in site else []
    facts = site_facts(site)
    ranking = score_units(rules, period, facts, adjustments, titles, as_of)
    mine = next((u for u in ranking if u.unit == unit), None)
    numbers = {f.item_id: f for f in facts}
    lines = []
    for ln in mine.lines if mine is not None else []:
        fact = numbers.get(ln.item)
        lines.append({**ln.as_json(), "rule_ref": rule_ref(rules, ln.rule),
                      "number": ln.number or (fact.number if fact else None),
                      "item_title": fact.title if fact else None})
    total = round(sum(ln["points"] for ln in lines), 2)
    score = round(mine.score, 2) if mine is not None else None
    items = []
    for f in facts:
        if unit in f.units and not f.cancelled and (f.counting_day in period or any(
                ln["item"] == f.item_id for ln in lines)):
            items.append({"item": f.item_id, "number": f.number, "title": f.title,
                          "role": "主办" if f.units and f.units[0] == unit else "协办",
                          "deadline": f.deadline.isoformat() if f.deadline else None,
                          "closed_on": f.closed_on.isoformat() if f.closed_on else None,
                          "first_feedback_on": f.first_feedback_on.isoformat() if f.first_feedback_on else None,
                          "grade": f.grade or None,
                          "points": round(sum(ln["points"] for ln in lines if ln["item"] == f.item_id), 2)})
    ladder_steps = []
    if rules.ladder:
        from ..workflows.calendar import WorkCalendar
        from .ladder import ladder

        cal = calendar or WorkCalendar.for_site(site)
        when = min(as_of or today(), period.end)
        for f in facts:
            if f.units and f.units[0] == unit:
                for step in ladder(rules, f, cal, when):
                    if step["date"] in period:
                        ladder_steps.append({**step, "date": step["date"].isoformat(),
                                             "rectify_by": step["rectify_by"].isoformat() if step["rectify_by"]
                                             else None, "units": list(step["units"])})
    return {"unit": unit, "unit_title": titles.get(unit, unit), "period": period.key, "period_title": period.title,
            "rules": rules.name, "rules_title": rules.title, "rules_source": rules.source,
            "score": score, "rank": mine.rank if mine is not None else None, "ranked": len(ranking),
            "lines": lines, "total": total, "balanced": score is None or abs(total - score) < 0.005,
            "items": items, "flags": mine.flags if mine is not None else [], "ladder": ladder_steps,
            "categories": {k: round(v, 2) for k, v in (mine.categories if mine is not None else {}).items()}}


def explain_text(data: dict[str, Any]) -> str:
    """The account as plain text (``duban-archive explain-score``)."""
    out = [f"{data['unit_title']}（{data['unit']}） {data['period_title']} 得分核对 — {data['rules_title']}",
           f"规则文件：{data['rules_source']}"]
    if data["score"] is None:
        out.append("本期间无计分事项。")
        return "\n".join(out)
    out.append(f"得分 {data['score']:g}，第 {data['rank']} 名（共 {data['ranked']} 个单位）")
    out.append("")
    out.append("分值\t规则\t依据（规则文件键）\t事项\t日期")
    for ln in data["lines"]:
        item = (f"{ln['number']}《{ln['item_title']}》" if ln.get("item_title")
                else (ln.get("number") or ln.get("item") or "—"))
        out.append(f"{ln['points']:+g}\t{ln['title']}\t{ln['rule_ref']}\t{item}\t{ln['date'] or '—'}")
    out.append(f"合计 {data['total']:g}" + ("" if data["balanced"] else f"（与得分 {data['score']:g} 不符！）"))
    for fl in data["flags"]:
        out.append(f"提示：{fl['title']}（{fl['scope']}共 {fl['count']} 件：{'、'.join(fl['items'])}）")
    for st in data["ladder"]:
        out.append(f"整改阶梯：{st['number']} {st['date']} {st['title']}"
                   + (f"，限 {st['rectify_by']} 前整改" if st["rectify_by"] else ""))
    return "\n".join(out)
