"""Seed 003 附件5 宿州市“宿事速办”工作考核办法: unit scores computed by hand from the seed's text.

「日常工作考核80分，重点工作考核20分，附加考核±5分，非重点工作责任单位以合理缺项按比例折算分值，三项考核分值累计为
年终考核结果」 (三、考核方式); every sub-item 「扣完为止」.
"""

from datetime import date

import pytest

from duban_archive.scoring.engine import Adjustment, ItemFact, parse_period, score_units
from duban_archive.scoring.rules import load_scoring_rules
from duban_archive.timeutil import frozen_now

from .helpers import Desk, at

RULES = load_scoring_rules()["suzhou"]
MAY = parse_period("2026-05")
UNITS = {"zjj": "市住建局", "cgj": "市城管局", "jtj": "市交通运输局"}  # 城管局: 三类单位 (热线优化归并责任单位)


def fact(item_id, unit, deadline, closed=None, **kw):
    return ItemFact(item_id, item_id.upper(), item_id, (unit,), deadline=deadline, closed_on=closed, **kw)


def adj(unit, kind, n=1, points=None, day=date(2026, 5, 20)):
    rule = RULES.adjustments[kind]
    return [Adjustment(unit, kind, points if points is not None else rule.points, day) for _ in range(n)]


def test_seed003_art5_4_daily_sub_items_scaling_and_bonus_sub_caps():
    facts = [
        # zjj: signed late (「超过时限未签收的，每件扣0.5分」), closed in time, 回访 satisfied
        fact("t1", "zjj", date(2026, 5, 8), date(2026, 5, 8), sign_late=True, sign_due=date(2026, 5, 4), visited=True),
        # zjj: not 办结 by its limit: 「超期未办结被“红牌”警告的 … 每件扣0.5分」
        fact("t2", "zjj", date(2026, 5, 12)),
        # zjj: two tickets the platform had to send back to it: 「视为不当退单，每件扣1分」
        fact("t3", "zjj", date(2026, 5, 14), date(2026, 5, 13), visited=True,
             unit_events=[("undue_decline", "zjj", date(2026, 5, 6))]),
        fact("t4", "zjj", date(2026, 5, 15), date(2026, 5, 15), visited=True,
             unit_events=[("undue_decline", "zjj", date(2026, 5, 8))]),
        fact("c1", "cgj", date(2026, 5, 8), date(2026, 5, 8), visited=True),
    ]
    adjustments = (
        adj("zjj", "knowledge_late_day", 5)        # 「每超过1个工作日扣1分，扣完为止」: 5 days, but 及时报送 has 4
        + adj("zjj", "consult_lead_shirk")         # 牵头单位推诿扯皮 「每件扣0.5分」
        + adj("zjj", "timeliness_day", 2)          # 「超过基准时限1天扣0.5分」 × 2 days
        + adj("zjj", "routine_supervision")        # 初级督办 「每件扣0.5分」
        + adj("zjj", "decline_late")               # 实时退单 「超期退单的 … 每件扣0.5分」
        + adj("zjj", "leader_praise", 3)           # 「每次加1分，累计不超过2分」
        + adj("zjj", "media_city")                 # 「市级 … 0.5分」
        + adj("zjj", "city_praise", 3)             # 「每次加0.5分，累计不超过1分」
        + adj("cgj", "key_work", points=-5)        # 重点工作: 督查室 enters the points
        + adj("cgj", "media_province", 2)          # 「省级或市级主要媒体推广的，每次分别加1分、0.5分，累计不超过2分」
        + adj("cgj", "media_city")
    )
    scores = {u.unit: u for u in score_units(RULES, MAY, facts, adjustments, UNITS, as_of=date(2026, 5, 31))}
    zjj, cgj = scores["zjj"], scores["cgj"]
    # zjj 日常工作: 80 - 0.5 (签收) - 0.5 (红牌) - 2 × 1 (不当退单) - 4 (知识库及时报送, 扣完为止: 5 > 4)
    #              - 0.5 (会商牵头) - 2 × 0.5 (办理时效) - 0.5 (初级督办) - 0.5 (实时退单) = 70.5
    daily = 80 - 0.5 - 0.5 - 2 * 1 - 4 - 0.5 - 2 * 0.5 - 0.5 - 0.5
    assert daily == 70.5
    assert zjj.categories["undue_decline"] == 3 - 2 and zjj.categories["timely_decline"] == 2 - 0.5
    assert zjj.categories["knowledge_timely"] == 0 and zjj.categories["knowledge_complete"] == 3
    assert zjj.categories["consult_lead"] == 3 - 0.5 and zjj.categories["routine_supervision"] == 4 - 0.5
    assert zjj.categories["timeliness"] == 6 - 1 and zjj.categories["close"] == 5 - 0.5
    # 住建局 is not a 热线优化归并责任单位: 「非重点工作责任单位以合理缺项按比例折算分值」: 70.5 × 100/80
    # 附加: 批示 min(3 × 1, 2) + 媒体 min(0.5, 2) + 表扬 min(3 × 0.5, 1) = 2 + 0.5 + 1 = 3.5
    assert zjj.categories["bonus"] == 2 + 0.5 + 1
    assert zjj.score == pytest.approx(daily * 100 / 80 + 3.5)  # 91.625
    # 城管局 is scored on the key work: 80 + (20 - 5) + 媒体 min(2 × 1 + 0.5, 2) = 97
    assert cgj.categories["key_work"] == 15 and cgj.categories["bonus"] == 2
    assert cgj.score == pytest.approx(80 + 15 + 2)
    assert sum(ln.points for ln in zjj.lines) == pytest.approx(zjj.score)


