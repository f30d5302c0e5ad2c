"""Schema of a workflow definition (``definitions/*.toml``, profile ``workflows/``).

Every key of a workflow file, at every depth (states, their permission maps and
deadlines, transitions, their fields and deadlines, vocabularies), with its type;
role tokens, item permissions, worklist buckets, attachment kinds, hook paths
and duration specs are checked here too.  What refers to other parts of the same
file (a transition's ``from`` / ``to`` states, a deadline's ``done_by`` /
``until``, ``clears``, ``initial_state``, a field's vocabulary) is checked by
``engine.compile_workflow`` once the file has passed.
"""

from __future__ import annotations

from typing import Any

import colander

from ..content_types.schema import field_schema, vocabularies_schema
from ..definitions import (
    array,
    flag,
    key_problem,
    one_of,
    table,
    table_of,
    text,
    text_or_texts,
    texts,
    value,
)
from ..security.roles import ROLES, UNIT_ROLES, is_valid_token
from .lookup import resolve

#: permissions a state's map may grant on an item (HACKING "Security"; the views check these names)
#: ``view_caller_phone``: see a ``masked`` field (来电号码) in full — those who must call back (issue 15)
ITEM_PERMISSIONS = ("view", "edit", "add_feedback", "add_attachment", "add_instruction", "view_audit",
                    "file", "correct_metadata", "view_caller_phone")
#: attachment kinds a transition may require (``requires_attachments``)
ATTACHMENT_KINDS = {"photo": "照片", "signed_report": "签字盖章的报告扫描件", "other": "其他附件"}
DEADLINE_KEYS_ONE_OF = ("duration", "durations", "date_field", "rule")


def _role(node: colander.SchemaNode, token: Any) -> None:
    if not is_valid_token(token):
        unit = ", ".join(f"lead:{r}" for r in ("*", *UNIT_ROLES))
        raise colander.Invalid(node, f"未知角色 '{token}'（可选：{', '.join(ROLES)}, authenticated, {unit}, "
                                     f"assist:…）")


def roles(name: str, *, non_empty: bool = False, required: bool = False) -> colander.SchemaNode:
    return texts(name, validator=_role, non_empty=non_empty, required=required)


def _buckets():
    from .worklist import BUCKETS

    return BUCKETS


def _dotted(node: colander.SchemaNode, dotted: str) -> None:
    try:
        resolve(dotted)
    except (ImportError, AttributeError, ValueError) as exc:
        raise colander.Invalid(node, f"无法导入 '{dotted}' ({exc})") from exc


def _spec(node: colander.SchemaNode, spec: Any) -> None:
    from .deadlines import SpecError, check_spec

    if spec == "":
        return
    try:
        check_spec(spec)
    except SpecError as exc:
        raise colander.Invalid(node, str(exc)) from exc


def _rules():
    from .deadlines import RULES

    return RULES


def _deadline_checks(node: colander.SchemaNode, d: dict[str, Any]) -> None:
    if not any(d.get(k) for k in DEADLINE_KEYS_ONE_OF):
        raise colander.Invalid(node, f"需要 {'、'.join(DEADLINE_KEYS_ONE_OF)} 之一")
    if (d.get("durations") or isinstance(d.get("warn"), dict)) and not d.get("by"):
        raise key_problem(node, "by", "缺少必填键（durations 或表形式的 warn 需要按哪个字段选择）")


def deadline_schema() -> colander.SchemaNode:
    """One ``[[...deadlines]]`` entry (``deadlines.DeadlineDef``)."""
    spec = value("", str, validator=_spec)
    return table(
        "",
        text("name", required=True),
        text("title", required=True),
        value("duration", str, validator=_spec),
        text("by"),
        table_of("durations", spec),
        text("date_field"),
        text("start_field"),
        value("warn", str, dict, validator=_warn),
        value("warn_after", str, validator=_spec),
        texts("done_by"),
        texts("until"),
        text("feedback", validator=one_of(("done", "repeat"))),
        text("rule", validator=one_of(_rules, "规则")),
        texts("boards"),
        validator=_deadline_checks,
    )


def _warn(node: colander.SchemaNode, warn: Any) -> None:
    """``warn``: a spec, or a table of specs keyed like ``durations``."""
    if isinstance(warn, dict):
        for key, spec in warn.items():
            if not isinstance(spec, str):
                raise colander.Invalid(node, f"{key}: 应为时限文本，实为 {spec!r}")
            try:
                _spec(node, spec)
            except colander.Invalid as exc:
                raise colander.Invalid(node, f"{key}: {exc.msg}") from exc
    else:
        _spec(node, warn)


def _state_checks(node: colander.SchemaNode, st: dict[str, Any]) -> None:
    if not st.get("permissions"):
        raise key_problem(node, "permissions", "权限映射为空 (state without permission map)")


def state_schema() -> colander.SchemaNode:
    return table(
        "",
        text("title", required=True),
        table_of("permissions", roles(""), keys=ITEM_PERMISSIONS, what="权限", required=True),
        flag("inherit"),
        flag("final"),
        text("worklist", validator=one_of(_buckets, "待办分类")),
        roles("worklist_roles"),
        array("deadlines", deadline_schema()),
        flag("stop_clock"),
        validator=_state_checks,
    )


def _request_by(node: colander.SchemaNode, spec: str) -> None:
    """``request_by``: how long before the end of the item's 办结时限 the transition must be asked
    for (``PT0S`` = before it expires, ``P2D`` = 提前2天), a calendar ISO duration."""
    from .deadlines import ISO_RE

    m = ISO_RE.match(spec or "")
    if not m or spec in ("P", "PT") or spec.endswith("T") or not any(v is not None for v in m.groupdict().values()):
        raise colander.Invalid(node, f"不是有效时长：{spec!r}（如 PT0S、P2D）")


def _transition_checks(node: colander.SchemaNode, t: dict[str, Any]) -> None:
    if t.get("auto") and t.get("system"):
        raise key_problem(node, "system", "auto 与 system 不能同时为 true")


def transition_schema() -> colander.SchemaNode:
    return table(
        "",
        text("title", required=True),
        text_or_texts("from", required=True),
        text("to", required=True),
        roles("roles"),
        text("permission", validator=one_of(ITEM_PERMISSIONS, "权限")),
        text("guard", validator=_dotted),
        array("fields", field_schema()),
        text("before", validator=_dotted),
        text("after", validator=_dotted),
        flag("auto"),
        flag("system"),
        text_or_texts("requires_attachments", validator=one_of(ATTACHMENT_KINDS, "附件类别")),
        array("deadlines", deadline_schema()),
        texts("clears"),
        text("request_by", validator=_request_by),
        # per-site switches the transition's hooks read (``transition.options``), e.g. seed 003's
        # 延期 cut-off; each hook documents its own keys
        table_of("options", value("", str, int, float, bool), what="选项"),
        validator=_transition_checks,
    )


def workflow_schema() -> colander.SchemaNode:
    return table(
        "",
        table("workflow",
              text("name", required=True),
              text("title", required=True),
              text("initial_state", required=True),
              array("deadlines", deadline_schema()),
              required=True),
        table_of("states", state_schema(), required=True, what="状态"),
        table_of("transitions", transition_schema(), what="流转"),
        vocabularies_schema(),
    )
