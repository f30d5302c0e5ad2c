"""The definition toolkit: unknown keys refused at every depth with path, allowed keys and a
suggestion; types and required keys; every problem reported; the shipped definitions are clean."""

import pytest

from duban_archive.definitions import (
    DefinitionError,
    array,
    check,
    flag,
    integer,
    table,
    table_of,
    text,
    texts,
    validate,
)
from duban_archive.scripts.check_definitions import check_all


def schema():
    item = table("", text("name", required=True), flag("required"), integer("max_length"))
    return table(
        "",
        table("head", text("name", required=True), texts("tags"), required=True),
        array("items", item),
        table_of("named", table("", text("title", required=True), table("inner", text("guard")))),
    )


def test_a_clean_file_passes():
    data = {"head": {"name": "x", "tags": ["a"]}, "items": [{"name": "a", "required": True}],
            "named": {"one": {"title": "一", "inner": {"guard": "g"}}}}
    assert check(schema(), data) == []


def test_unknown_keys_are_refused_at_every_depth_with_path_and_suggestion():
    data = {
        "head": {"name": "x", "tagz": ["a"]},                         # table
        "items": [{"name": "a"}, {"name": "b", "requird": True}],     # array of tables
        "named": {"one": {"title": "一", "inner": {"gaurd": "g"}}},   # table of tables, inline table
        "extra": 1,                                                   # top level
    }
    problems = check(schema(), data)
    assert "head.tagz: 未知键（可能是拼写错误，是否应为 tags？可选键：name, tags）" in problems
    assert any(p.startswith("items[1](b).requird: 未知键") and "是否应为 required？" in p for p in problems)
    assert any(p.startswith("named.one.inner.gaurd: 未知键") and "是否应为 guard？" in p for p in problems)
    assert any(p.startswith("extra: 未知键（可能是拼写错误，可选键：head, items, named）") for p in problems)
    assert len(problems) == 4


def test_types_and_required_keys_are_checked_together_with_unknown_keys():
    data = {"head": {"tags": "a", "nmae": "x"}, "items": [{"name": "a", "required": "yes", "max_length": True}],
            "named": {"one": {}}}
    problems = check(schema(), data)
    assert "head.name: 缺少必填键" in problems
    assert any(p.startswith("head.tags: 应为数组") for p in problems)
    assert any(p.startswith("head.nmae: 未知键") and "是否应为 name？" in p for p in problems)
    assert "items[0](a).required: 应为布尔值（true / false），实为文本 'yes'" in problems
    assert any(p.startswith("items[0](a).max_length: 应为整数，实为布尔值") for p in problems)
    assert "named.one.title: 缺少必填键" in problems


def test_validate_raises_one_error_naming_the_file_on_every_line():
    with pytest.raises(DefinitionError) as exc:
        validate("site/x.toml", schema(), {"head": {"name": ""}, "itmes": []})
    lines = str(exc.value).splitlines()
    assert lines == ["site/x.toml: head.name: 不能为空",
                     "site/x.toml: itmes: 未知键（可能是拼写错误，是否应为 items？可选键：head, items, named）"]
    assert exc.value.source == "site/x.toml" and len(exc.value.problems) == 2


def test_a_string_is_not_an_array_of_characters():
    problems = check(schema(), {"head": {"name": "x", "tags": "ab"}})
    assert problems == ["head.tags: 应为数组，实为文本 'ab'"]


def test_the_shipped_definitions_validate():
    assert check_all(None) == []