def test_seed003_art5_4_1_2_red_card_and_undue_decline_from_real_tickets(testapp):
    d = Desk(testapp)
    late = d.new_ticket("complaint", "2026-03-09 08:00")
    quick = d.new_ticket("consultation", "2026-03-09 08:00")
    d.fire(d.sup, late, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, late, "decline", "2026-03-09 10:00", reason="不属于本单位职责")
    # the platform sends it back to 住建局: 「造成平台两次将同一工单转同一承办单位办理的，视为不当退单」 — counted now,
    # not at a second decline
    d.fire(d.sup, late, "dispatch", "2026-03-09 11:00")
    d.fire(d.head, late, "accept", "2026-03-09 11:30")
    # never answered: complaint limit Mon 03-09 + 7 working days = Wed 03-18 -> 红牌
    d.fire(d.sup, quick, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, quick, "accept", "2026-03-09 10:00")
    d.fire(d.handler, quick, "reply", "2026-03-10 10:00", reply="已答复", approved_by="王科长")
    d.fire(d.sup, quick, "approve_reply", "2026-03-10 11:00")
    d.fire(d.sup, quick, "close", "2026-03-10 16:00", satisfaction="satisfied", grade="A")
    with frozen_now(at("2026-04-01 09:00")):
        got = d.sup.get("/api/v1/scores?rules=suzhou&period=2026-03").json
    zjj = next(u for u in got["ranking"] if u["unit"] == "zjj")
    rules = [(ln["rule"], ln["points"], ln["date"]) for ln in zjj["breakdown"]]
    assert ("undue_decline", -1, "2026-03-09") in rules
    assert ("overdue", -0.5, "2026-03-18") in rules
    # 日常 80 - 1 (不当退单) - 0.5 (红牌) = 78.5; 住建局 is no 热线优化归并责任单位: × 100/80
    assert zjj["score"] == round((80 - 1 - 0.5) * 100 / 80, 2)


def test_seed003_art5_switches_are_checked_by_the_schema():
    from duban_archive.definitions import DefinitionError
    from duban_archive.scoring.rules import compile_rules

    head = {"ruleset": {"name": "x", "title": "x", "method": "categories"},
            "categories": [{"name": "daily", "title": "日常", "max": 80}, {"name": "kw", "title": "重点", "max": 20}]}
    with pytest.raises(DefinitionError, match="key_work.missing"):
        compile_rules("x.toml", {**head, "key_work": {"category": "kw", "missing": "free"}})
    with pytest.raises(DefinitionError, match="key_work.category"):
        compile_rules("x.toml", {**head, "key_work": {"category": "nope"}})
    with pytest.raises(DefinitionError, match="adjustments.p.cap"):
        compile_rules("x.toml", {**head, "adjustments": {"p": {"title": "表扬", "points": 1, "category": "bonus",
                                                               "cap": "media"}}})
    full = compile_rules("x.toml", {**head, "key_work": {"category": "kw", "missing": "full", "units": []}})
    got = score_units(full, MAY, [], [Adjustment("zjj", "none", 0, date(2026, 5, 2))], UNITS, date(2026, 5, 31))
    assert got[0].score == 100  # missing = "full": the 20 points are given


def test_seed003_art5_4_1_2_5_satisfaction_against_the_average_of_the_units_class():
    def visited(item_id, unit, dissatisfied=False):
        return fact(item_id, unit, date(2026, 5, 8), date(2026, 5, 8), visited=True, dissatisfied=dissatisfied)

    facts = [
        # 城管局 (三类): 4 tickets, 1 still 不满意 at the second evaluation: (1 - 1/4) × 100% = 75%
        visited("c1", "cgj", True), visited("c2", "cgj"), visited("c3", "cgj"), visited("c4", "cgj"),
        # 交通运输局 (三类): 2 tickets, none: 100%
        visited("j1", "jtj"), visited("j2", "jtj"),
        # 住建局 (二类): 2 tickets, 1: 50% — alone in its class in this example
        visited("z1", "zjj", True), visited("z2", "zjj"),
    ]
    scores = {u.unit: u for u in score_units(RULES, MAY, facts, [], UNITS, as_of=date(2026, 5, 31))}
    # 「承办单位分类分别计算平均满意率，每低于平均满意率1个百分点，扣0.5分」: 三类 average (75 + 100) / 2 = 87.5;
    # 城管局 is 87.5 - 75 = 12.5 -> 12 whole points below: 10 - 12 × 0.5 = 4
    assert scores["cgj"].categories["satisfaction"] == 10 - 12 * 0.5
    assert scores["jtj"].categories["satisfaction"] == 10
    # 住建局's class average is its own 50%: nothing below it (against every unit, (75 + 100 + 50) / 3 = 75,
    # it would be 25 points below: 10 - 25 × 0.5, 扣完为止 at 0)
    assert scores["zjj"].categories["satisfaction"] == 10
