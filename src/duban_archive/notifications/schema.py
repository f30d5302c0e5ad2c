"""Schema of a reminder rule set (``rules/*.toml``, profile ``rules/``).

Every key at every depth with its type; durations, clock times, role tokens,
channels, 督办 levels and due modes are checked here.  ``rules.compile_ruleset``
checks what spans keys (an escalation level defined under ``[levels]``) and
``ReminderRules.load`` that no board has two rule sets.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import colander

from ..definitions import (
    array,
    between,
    integer,
    key_problem,
    one_of,
    table,
    table_of,
    text,
    texts,
    value,
)
from ..workflows.schema import roles
from .durations import parse_duration
from .outbox import CHANNELS

DUE_MODES = ("deadline", "next_due", "sign_by", "close_by")
SPAN_MODES = ("calendar_days", "hours")
ESCALATION_EVENTS = ("returned", "dissatisfied")
ACCOUNTABILITY_EVENTS = ("returned",)
#: placeholders a notice ``body`` may use (``reminders.notice_fields``): ``deadline`` the 办理时限 as the
#: item page writes it, ``limit`` the phrase 「，办理时限 …」 or nothing when the item has none
NOTICE_FIELDS = ("number", "title", "deadline", "limit", "reason", "state", "actor", "unit")
#: ``[notices.<key>]`` keys that are events, not transitions (``reminders.notice_on_event``)
NOTICE_EVENTS = ("feedback",)


def _template(node: colander.SchemaNode, text_: Any) -> None:
    import string

    try:
        names = {f for _, f, _, _ in string.Formatter().parse(str(text_)) if f is not None}
    except ValueError as exc:
        raise colander.Invalid(node, f"模板格式有误：{exc}") from None
    bad = sorted(names - set(NOTICE_FIELDS))
    if bad:
        raise colander.Invalid(node, f"未知的占位符 {{{bad[0]}}}（可用：{'、'.join(NOTICE_FIELDS)}）")


def _duration(node: colander.SchemaNode, text_: Any) -> None:
    try:
        parse_duration(text_)
    except ValueError:
        raise colander.Invalid(node, f"不是有效时长：{text_!r}（如 PT5H、P1D、P1M、3WD）") from None


def duration(name: str, *, required: bool = False) -> colander.SchemaNode:
    return value(name, str, required=required, validator=_duration)


def _clock(node: colander.SchemaNode, text_: Any) -> None:
    try:
        time.fromisoformat(str(text_))
    except ValueError:
        raise colander.Invalid(node, f"应为 HH:MM 时间，实为 {text_!r}") from None


def _month_day(node: colander.SchemaNode, text_: Any) -> None:
    from datetime import date

    try:
        date.fromisoformat(f"2024-{text_}")
    except (TypeError, ValueError):
        raise colander.Invalid(node, f"应为 MM-DD 日期，实为 {text_!r}") from None


def _positive_every(node: colander.SchemaNode, row: dict[str, Any]) -> None:
    if parse_duration(row["every"]).approx.total_seconds() <= 0:
        raise key_problem(node, "every", "必须大于 0")


def _escalation(node: colander.SchemaNode, row: dict[str, Any]) -> None:
    if ("field" in row) != ("values" in row):
        raise key_problem(node, "values" if "field" in row else "field", "field 与 values 须同时给出")
    if "overdue" in row:
        if "event" in row or "count" in row:
            raise key_problem(node, "event", "overdue 与 event / count 只能选其一")
        return
    if "event" not in row:
        raise colander.Invalid(node, "需要 overdue = 时长，或 event = \"returned\"/\"dissatisfied\" 与 count")
    if "count" not in row:
        raise key_problem(node, "count", "缺少必填键（event 需要次数 count）")


def ruleset_schema() -> colander.SchemaNode:
    return table(
        "",
        table("ruleset",
              text("name", required=True),
              text("title", required=True),
              texts("boards", required=True),
              texts("states", required=True),
              roles("notify", required=True, non_empty=True),
              texts("channels", validator=one_of(CHANNELS, "渠道")),
              text("span", validator=one_of(SPAN_MODES, "时间节点算法")),
              text("start_day", validator=one_of(("excluded", "included"), "起算日")),
              required=True),
        array("before", table("", duration("span_max", required=True), duration("lead", required=True))),
        table("long", duration("every", required=True), duration("lead")),
        array("overdue", table("", duration("from", required=True), duration("to", required=True),
                               duration("every", required=True), validator=_positive_every)),
        table("overdue_at", array("offsets", duration(""), required=True)),
        array("escalation", table("",
                                  integer("level", required=True, validator=one_of((1, 2, 3), "督办级别")),
                                  duration("overdue"),
                                  text("event", validator=one_of(ESCALATION_EVENTS, "事件")),
                                  integer("count", validator=between(1, 100)),
                                  texts("states"),
                                  text("field"),
                                  texts("values"),
                                  validator=_escalation)),
        array("accountability", table("",
                                      text("event", required=True, validator=one_of(ACCOUNTABILITY_EVENTS, "事件")),
                                      integer("count", required=True, validator=between(1, 100)),
                                      text("title"),
                                      roles("notify", required=True, non_empty=True))),
        table_of("levels", table("", text("title", required=True), roles("notify", required=True, non_empty=True)),
                 keys=("1", "2", "3"), what="督办级别"),
        table("monthly",
              texts("states", required=True),
              array("days", integer("", validator=between(1, 28)), required=True),
              array("times", value("", str, validator=_clock), required=True),
              duration("follow_up"),
              roles("follow_up_notify", non_empty=True)),
        table("quarterly",
              texts("states", required=True),
              integer("lead_days", validator=between(0, 30)),
              integer("q4_advance_days", validator=between(0, 30)),
              value("time", str, validator=_clock),
              texts("boards")),
        table("year_end",
              texts("states", required=True),
              array("dates", value("", str, validator=_month_day), required=True, non_empty=True),
              value("time", str, validator=_clock)),
        table("quiet_hours",
              value("start", str, required=True, validator=_clock),
              value("end", str, required=True, validator=_clock),
              texts("channels", validator=one_of(CHANNELS, "渠道"))),
        table_of("due", text("", validator=one_of(DUE_MODES, "时限方式"))),
        table_of("close_by", duration("")),
        # key: a transition, or "feedback" (a 反馈报告 was added); body: NOTICE_FIELDS placeholders
        table_of("notices", table("", roles("notify", required=True, non_empty=True), text("subject"),
                                  text("body", validator=_template))),
        # key: a state the item enters (by a transition, or created in it: 待审签)
        table_of("state_notices", table("", roles("notify", required=True, non_empty=True),
                                        text("subject", required=True), text("body", validator=_template))),
    )
