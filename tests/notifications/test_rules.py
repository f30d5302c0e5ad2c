"""Reminder rules are data: shipped files load, a site profile overrides, bad files are refused by name."""

from datetime import timedelta

import pytest

from duban_archive.definitions import DefinitionError
from duban_archive.notifications.rules import ReminderRules, compile_ruleset, parse_duration


def test_shipped_rules_cover_every_board_once():
    rules = ReminderRules.load()
    assert rules.for_board("zdgc").name == "zdgc"
    assert rules.for_board("hotline").name == "hotline"
    assert rules.for_board("rcgl").name == rules.for_board("zdgz").name == "13710"
    r = rules.for_board("rcgl")
    assert [lead.text for _, lead in r.before] == ["PT5H", "PT5H", "P1D", "P2D"]
    assert r.lead_for(timedelta(days=5)).text == "P1D"
    assert r.lead_for(timedelta(days=60)).text == "P2D"  # longer items: weekly + 2 days before


def test_profile_overrides_a_rule_file(tmp_path):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "zdgc.toml").write_text('''
[ruleset]
name = "zdgc"
title = "本地重点工程规则"
boards = ["zdgc"]
states = ["in_progress"]
notify = ["lead:unit_head"]
channels = ["inbox"]
[[before]]
span_max = "P100Y"
lead = "PT8H"
''', encoding="utf-8")
    rules = ReminderRules.load(tmp_path)
    assert rules.for_board("zdgc").title == "本地重点工程规则"
    assert rules.for_board("zdgc").before[0][1].text == "PT8H"


@pytest.mark.parametrize(("patch", "message"), [
    ({"before": [{"span_max": "P1D", "lead": "5 hours"}]}, "before[0].lead"),
    ({"escalation": [{"overdue": "P3D", "level": 4}]}, "escalation[0].level"),
    ({"escalation": [{"event": "rain", "level": 1}]}, "escalation[0]"),
    ({"ruleset": {"name": "x", "title": "x", "boards": ["rcgl"], "states": [], "notify": ["mayor"]}},
     "未知角色 'mayor'"),
    ({"monthly": {"states": ["long_running"], "days": [31], "times": ["08:00"]}}, "monthly.days"),
])
def test_bad_rules_are_refused_naming_file_and_key(patch, message):
    data = {"ruleset": {"name": "x", "title": "x", "boards": ["rcgl"], "states": ["in_progress"],
                        "notify": ["lead:handler"]}, "levels": {"1": {"title": "一级", "notify": ["supervisor"]}}}
    data.update(patch)
    with pytest.raises(DefinitionError) as err:
        compile_ruleset("profile/rules/x.toml", data)
    assert "profile/rules/x.toml" in str(err.value) and message in str(err.value)


def test_durations():
    assert parse_duration("PT5H").delta == timedelta(hours=5)
    assert parse_duration("P1M").months == 1
    assert parse_duration("3WD").working_days == 3
    with pytest.raises(ValueError):
        parse_duration("P")
