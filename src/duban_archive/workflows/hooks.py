"""Guards and before/after hooks named (by dotted path) in the shipped workflows.

Guards: ``guard(item, request, transition[, principals=...]) -> str | None``
(a refusal message, or None).  Hooks: ``hook(item, transition, appstruct, actor)``;
a ``before`` hook runs before anything changes and may raise WorkflowError
(400, field errors) to refuse; an ``after`` hook runs once the state changed,
before the ACL and deadlines are recomputed.  All persist plain data only.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ..timeutil import now, today
from .deadlines import add_months, open_deadlines, store
from .engine import WorkflowError
from .lookup import workflow_for


def _last_fields(item: Any, transition: str) -> dict[str, Any]:
    for entry in reversed(item.history):
        if entry.get("transition") == transition:
            return dict(entry.get("fields") or {})
    return {}


def _last_actor(item: Any, transition: str) -> str | None:
    for entry in reversed(item.history):
        if entry.get("transition") == transition:
            return entry.get("actor")
    return None


def _actor_of(principals) -> str | None:
    for p in principals or ():
        if p.startswith("user:"):
            return p[5:]
    return None


def _audit_edit(item: Any, actor: str, name: str, old: Any, new: Any) -> None:
    from .engine import _site_of

    site = _site_of(item)
    if site is not None and "audit" in site:
        from ..audit.log import record

        record(site, "edit", actor, item.item_id, field=name, old=old, new=new)


# -- duban: 交办 ---------------------------------------------------------------
def store_problem_kind(item, transition, appstruct, actor) -> None:
    """13710: general problems are solved within 7 days, major ones within 1 month."""
    item.problem_kind = appstruct.get("problem_kind") or "general"


# -- 延期申请 (seed 001 附件2 三.5: once per item, at most 2 months) -------------------
def extension_not_used(item, request, transition) -> str | None:
    if getattr(item, "extension_count", 0) >= 1:
        return "每个事项只能延期一次，本事项已延期过"
    return None


def check_extension(item, transition, appstruct, actor) -> None:
    new = appstruct.get("new_deadline")
    current = getattr(item, "deadline", None)
    base = current or today()
    if not isinstance(new, date):
        raise WorkflowError(400, "填写内容有误", {"new_deadline": "必填"})
    if new <= base:
        raise WorkflowError(400, "填写内容有误", {"new_deadline": f"延期后的办结时限应晚于原时限 {base.isoformat()}"})
    limit = add_months_date(base, 2)
    if new > limit:
        raise WorkflowError(400, "填写内容有误", {
            "new_deadline": f"延期时限最多不能超过 2 个月（不晚于 {limit.isoformat()}）"})


def add_months_date(day: date, months: int) -> date:
    from datetime import datetime

    return add_months(datetime(day.year, day.month, day.day), months).date()


def grant_extension(item, transition, appstruct, actor) -> None:
    requested = _last_fields(item, "request_extension").get("new_deadline")
    old = getattr(item, "deadline", None)
    item.extension_count = getattr(item, "extension_count", 0) + 1
    if isinstance(requested, date):
        item.deadline = requested
        _audit_edit(item, actor, "deadline", old, requested)
        workflow_for(item).recompute_deadline(item, "due")


# -- 转办 (seed 001 附件2 三.7: change of lead unit, approved) -------------------------
def check_transfer(item, transition, appstruct, actor) -> None:
    new = appstruct.get("new_lead_unit")
    if not new:
        raise WorkflowError(400, "填写内容有误", {"new_lead_unit": "必填"})
    if new == getattr(item, "lead_unit", None):
        raise WorkflowError(400, "填写内容有误", {"new_lead_unit": "新承办单位与现承办单位相同"})


def apply_transfer(item, transition, appstruct, actor) -> None:
    new = _last_fields(item, "request_transfer").get("new_lead_unit")
    if not new:
        return
    old = item.lead_unit
    item.lead_unit = new
    assist = tuple(u for u in (getattr(item, "assist_units", ()) or ()) if u != new)
    if assist != tuple(getattr(item, "assist_units", ()) or ()):
        item.assist_units = assist
    item.transfers = tuple(getattr(item, "transfers", ())) + ((old, new, now()),)
    _audit_edit(item, actor, "lead_unit", old, new)


# -- 持续推进 (seed 002) --------------------------------------------------------
def check_plan(item, transition, appstruct, actor) -> None:
    until = appstruct.get("plan_until")
    if not isinstance(until, date) or until <= today():
        raise WorkflowError(400, "填写内容有误", {"plan_until": "计划完成时间应晚于今天"})


def start_long_running(item, transition, appstruct, actor) -> None:
    fields = _last_fields(item, "request_long_running")
    item.plan = fields.get("plan", "")
    item.plan_until = fields.get("plan_until")
    item.long_running_since = now()


# -- 销号 (seed 001 附件2 三.6: 分管领导审核, 主要领导同意) --------------------------------
def distinct_approver(item, request, transition, principals=()) -> str | None:
    first = _last_actor(item, "review_cancel")
    me = _actor_of(principals)
    if first and me and first == me:
        return "销号须经两位领导先后审核、同意：审核人不能再作最终同意"
    return None


# -- internet_plus: 反馈报告 (seed 000: signed by the head, sealed) ------------------
def check_signed_report(item, transition, appstruct, actor) -> None:
    if not appstruct.get("sealed"):
        raise WorkflowError(400, "填写内容有误", {"sealed": "反馈报告须经单位主要领导审核签字并加盖公章"})


# -- hotline (seed 003) ------------------------------------------------------------
HOTLINE_LIMITS = {"consultation": 1, "urgent": 1, "complex_consultation": 3, "suggestion": 3, "complaint": 7}


def mark_dispatched(item, transition, appstruct, actor) -> None:
    """派单: the dispatch time drives sign_by; a re-dispatch after 退单 restarts it.

    Seed 003 附件5 四(一)2(1) 不当退单: 「承办单位退回本应由其办理的工单，造成“宿事速办”工作平台两次将同一工单
    转同一承办单位办理的，视为不当退单」 — flagged when the platform dispatches the ticket again to the unit
    that declined it (not at that unit's next decline).
    """
    previous = item.history[-1].get("to") if item.history else ""
    moment = now()
    first = not any(e.get("transition") == "dispatch" for e in item.history)
    if first or previous == "declined":  # a system field: whatever it held before 派单 is replaced
        item.dispatched_at = moment
    unit = getattr(item, "lead_unit", "") or ""
    if previous == "declined" and unit and unit == getattr(item, "last_declined_by", None):
        item.undue_declines = tuple(getattr(item, "undue_declines", ()) or ()) + ((unit, moment),)
        flagged = tuple(getattr(item, "improper_declines", ()) or ())
        if unit not in flagged:
            item.improper_declines = flagged + (unit,)
        item.improper_decline = True


def decline_in_time(item, request, transition) -> str | None:
    d = open_deadlines(item).get("decline_by")
    if d is not None and now() > d["due"]:
        return "已超过退单时限（1 个工作日），视同已接受工单"
    return None


def decline_window_passed(item, request, transition) -> str | None:
    """Guard of the automatic 视同签收: fires once the decline window is over."""
    d = open_deadlines(item).get("decline_by")
    if d is None or now() <= d["due"]:
        return "退单时限未到"
    return None


def count_decline(item, transition, appstruct, actor) -> None:
    """Count the unit's 退单 and remember who declined (a re-dispatch to it is 不当退单: ``mark_dispatched``)."""
    unit = getattr(item, "lead_unit", "") or ""
    declines = dict(getattr(item, "declines", None) or {})
    declines[unit] = declines.get(unit, 0) + 1
    item.declines = declines
    item.last_declined_by = unit


def check_hotline_extension(item, transition, appstruct, actor) -> None:
    days = appstruct.get("days")
    limit = HOTLINE_LIMITS.get(getattr(item, "ticket_kind", ""), 7)
    if not isinstance(days, int) or days < 1:
        raise WorkflowError(400, "填写内容有误", {"days": "延长天数应为正整数（工作日）"})
    if days > limit:
        raise WorkflowError(400, "填写内容有误", {"days": f"延长时限不得超过原办理时限（{limit} 个工作日）"})


def grant_hotline_extension(item, transition, appstruct, actor) -> None:
    from .calendar import WorkCalendar
    from .deadlines import END_OF_DAY, _at
    from .engine import _site_of

    days = _last_fields(item, "request_extension").get("days") or 0
    item.extension_count = getattr(item, "extension_count", 0) + 1
    current = open_deadlines(item)
    rec = current.get("limit")
    if rec is None or not days:
        return
    cal = WorkCalendar.for_site(_site_of(item))
    day = cal.add_working_days(rec["due"].date(), int(days))
    rec = dict(rec, due=_at(day, END_OF_DAY), calendar_known=rec.get("calendar_known", True) and cal.known)
    if rec.get("warn_from") is not None:
        rec["warn_from"] = rec["due"] - (current["limit"]["due"] - current["limit"]["warn_from"])
    current["limit"] = rec
    store(item, current)


def check_visit(item, transition, appstruct, actor) -> None:
    if appstruct.get("satisfaction") == "dissatisfied" and appstruct.get("claim_reasonable"):
        raise WorkflowError(400, "填写内容有误", {
            "satisfaction": "诉求人不满意且诉求合理的工单应退回重办（重办），不能办结"})


def record_visit(item, transition, appstruct, actor) -> None:
    item.satisfaction = appstruct.get("satisfaction")
    if appstruct.get("resolved"):
        item.resolved = appstruct["resolved"]


def count_redo(item, transition, appstruct, actor) -> None:
    item.redo_count = getattr(item, "redo_count", 0) + 1

