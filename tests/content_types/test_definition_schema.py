"""Type and board definitions refuse misspelt keys (issue 16): a field's ``requird = true`` would
have left the field optional; a board's misspelt key or unknown type would have failed later."""

import textwrap

import pytest

from duban_archive.content_types.board import check_boards, load_board_defs
from duban_archive.content_types.registry import TypeRegistry
from duban_archive.definitions import DefinitionError
from duban_archive.workflows.engine import WorkflowRegistry


def write(profile, folder, name, text):
    (profile / folder).mkdir(parents=True, exist_ok=True)
    (profile / folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return profile


def test_requird_in_a_type_field_is_refused_naming_file_and_key(tmp_path):
    profile = write(tmp_path, "definitions", "local.toml", """
        [type]
        name = "local_item"
        title = "本地事项"
        extends = "supervision_item"
        [[fields]]
        name = "budget"
        title = "投资额"
        kind = "int"
        requird = true
    """)
    with pytest.raises(DefinitionError) as exc:
        TypeRegistry().load(profile)
    assert str(exc.value) == (f"{profile / 'definitions' / 'local.toml'}: fields[0](budget).requird: "
                              "未知键（可能是拼写错误，是否应为 required？可选键：default, description, editable, "
                              "kind, ledger, masked, max_length, name, not_before, required, system, title, unique, "
                              "vocabulary）")


def test_every_problem_of_every_type_file_is_reported(tmp_path):
    write(tmp_path, "definitions", "a.toml", """
        [type]
        name = "a_item"
        titel = "甲"
        kind = "item"
        [[fields]]
        name = "x"
        title = "X"
        kind = "choice"
    """)
    write(tmp_path, "definitions", "b.toml", """
        [type]
        name = "b_item"
        title = "乙"
        kind = "item"
        [vocabularies]
        colour = [{ value = "red", titel = "红" }]
        [[fields]]
        name = "x"
        title = "X"
        max_length = 0
    """)
    with pytest.raises(DefinitionError) as exc:
        TypeRegistry().load(tmp_path)
    text = str(exc.value)
    a, b = tmp_path / "definitions" / "a.toml", tmp_path / "definitions" / "b.toml"
    assert f"{a}: type.title: 缺少必填键" in text
    assert f"{a}: type.titel: 未知键" in text
    assert f"{a}: fields[0](x).vocabulary: 缺少必填键" in text
    assert f"{b}: vocabularies.colour[0].title: 缺少必填键" in text
    assert f"{b}: vocabularies.colour[0].titel: 未知键" in text
    assert f"{b}: fields[0](x).max_length: 应为正整数" in text


def test_a_profile_override_of_a_shipped_type_with_a_typo_is_refused(tmp_path):
    profile = write(tmp_path, "definitions", "supervision_item.toml", """
        [type]
        name = "supervision_item"
        title = "督办事项"
        kind = "item"
        [[fields]]
        name = "title"
        title = "事项名称"
        requried = true
    """)
    with pytest.raises(DefinitionError) as exc:
        TypeRegistry().load(profile)
    assert "supervision_item.toml: fields[0](title).requried: 未知键" in str(exc.value)
    assert "是否应为 required？" in str(exc.value)


def test_a_misspelt_board_key_and_an_unknown_item_type_are_refused(tmp_path):
    write(tmp_path, "boards", "boards.toml", """
        [[boards]]
        id = "zdxm"
        title = "重点项目"
        prefix = "ZDXM"
        workflow = "duban"
        item_typ = "supervision_item"
    """)
    with pytest.raises(DefinitionError) as exc:
        load_board_defs(tmp_path)
    source = tmp_path / "boards" / "boards.toml"
    assert f"{source}: boards[0](zdxm).item_type: 缺少必填键" in str(exc.value)
    assert f"{source}: boards[0](zdxm).item_typ: 未知键（可能是拼写错误，是否应为 item_type？" in str(exc.value)

    write(tmp_path, "boards", "boards.toml", """
        [[boards]]
        id = "zdxm"
        title = "重点项目"
        prefix = "ZDXM"
        workflow = "dubna"
        item_type = "supervison_item"
    """)
    boards = load_board_defs(tmp_path)
    problems = check_boards(boards, TypeRegistry().load(), WorkflowRegistry().load())
    assert (str(source), "boards[0](zdxm).workflow: 未知流程 'dubna'（是否应为 duban？"
                         "可选：duban, hotline, internet_plus）") in problems
    assert any(m.startswith("boards[0](zdxm).item_type: 未知事项类型 'supervison_item'（是否应为 supervision_item？")
               for _, m in problems)
