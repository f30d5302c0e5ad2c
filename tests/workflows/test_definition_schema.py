"""Workflow definitions refuse misspelt keys (issue 16): ``gaurd`` or ``permision`` on a transition
used to leave it unguarded; a misspelt permission, deadline key or bucket is refused too."""

from pathlib import Path

import pytest

from duban_archive.definitions import DefinitionError
from duban_archive.testing import project_root
from duban_archive.workflows.engine import WorkflowRegistry, compile_workflow

SHIPPED = project_root() / "src" / "duban_archive" / "workflows" / "definitions"


def _profile(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = (SHIPPED / "duban.toml").read_text("utf-8")
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    folder = tmp_path / "profile" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "duban.toml").write_text(text, "utf-8")
    return tmp_path / "profile"


def _refusal(profile: Path) -> str:
    with pytest.raises(DefinitionError) as exc:
        WorkflowRegistry().load(profile)
    return str(exc.value)


def test_gaurd_and_permision_are_refused_naming_file_and_key_path(tmp_path):
    profile = _profile(
        tmp_path,
        ('guard = "duban_archive.workflows.hooks:distinct_approver"',
         'gaurd = "duban_archive.workflows.hooks:distinct_approver"'),
        ('permission = "file"', 'permision = "file"'),
    )
    lines = _refusal(profile).splitlines()
    source = profile / "workflows" / "duban.toml"
    assert len(lines) == 2
    assert lines[0].startswith(f"{source}: transitions.cancel.gaurd: 未知键（可能是拼写错误，是否应为 guard？"
                               "可选键：after, auto, before, clears, deadlines, fields, from, guard, options, "
                               "permission, ")
    assert lines[1].startswith(f"{source}: transitions.file.permision: 未知键（可能是拼写错误，是否应为 permission？")


def test_typos_deep_inside_a_workflow_are_refused(tmp_path):
    profile = _profile(
        tmp_path,
        ('[states.registered.permissions]\nview = ', '[states.registered.permissions]\nveiw = '),   # permission map
        ('worklist = "to_assign"', 'worklist = "to_asign"'),                                        # bucket
        ('done_by = ["accept", "decline"]', 'done_bye = ["accept", "decline"]'),                  # array of tables
        ('durations = { general = "P7D", major = "P1M" }',
         'durations = { general = "P7D", major = "1 month" }'),                                     # inline table
        ('[[transitions.decline.fields]]\nname = "reason"\ntitle = "退单理由"\nkind = "textarea"\nrequired = true',
         '[[transitions.decline.fields]]\nname = "reason"\ntitle = "退单理由"\nkind = "textarea"\nrequird = true'),
        ('[transitions.approve]\ntitle = "审签"', '[transitions.approve]\ntitle = "审签"\nauto = "yes"'),
    )
    text = _refusal(profile)
    assert "states.registered.permissions.veiw: 未知权限（可能是拼写错误，是否应为 view？" in text
    assert "states.approved.worklist: 未知待办分类 'to_asign'（是否应为 to_assign？" in text
    assert "transitions.assign.deadlines[0](accept_by).done_bye: 未知键（可能是拼写错误，是否应为 done_by？" in text
    assert "transitions.assign.deadlines[2](solve).durations.major: 无法识别的时限格式“1 month”" in text
    assert "transitions.decline.fields[0](reason).requird: 未知键（可能是拼写错误，是否应为 required？" in text
    assert "transitions.approve.auto: 应为布尔值（true / false），实为文本 'yes'" in text
    assert len(text.splitlines()) == 6


def test_references_inside_the_file_are_still_checked_after_the_schema(tmp_path):
    profile = _profile(tmp_path, ('to = "approved"', 'to = "aproved"'),
                       ('done_by = ["accept", "decline"]', 'done_by = ["accept", "declin"]'))
    text = _refusal(profile)
    assert "transitions.approve.to: 未知状态 'aproved'" in text
    assert "deadline 'accept_by'.done_by: 未知流转 'declin'" in text


def test_compile_workflow_checks_the_schema_itself():
    with pytest.raises(DefinitionError) as exc:
        compile_workflow("x.toml", {"workflow": {"name": "w", "title": "W", "initial_state": "a"},
                                    "states": {"a": {"title": "A", "permissions": {"view": ["supervisor"]},
                                                     "finall": True}}})
    assert str(exc.value).startswith("x.toml: states.a.finall: 未知键（可能是拼写错误，是否应为 final？")
