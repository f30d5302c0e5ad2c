"""Scoring rule sets and grading refuse misspelt keys (issue 16), from the profile's own folders
(``scoring/rules/``, ``scoring/definitions/``: the profile's ``rules/`` and ``definitions/`` belong
to the reminder rules and the content types)."""

import textwrap

import pytest

from duban_archive.definitions import DefinitionError
from duban_archive.scoring.grading import check_stages, load_grading
from duban_archive.scoring.rules import check_choice, compile_rules, load_scoring_rules
from duban_archive.workflows.engine import WorkflowRegistry

LOCAL = """
[ruleset]
name = "local"
title = "本地计分"
method = "additive"
base = 100
[events]
on_time = { points = 2, title = "按时办结" }
[adjustments]
praise = { points = 3, title = "通报表扬" }
other = { title = "其他", free = true }
"""


def write(tmp_path, folder, name, text):
    (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_a_profile_rule_set_loads_from_scoring_rules(tmp_path):
    rules = load_scoring_rules(write(tmp_path, "scoring/rules", "local.toml", LOCAL))
    assert rules["local"].adjustments["praise"].points == 3.0 and "yunhe" in rules


def test_misspelt_keys_in_a_rule_set_are_refused_naming_file_and_key(tmp_path):
    text = (LOCAL.replace("base = 100", "bsae = 100").replace("praise = { points = 3", "praise = { pionts = 3")
            .replace("on_time = {", "on_tiem = {"))
    with pytest.raises(DefinitionError) as exc:
        load_scoring_rules(write(tmp_path, "scoring/rules", "local.toml", text))
    source = tmp_path / "scoring" / "rules" / "local.toml"
    text = str(exc.value)
    assert f"{source}: ruleset.bsae: 未知键（可能是拼写错误，是否应为 base？" in text
    assert f"{source}: adjustments.praise.pionts: 未知键（可能是拼写错误，是否应为 points？" in text
    assert f"{source}: events.on_tiem: 未知自动计分事件（可能是拼写错误，是否应为 on_time？" in text


def test_an_adjustment_needs_points_or_free():
    with pytest.raises(DefinitionError) as exc:
        compile_rules("x.toml", {"ruleset": {"name": "x", "title": "x", "method": "additive"},
                                 "adjustments": {"praise": {"title": "表扬"}}})
    assert str(exc.value) == "x.toml: adjustments.praise.points: 缺少必填键（或写 free = true 由督查室录入分值）"


def test_categories_events_and_numbers_are_checked():
    with pytest.raises(DefinitionError) as exc:
        compile_rules("x.toml", {"ruleset": {"name": "x", "title": "x", "method": "categories"},
                                 "categories": [{"name": "sign", "title": "签收", "max": "2",
                                                 "events": {"sign_lat": -0.5}}]})
    text = str(exc.value)
    assert "x.toml: categories[0](sign).max: 应为整数 或 小数，实为文本 '2'" in text
    assert "x.toml: categories[0](sign).events.sign_lat: 未知自动计分事件（可能是拼写错误，是否应为 sign_late？" in text


def test_the_ini_choice_of_rule_set_is_checked():
    rules = load_scoring_rules()
    assert check_choice(rules, None) is None and check_choice(rules, "suzhou") is None
    assert check_choice(rules, "yunhee") == ("未知的计分规则 'yunhee'（是否应为 yunhe？"
                                             "可选：sanmenxia、suzhou、yaodu、yunhe）")


def test_a_misspelt_key_in_a_profile_grading_is_refused(tmp_path):
    write(tmp_path, "scoring/definitions", "grading.toml", """
        [[grades]]
        value = "A"
        title = "优秀"
        critera = "办得好"
    """)
    with pytest.raises(DefinitionError) as exc:
        load_grading(str(tmp_path))
    source = tmp_path / "scoring" / "definitions" / "grading.toml"
    assert f"{source}: grades[0].critera: 未知键（可能是拼写错误，是否应为 criteria？" in str(exc.value)
    assert f"{source}: grades[0].criteria: 缺少必填键" in str(exc.value)


def test_grading_stages_must_name_a_known_workflow(tmp_path):
    write(tmp_path, "scoring/definitions", "grading.toml", """
        [[grades]]
        value = "A"
        title = "优秀"
        criteria = "办得好"
        [[stages.internetplus]]
        name = "receive"
        group = "接收"
        title = "接收任务"
    """)
    grading = load_grading(str(tmp_path))
    with pytest.raises(DefinitionError) as exc:
        check_stages(WorkflowRegistry().load(), grading)
    assert str(exc.value).startswith(f"{tmp_path / 'scoring' / 'definitions' / 'grading.toml'}: stages.internetplus: "
                                     "未知流程（可能是拼写错误，是否应为 internet_plus？")
