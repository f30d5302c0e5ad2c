"""The seeds' scoring switches combine (issue 14): 三门峡's ``group`` (one item counted once, at its
highest level) and 云和's ``[[flags]]`` work in 宿州's ``categories`` method too, beside its own
``[bonus_caps]`` and 不当退单 charged to the unit that declined."""

import copy
from datetime import date

from duban_archive.scoring.engine import Adjustment, ItemFact, parse_period, score_units
from duban_archive.scoring.explain import rule_ref
from duban_archive.scoring.rules import FlagRule, load_scoring_rules

RULES = load_scoring_rules()
MAY = parse_period("2026-05")
UNITS = {"zjj": "市住建局", "jtj": "市交通运输局"}


def test_group_counts_one_item_once_under_the_bonus_sub_cap():
    rules = copy.deepcopy(RULES["suzhou"])
    rules.adjustments["media_province"].group = rules.adjustments["media_city"].group = "media"
    adjustments = [Adjustment("zjj", "media_province", 1, date(2026, 5, 6), item_id="a"),
                   Adjustment("zjj", "media_city", 0.5, date(2026, 5, 7), item_id="a")]  # same item: 0
    us = score_units(rules, MAY, [], adjustments, UNITS, as_of=date(2026, 5, 31))[0]
    lines = {ln.rule: ln for ln in us.lines if ln.rule.startswith("adj:")}
    assert lines["adj:media_province"].points == 1
    assert lines["adj:media_city"].points == 0 and "按最高等级认定" in lines["adj:media_city"].title
    assert us.categories["bonus"] == 1


def test_a_flag_counts_events_charged_to_one_unit():
    rules = copy.deepcopy(RULES["suzhou"])
    rules.flags = [FlagRule("undue", "不当退单较多", "undue_decline", 2)]
    ticket = ItemFact("t", "T", "工单", ("zjj",), unit_events=[("undue_decline", "jtj", date(2026, 5, 4)),
                                                              ("undue_decline", "jtj", date(2026, 5, 8))])
    scores = {u.unit: u for u in score_units(rules, MAY, [ticket], [], UNITS, as_of=date(2026, 5, 31))}
    assert [f["name"] for f in scores["jtj"].flags] == ["undue"] and scores["jtj"].flags[0]["items"] == ["T", "T"]
    assert "zjj" not in scores or not scores["zjj"].flags


def test_explain_names_the_rule_of_every_seed003_line():
    rules = RULES["suzhou"]
    assert rule_ref(rules, "bonus_subcap") == "bonus_caps"
    assert rule_ref(rules, "key_work_scale").startswith("key_work.missing")
