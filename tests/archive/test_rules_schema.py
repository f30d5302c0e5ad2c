"""The 保管期限表 refuses misspelt keys and unknown boards (issue 16); a profile keeps it in
``archive/rules/`` (the profile's ``rules/`` belongs to the reminder rules)."""

import pytest

from duban_archive.archive.rules import check_references, compile_rules, load_rules
from duban_archive.content_types.board import load_board_defs
from duban_archive.definitions import DefinitionError


def write(tmp_path, text):
    (tmp_path / "archive" / "rules").mkdir(parents=True)
    (tmp_path / "archive" / "rules" / "retention.toml").write_text(text, encoding="utf-8")
    return str(tmp_path)


def test_a_profile_retention_table_overrides_the_shipped_one(tmp_path):
    rules = load_rules(write(tmp_path, '[retention]\ndefault = "D10"\n[retention.boards]\nzdgz = "D30"\n'))
    assert rules.retention_for("zdgz") == "D30" and rules.retention_for("rcgl") == "D10"


def test_misspelt_keys_and_codes_are_refused_naming_file_and_key(tmp_path):
    profile = write(tmp_path, '[archive]\nfonds_cde = "Z1"\n[retention]\ndefualt = "D30"\n'
                              '[retention.boards]\nzdgz = "永久"\n')
    with pytest.raises(DefinitionError) as exc:
        load_rules(profile)
    source = tmp_path / "archive" / "rules" / "retention.toml"
    text = str(exc.value)
    assert f"{source}: archive.fonds_cde: 未知键（可能是拼写错误，是否应为 fonds_code？" in text
    assert f"{source}: retention.defualt: 未知键（可能是拼写错误，是否应为 default？" in text
    assert f"{source}: retention.boards.zdgz: 未知保管期限 '永久'（可选：D10, D30, Y）" in text


def test_the_code_template_is_still_checked():
    with pytest.raises(DefinitionError) as exc:
        compile_rules("r.toml", {"archive": {"code_template": "{全宗号}-{年度}"}})
    assert str(exc.value) == "r.toml: archive.code_template: 必须包含 {件号}，否则档号不唯一"


def test_a_misspelt_board_in_the_retention_table_is_refused(tmp_path):
    rules = load_rules(write(tmp_path, '[retention.boards]\nzdgzz = "Y"\n'))
    problems = check_references(rules, load_board_defs())
    assert len(problems) == 1 and problems[0][1].startswith(
        "retention.boards.zdgzz: 未知版块（可能是拼写错误，是否应为 zdgz？")


def test_boards_a_profile_dropped_may_still_be_named():
    rules = load_rules()
    zdgz_only = [b for b in load_board_defs() if b.id == "zdgz"]
    assert len(check_references(rules, zdgz_only)) == 8
    assert check_references(rules, zdgz_only, dropped={b.id for b in load_board_defs()}) == []
