"""The text policy (issue 12): one colander hook for forms, the JSON API, the ledger import and search."""

from __future__ import annotations

import colander
import deform.widget
import pytest

from duban_archive.validation import (
    ValidationFailed,
    apply_text_policy,
    check_json_text,
    clean_text,
    text_node,
    text_problem,
    validate,
    visible_text,
)


@pytest.mark.parametrize(("text", "multiline", "expected"), [
    ("督办\x07事项", False, "含有不允许的控制字符（U+0007），请删除后重新提交"),
    ("督办\x1b[31m", True, "含有不允许的控制字符（U+001B）"),
    ("C1 \x9b 控制", True, "含有不允许的控制字符（U+009B）"),
    ("\x7f", False, "含有不允许的控制字符（U+007F）"),
    ("点赞\ud83d", True, "孤立的代理项 U+D83D"),
    ("\udc00尾", False, "孤立的代理项 U+DC00"),
    ("第一行\n第二行", False, "此栏只能填写一行，不能含有换行（U+000A）"),
    ("a\tb", False, "不能含有制表符（U+0009）"),
    ("x\ufffe", True, "非字符码位"),
    ("x\U0010ffff", True, "U+10FFFF"),
])
def test_refused_text_gets_a_chinese_message_naming_the_code_point(text, multiline, expected):
    assert expected in text_problem(text, multiline=multiline, glyphs=False)


@pytest.mark.parametrize("text", ["第一行\n第二行", "第一行\r\n第二行", "甲\t乙", "普通文本 ok", "é"])
def test_multiline_text_keeps_tab_and_newline(text):
    assert text_problem(text, multiline=True) is None


def test_emoji_and_rare_names_pass_and_what_no_font_draws_is_named():
    # WeChat's 👍 ✅ (with or without the emoji variation selector), a rare CJK name character
    assert text_problem("收到👍 已完成✅ ✔️ 吉𠮷 ❤️") is None
    message = text_problem("辛苦了🥰 \U00013000")
    assert "以下字符没有可用字体" in message and "U+1F970" in message and "U+13000" in message
    assert text_problem("辛苦了🥰", glyphs=False) is None  # e.g. a search query


def test_clean_text_repairs_what_the_policy_refuses():
    assert clean_text("标题\x07\ud83d e\u0301") == "标题 é"
    assert clean_text("一\t二\r\n三\x1b", multiline=True) == "一\t二\r\n三"
    assert clean_text("一行\n二行") == "一行 二行"  # a line break in a one-line field becomes a space
    assert visible_text("列\x07名") == "列<U+0007>名"


def _schema():
    schema = colander.SchemaNode(colander.Mapping())
    schema.add(colander.SchemaNode(colander.String(), name="title",
                                   validator=colander.Length(max=5, max_err="不能超过 5 个字符")))
    schema.add(colander.SchemaNode(colander.String(), name="content", missing="",
                                   widget=deform.widget.TextAreaWidget()))
    schema.add(colander.SchemaNode(colander.Set(), name="tags", missing=()))
    schema.add(colander.SchemaNode(colander.Int(), name="count", missing=0))
    return schema


def test_validate_holds_every_text_node_to_the_policy_and_normalises():
    out = validate(_schema(), {"title": "cafe\u0301", "content": "一\n二", "tags": ["e\u0301"], "count": "3"})
    assert out["title"] == "café" and len(out["title"]) == 4  # NFC: one character, counted once
    assert out["content"] == "一\n二" and out["tags"] == {"é"} and out["count"] == 3
    with pytest.raises(ValidationFailed) as info:
        validate(_schema(), {"title": "a\x07", "content": "b\ud83d", "tags": ["c\x1b"]})
    assert info.value.fields == {
        "title": "含有不允许的控制字符（U+0007），请删除后重新提交",
        "content": "含有无效的字符编码（孤立的代理项 U+D83D，多为表情符号复制不完整），请删除后重新提交",
        "tags": "含有不允许的控制字符（U+001B），请删除后重新提交",
    }
    # the policy speaks first, the node's own validator after it
    with pytest.raises(ValidationFailed) as info:
        validate(_schema(), {"title": "太长的标题\x07"})
    assert info.value.fields == {"title": "含有不允许的控制字符（U+0007），请删除后重新提交"}
    with pytest.raises(ValidationFailed) as info:
        validate(_schema(), {"title": "太长的标题啊"})
    assert info.value.fields == {"title": "不能超过 5 个字符"}


def test_the_policy_is_put_on_a_clone_once():
    schema = _schema()
    validate(schema, {"title": "ok"})
    assert getattr(schema["title"], "text_policy", None) is None  # the caller's schema is untouched
    applied = apply_text_policy(schema.clone())
    again = apply_text_policy(applied)
    assert again["content"].text_policy == {"multiline": True, "glyphs": True}
    assert isinstance(again["title"].validator.inner, colander.Length)  # wrapped once, not twice
    node = text_node(colander.SchemaNode(colander.String(), name="x"), multiline=False, glyphs=False)
    assert text_node(node, multiline=True).text_policy == {"multiline": False, "glyphs": False}


def test_deferred_validators_are_wrapped_until_bound():
    @colander.deferred
    def max_len(node, kw):
        return colander.Length(max=kw["n"])

    schema = colander.SchemaNode(colander.Mapping())
    schema.add(colander.SchemaNode(colander.String(), name="name", validator=max_len))
    bound = apply_text_policy(schema.clone()).bind(n=3)
    with pytest.raises(colander.Invalid) as info:
        bound.deserialize({"name": "\x07"})
    assert "U+0007" in str(info.value.asdict())
    with pytest.raises(colander.Invalid):
        bound.deserialize({"name": "abcd"})
    assert bound.deserialize({"name": "abc"}) == {"name": "abc"}


def test_passwords_are_checked_but_never_normalised():
    schema = colander.SchemaNode(colander.Mapping())
    schema.add(colander.SchemaNode(colander.String(), name="password", widget=deform.widget.PasswordWidget()))
    schema = apply_text_policy(schema)
    assert schema.deserialize({"password": "e\u0301e\u0301"}) == {"password": "e\u0301e\u0301"}
    with pytest.raises(colander.Invalid):
        schema.deserialize({"password": "pw\x00"})


def test_json_net_names_each_field_and_passes_clean_bodies():
    check_json_text({"a": "一\n二\t三", "b": [1, {"c": "ok"}], "d": None})
    with pytest.raises(ValidationFailed) as info:
        check_json_text({"done": "\ud83d", "nested": {"x": ["ok", "\x07"]}, "fine": "好"})
    assert set(info.value.fields) == {"done", "nested.x.1"}
    assert "U+D83D" in info.value.fields["done"] and "U+0007" in info.value.fields["nested.x.1"]
    with pytest.raises(ValidationFailed) as info:
        check_json_text([{"title": "ok"}, {"title": "\x1b"}])
    assert set(info.value.fields) == {"1.title"}
    deep: list = []
    for _ in range(5000):  # no recursion: a deep body that parsed is walked without a RecursionError
        deep = [deep]
    check_json_text(deep)
