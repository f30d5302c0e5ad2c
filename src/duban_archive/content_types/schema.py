"""Schemas of the content type definitions (``definitions/*.toml``) and boards (``boards/*.toml``).

What a file may say and of what type; :mod:`.registry` and :mod:`.board` check
every file against these before compiling it (references between files —
``extends``, a field's ``vocabulary`` — are resolved, and checked, there).
The field schema serves the workflow definitions' transition fields too.
"""

from __future__ import annotations

from typing import Any

import colander

from ..definitions import (
    anything,
    array,
    at_least,
    flag,
    integer,
    key_problem,
    matches,
    one_of,
    table,
    table_of,
    text,
    texts,
)

FIELD_KINDS = {
    "text", "textarea", "date", "datetime", "choice", "multi_choice",
    "unit", "units", "phone", "int", "bool", "user",
}
CLASS_KINDS = {"item", "feedback", "instruction"}
#: kinds a ``unique = true`` field may have (a number typed by the clerk: 工单编号, 线索编号)
UNIQUE_KINDS = {"text", "phone"}
NAME_RE = r"[a-z][a-z0-9_]{0,40}"
TYPE_NAME_RE = r"[a-z][a-z0-9_]{1,40}"


def _field_checks(node: colander.SchemaNode, value: dict[str, Any]) -> None:
    if "not_before" in value and value.get("kind") not in ("date", "datetime"):
        raise key_problem(node, "not_before", "只用于日期字段（kind = \"date\" 或 \"datetime\"）")
    if value.get("kind") in ("choice", "multi_choice") and "vocabulary" not in value:
        raise key_problem(node, "vocabulary", f"缺少必填键（kind = \"{value['kind']}\" 需要词表）")
    if value.get("unique") and value.get("kind", "text") not in UNIQUE_KINDS:
        raise key_problem(node, "unique", "只用于文本字段（kind = \"text\" 或 \"phone\"）")
    if value.get("unique") and value.get("system"):
        raise key_problem(node, "unique", "系统字段不能要求唯一（没有表单会填写它）")
    if value.get("masked") and value.get("kind") != "phone":
        raise key_problem(node, "masked", "只用于电话字段（kind = \"phone\"）")


def field_schema(name: str = "") -> colander.SchemaNode:
    """One ``[[fields]]`` entry."""
    return table(
        name,
        text("name", required=True, validator=matches(NAME_RE, "只能用小写字母、数字和下划线")),
        text("title", required=True),
        text("kind", validator=one_of(FIELD_KINDS, "字段类型")),
        flag("required"),
        integer("max_length", validator=at_least(1, "应为正整数")),
        text("description"),
        text("vocabulary"),
        anything("default"),
        flag("editable"),
        # written only by the system (e.g. 12345 派单时间 by the dispatch transition): in no add/edit form
        flag("system"),
        flag("ledger"),
        text("not_before", validator=matches(NAME_RE, "应为同一类型中另一个日期字段的名称")),
        # no two items of one board with the same value (12345 工单编号, 互联网+督查 线索编号): 409 naming the other
        flag("unique"),
        # personal data (来电号码): shown masked (138****5678) to whoever lacks ``view_caller_phone`` on the item
        flag("masked"),
        validator=_field_checks,
    )


def vocabularies_schema() -> colander.SchemaNode:
    """``[vocabularies]``: name -> array of ``{value, title, refused}``."""
    choice = table("", text("value", required=True), text("title", required=True), text("refused"))
    return table_of("vocabularies", array("", choice), what="词表")


def type_schema() -> colander.SchemaNode:
    return table(
        "",
        table("type",
              text("name", required=True, validator=matches(TYPE_NAME_RE, "只能用小写字母、数字和下划线")),
              text("title", required=True),
              text("kind", validator=one_of(CLASS_KINDS, "类型种类")),
              text("extends"),
              texts("boards"),
              flag("override"),
              # ``module:function(site, board, values, typedef)`` run before anything is written; raises Refusal
              text("before_create", validator=matches(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", "应为 包.模块:函数")),
              required=True),
        array("fields", field_schema()),
        # seed 003 附件2 四(一): 「同一事实、同一理由重复反映的，不再受理」 — what makes a new item a repeat
        table("repeat",
              texts("match", required=True, non_empty=True),
              texts("states", required=True, non_empty=True)),
        # the add/edit form's groups, in order: ``[[fieldsets]] title = "来电信息" fields = [...]`` (fields of this
        # type, each in one group; fields left out follow in a last group 「其他信息」)
        array("fieldsets", table("",
                                 text("title", required=True),
                                 texts("fields", required=True, non_empty=True))),
        vocabularies_schema(),
    )


def boards_schema() -> colander.SchemaNode:
    board = table(
        "",
        text("id", required=True, validator=matches(r"[a-z][a-z0-9_]{1,30}", "只能用小写字母、数字和下划线")),
        text("title", required=True),
        text("prefix", required=True, validator=matches(r"[A-Z0-9]{1,10}", "只能用大写字母和数字")),
        text("workflow", required=True),
        text("item_type", required=True),
    )
    return table("", array("boards", board, required=True))
