"""Reminder rule sets refuse misspelt keys (issue 16): ``chanels`` used to drop the channels
silently (inbox only); misspelt boards and states used to remind no one."""

import textwrap

import pytest

from duban_archive.content_types.board import load_board_defs
from duban_archive.definitions import DefinitionError
from duban_archive.notifications.rules import ReminderRules, check_references
from duban_archive.workflows.engine import WorkflowRegistry

RULES = """
[ruleset]
name = "zdgc"
title = "本地重点工程规则"
boards = ["zdgc"]
states = ["in_progress"]
notify = ["lead:unit_head"]
channels = ["inbox", "sms"]
[[before]]
span_max = "P100Y"
lead = "PT8H"
[[escalation]]
overdue = "P1D"
level = 1
[levels.1]
title = "一级督办"
notify = ["supervisor"]
"""


def profile(tmp_path, text):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "zdgc.toml").write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_a_clean_profile_override_loads(tmp_path):
    assert ReminderRules.load(profile(tmp_path, RULES)).for_board("zdgc").channels == ("inbox", "sms")


def test_chanels_is_refused_naming_file_and_key(tmp_path):
    with pytest.raises(DefinitionError) as exc:
        ReminderRules.load(profile(tmp_path, RULES.replace("channels = ", "chanels = ")))
    assert str(exc.value) == (f"{tmp_path / 'rules' / 'zdgc.toml'}: ruleset.chanels: 未知键（可能是拼写错误，"
                              "是否应为 channels？可选键：boards, channels, name, notify, span, start_day, "
                              "states, title）")


def test_typos_in_arrays_of_tables_and_named_tables_are_refused(tmp_path):
    text = (RULES.replace("lead = ", "laed = ").replace('overdue = "P1D"', 'overdeu = "P1D"')
            .replace('[levels.1]\ntitle = "一级督办"', '[levels.1]\ntitel = "一级督办"')
            .replace('channels = ["inbox", "sms"]', 'channels = ["inbox", "sm"]'))
    with pytest.raises(DefinitionError) as exc:
        ReminderRules.load(profile(tmp_path, text))
    text = str(exc.value)
    assert "before[0].laed: 未知键（可能是拼写错误，是否应为 lead？" in text
    assert "before[0].lead: 缺少必填键" in text
    assert "escalation[0].overdeu: 未知键（可能是拼写错误，是否应为 overdue？" in text
    assert "levels.1.titel: 未知键" in text and "levels.1.title: 缺少必填键" in text
    assert "ruleset.channels[1]: 未知渠道 'sm'（是否应为 sms？可选：email, inbox, sms）" in text


def test_misspelt_boards_states_and_notices_are_refused_by_the_cross_check(tmp_path):
    text = (RULES.replace('boards = ["zdgc"]', 'boards = ["zdgc", "zdgcc"]')
            .replace('states = ["in_progress"]', 'states = ["in_progres"]')
            + '[notices.asign]\nnotify = ["lead:unit_head"]\n')
    rules = ReminderRules.load(profile(tmp_path, text))
    problems = [m for s, m in check_references(rules, load_board_defs(), WorkflowRegistry().load())
                if s.endswith("zdgc.toml")]
    assert any(m.startswith("ruleset.boards: 未知版块 'zdgcc'（是否应为 zdgc？") for m in problems)
    assert any(m.startswith("ruleset.states: 未知状态 'in_progres'（是否应为 in_progress？") for m in problems)
    assert any(m.startswith("notices.asign: 未知流转（可能是拼写错误，是否应为 assign？") for m in problems)
    assert len(problems) == 3


def test_boards_a_profile_dropped_may_still_be_named(tmp_path):
    """A profile whose boards file keeps only some boards need not rewrite the shipped rule sets."""
    rules = ReminderRules.load()
    assert check_references(rules, [b for b in load_board_defs() if b.id == "zdgc"], WorkflowRegistry().load(),
                            dropped={b.id for b in load_board_defs()} - {"zdgc"}) == []
