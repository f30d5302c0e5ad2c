"""Schemas of the scoring rule sets (``rules/*.toml``) and of grading (``definitions/grading.toml``).

Every key at every depth with its type; the method, the automatic events and
numbers are checked here.  ``rules.compile_rules`` checks what spans keys (an
adjustment's category); ``grading.register_grade_fields`` that each ``stages``
table names a known workflow.
"""

from __future__ import annotations

from typing import Any

import colander

from ..definitions import (
    array,
    at_least,
    between,
    flag,
    integer,
    key_problem,
    number,
    one_of,
    table,
    table_of,
    text,
    texts,
)

METHODS = ("additive", "efficacy", "categories")
#: a unit outside ``key_work.units``: its other categories scaled up to the full score, or the maximum given
KEY_WORK_MISSING = ("scale", "full")
EVENTS = {
    "on_time": "按时办结并按时反馈",
    "early": "提前办结",
    "feedback_late": "按时办结但未按时反馈",
    "unfinished": "未按时完成",
    "late_notice": "进度滞后被通报",
    "sign_late": "超时签收",
    "undue_decline": "不当退单",
    "overdue": "超期未办结",
    "escalation1": "一级督办",
    "escalation2": "二级督办",
    "escalation3": "三级督办",
}


#: switch ``[feedback] mode``: when an item's 反馈 is in time — ``days`` (13710: within ``days``
#: calendar days of 交办) or ``monthly`` (云和 seed 004 二（四）: 即办结即反馈, and for items running
#: into a further month 一月一反馈 by the ``day``-th of each month)
FEEDBACK_MODES = ("days", "monthly")
FLAG_SCOPES = ("year", "period")
GRADE_VALUES = ("A", "B", "C", "D")
#: switch ``[d_grade] <workflow>``: a D on 办结 sends the item back (seed 002) or is kept (seed 000)
D_GRADE_MODES = ("return", "keep")


def _ladder_after(node: colander.SchemaNode, text_: str) -> None:
    from ..notifications.durations import parse_duration

    try:
        parse_duration(text_)
    except ValueError:
        raise colander.Invalid(node, f"不是有效时长：{text_!r}（如 P1D、5WD）") from None


def _adjustment(node: colander.SchemaNode, row: dict[str, Any]) -> None:
    if row.get("free") and "points" in row:
        raise key_problem(node, "points", "free = true 的调整项由督查室录入分值，不能再定分值")
    if not row.get("free") and "points" not in row:
        raise key_problem(node, "points", "缺少必填键（或写 free = true 由督查室录入分值）")


def _categories_present(node: colander.SchemaNode, data: dict[str, Any]) -> None:
    if data["ruleset"]["method"] == "categories" and not data.get("categories"):
        raise key_problem(node, "categories", "method = \"categories\" 需要至少一个 [[categories]]")


def rules_schema() -> colander.SchemaNode:
    return table(
        "",
        table("ruleset",
              text("name", required=True),
              text("title", required=True),
              text("method", required=True, validator=one_of(METHODS, "计分方法")),
              number("base"),
              number("item_points"),
              number("bonus_min"),
              number("bonus_max"),
              flag("item_required"),
              # the average a unit's 满意率 is compared with: of every unit, or of its class (``[unit_classes]``)
              text("satisfaction_average", validator=one_of(("all", "class"), "平均满意率的范围")),
              required=True),
        # classes of units (seed 003 考核对象: 县区、园区、一类…四类单位): class -> unit ids or titles
        table_of("unit_classes", texts(""), what="单位类别"),
        table_of("events", table("", text("title"), number("points")), keys=EVENTS, what="自动计分事件"),
        array("categories", table("",
                                  text("name", required=True),
                                  text("title", required=True),
                                  number("max", required=True),
                                  table_of("events", number(""), keys=EVENTS, what="自动计分事件"),
                                  number("satisfaction_per_point"))),
        table_of("adjustments", table("", text("title", required=True), number("points"), flag("free"),
                                      text("category"), text("group"), text("requires"), text("cap"),
                                      table_of("rank_top", integer("", validator=between(1, 100)), what="单位类别"),
                                      validator=_adjustment)),
        # sub-caps of the bonus (seed 003 附件5 四(三)1: 累计不超过2分 …): cap name -> most points
        table_of("bonus_caps", number("", validator=at_least(0)), what="加分上限"),
        # who is scored on the key work (seed 003 四(二)) and what the others get instead
        table("key_work",
              text("category", required=True),
              texts("units"),
              text("missing", validator=one_of(KEY_WORK_MISSING, "缺项处理"))),
        table("feedback", text("mode", required=True, validator=one_of(FEEDBACK_MODES, "反馈时限算法")),
              integer("days", validator=between(1, 31)), integer("day", validator=between(1, 28))),
        array("flags", table("", text("name", required=True), text("title", required=True),
                             text("event", required=True, validator=one_of(tuple(EVENTS), "自动计分事件")),
                             integer("count", required=True, validator=between(1, 100)),
                             text("scope", validator=one_of(FLAG_SCOPES, "统计范围")))),
        array("ladder", table("", text("name", required=True), text("title", required=True),
                              text("after", required=True, validator=_ladder_after))),
        array("honours", table("", text("name", required=True), text("title", required=True),
                               text("period", required=True, validator=one_of(("H1", "year"), "考核期间")),
                               integer("top", required=True, validator=between(1, 100)),
                               flag("all_completed"))),
        table_of("grades", table("", number("points", required=True), text("title")),
                 keys=GRADE_VALUES, what="评价等次"),
        validator=_categories_present,
    )


def grading_schema() -> colander.SchemaNode:
    grade = table("", text("value", required=True), text("title", required=True), text("criteria", required=True),
                  flag("praise"), flag("criticise"), flag("highlight"))
    stage = table("", text("name", required=True), text("group", required=True), text("title", required=True))
    return table(
        "",
        array("grades", grade, required=True, non_empty=True),
        table_of("stages", array("", stage), what="流程"),
        table_of("d_grade", text("", validator=one_of(D_GRADE_MODES, "不合格处理方式")), what="流程"),
    )
