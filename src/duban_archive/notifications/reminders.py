"""The reminder engine: which reminders an item needs, and producing them when due.

``plan(item)`` lists every reminder the item's rule set asks for in its
*current* state (before the deadline, overdue, escalation, monthly
progress).  The outbox schedule holds only each item's next fire time, so a
tick touches only the items that are due.  Whenever an item changes (state,
feedback, deadline) it is re-planned at commit time and pending reminders it
no longer needs are cancelled; a reminder whose condition was met meanwhile
(the unit reported) is skipped when it comes due.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..content_types.site import find_site
from ..security.roles import principals_for_token, user_principals
from ..timeutil import CST, as_cst, now
from ..txn import transaction_for
from ..workflows.deadlines import format_due
from .outbox import KINDS, Message, Outbox, epoch, get_outbox, new_id
from .rules import ReminderRules, RuleSet, add_months, end_of_day

log = logging.getLogger(__name__)

REMINDER_KINDS = ("reminder", "overdue", "monthly")
WORK_START = ("assign", "dispatch", "accept", "return", "redo", "approve_extension", "approve_long_running")


@dataclass(frozen=True)
class Fire:
    at: datetime
    kind: str  # reminder | overdue | monthly | escalation
    rule: str
    #: skipped if the unit reported (feedback) after this moment
    since: datetime | None = None
    due: datetime | None = None
    level: int = 0
    #: who is told (role tokens); empty: the rule set's ``notify``
    notify: tuple[str, ...] = ()


# -- deadlines ------------------------------------------------------------
def work_start(item) -> datetime:
    """When the current round of work began (the last 交办 / 签收 / 退回)."""
    for entry in reversed(list(item.history)):
        if entry.get("transition") in WORK_START:
            return as_cst(entry["time"])
    return as_cst(getattr(item, "created", None) or now())


def assigned_at(item) -> datetime:
    for entry in reversed(list(item.history)):
        if entry.get("transition") in ("assign", "dispatch"):
            return as_cst(entry["time"])
    return work_start(item)


def sign_by(dispatched: datetime, calendar) -> datetime:
    """Seed 003: morning dispatch -> 17:30 same day; afternoon -> 12:00 next working day."""
    dispatched = as_cst(dispatched)
    day = dispatched.date()
    if calendar.is_workday(day) and dispatched.time() < time(12, 0):
        return datetime.combine(day, time(17, 30), CST)
    return datetime.combine(calendar.next_workday(day), time(12, 0), CST)


def item_due(item, rs: RuleSet, calendar) -> datetime | None:
    mode = rs.due.get(item.state, "deadline")
    if mode == "sign_by":
        dispatched = getattr(item, "dispatched_at", None) or assigned_at(item)
        return sign_by(dispatched, calendar)
    if mode == "close_by":
        kind = getattr(item, "ticket_kind", "") or ""
        dur = rs.close_by.get(kind)
        if dur is not None:
            start = getattr(item, "dispatched_at", None) or assigned_at(item)
            due = dur.add(as_cst(start), calendar)
            deadline = getattr(item, "deadline", None)
            if isinstance(deadline, date) and end_of_day(deadline, CST) > due:
                due = end_of_day(deadline, CST)  # an approved extension moved it
            return due
    nxt = getattr(item, "next_due", None)
    if mode == "next_due" and isinstance(nxt, datetime):
        return as_cst(nxt)  # the workflows subsystem's next deadline
    deadline = getattr(item, "deadline", None)
    if isinstance(deadline, datetime):
        return as_cst(deadline)
    if isinstance(deadline, date):
        return end_of_day(deadline, CST)
    return as_cst(nxt) if isinstance(nxt, datetime) else None


# -- planning -------------------------------------------------------------
def plan(item, rs: RuleSet, calendar, moment: datetime) -> list[Fire]:
    fires: list[Fire] = []
    state = item.state
    if state in rs.monthly_states:
        fires.extend(_monthly(rs, moment))
    if rs.monthly_follow_up is not None or rs.quarterly or rs.year_end:
        from .cadence import cadence_fires

        fires.extend(cadence_fires(item, rs, calendar, moment, Fire))
    if state not in rs.states:
        return fires
    due = item_due(item, rs, calendar)
    if due is None:
        return fires
    start = work_start(item)
    span = due - start
    lead = rs.lead_for(span, start, due)
    is_long = rs.is_long(span, start, due)
    if lead is not None:
        fires.append(Fire(lead.sub(due), "reminder", "before", since=start, due=due))
    if is_long and rs.long_every is not None:
        t = rs.long_every.add(start)
        limit = lead.sub(due) if lead is not None else due
        while t < limit:
            fires.append(Fire(t, "reminder", "weekly", since=t - rs.long_every.approx, due=due))
            t = rs.long_every.add(t)
    for w in rs.overdue:
        t = w.every.add(w.start.add(due))
        end = w.end.add(due)
        while t <= end:
            fires.append(Fire(t, "overdue", "overdue", since=due, due=due))
            t = w.every.add(t)
    for off in rs.overdue_at:
        fires.append(Fire(off.add(due), "overdue", "overdue_at", since=due, due=due))
    for e in rs.escalations:
        if e.overdue is not None and e.applies(item):
            fires.append(Fire(e.overdue.add(due), "escalation", f"escalate{e.level}", since=due, due=due,
                              level=e.level))
    return fires


def _monthly(rs: RuleSet, moment: datetime) -> list[Fire]:
    out = []
    first = datetime(moment.year, moment.month, 1, tzinfo=CST)
    for months in (0, 1):
        month_start = add_months(first, months)
        prev_start = add_months(month_start, -1)
        for d in rs.monthly_days:
            for t in rs.monthly_times:
                at = datetime.combine(month_start.date().replace(day=d), t, CST)
                out.append(Fire(at, "monthly", "monthly", since=prev_start))
    return out


def answered(item, since: datetime | None) -> bool:
    if since is None:
        return False
    for fb in item.feedback.values():
        created = getattr(fb, "created", None)
        if created is not None and as_cst(created) > since:
            return True
    return False


# -- recipients and messages ---------------------------------------------
class Directory:
    """principal -> users, built once per transaction (users are few, items many)."""

    def __init__(self, site) -> None:
        self.by_principal: dict[str, list[Any]] = {}
        for user in site["users"].values():
            if not getattr(user, "active", True):
                continue
            for p in user_principals(user.username, user.roles, user.unit):
                self.by_principal.setdefault(p, []).append(user)

    def resolve(self, item, tokens: Iterable[str]) -> list[Any]:
        lead = getattr(item, "lead_unit", None)
        assist = getattr(item, "assist_units", ()) or ()
        seen: dict[str, Any] = {}
        for token in tokens:
            for p in principals_for_token(token, lead, assist):
                for user in self.by_principal.get(p, ()):
                    seen.setdefault(user.username, user)
        return list(seen.values())


def address_for(user, channel: str) -> str:
    if channel == "inbox":
        return user.username
    if channel == "email":
        return getattr(user, "email", "") or ""
    if channel == "sms":
        return getattr(user, "phone", "") or ""
    return ""


def produce(box: Outbox, rs: RuleSet | None, item, users: list[Any], kind: str, rule: str, subject: str,
            body: str, moment: datetime, key: str | None, channels: Iterable[str]) -> list[Message]:
    """One message per recipient and channel; quiet hours defer SMS/e-mail, never the inbox."""
    out = []
    for user in users:
        for channel in channels:
            address = address_for(user, channel)
            if not address:
                continue
            not_before = moment
            if rs is not None and channel in rs.quiet_channels:
                not_before = rs.quiet_until(moment)
            msg = Message(new_id(), kind=kind, channel=channel, recipient=user.username, address=address,
                          subject=subject, body=body, item_id=getattr(item, "item_id", ""), rule=rule,
                          not_before=not_before, created=moment)
            dedupe = f"{key}|{user.username}|{channel}" if key else None
            if box.add(msg, dedupe) is not None:
                out.append(msg)
    return out


def _fmt(moment: datetime | None) -> str:
    return format_due(moment)  # the item page's format, to the minute


def texts(item, fire: Fire, moment: datetime, rs: RuleSet) -> tuple[str, str]:
    head = f"{item.number}《{item.title}》"
    if fire.rule in ("monthly_follow_up", "quarterly", "year_end"):
        from .cadence import cadence_texts

        got = cadence_texts(item, fire, format_due)
        if got is not None:
            return got
    if fire.kind == "reminder":
        return (f"【督办提醒】{item.number} 即将到期",
                f"{head}将于 {_fmt(fire.due)} 到期，请按时办理并通过系统反馈办理情况。")
    if fire.kind == "overdue":
        hours = max(0, int((moment - fire.due).total_seconds() // 3600)) if fire.due else 0
        return (f"【逾期催办】{item.number} 已逾期",
                f"{head}已超过办理时限（{_fmt(fire.due)}），已逾期 {hours} 小时，请立即办理并说明情况。")
    if fire.kind == "monthly":
        prev = add_months(datetime(fire.at.year, fire.at.month, 1, tzinfo=CST), -1)
        return (f"【月度进展催报】{item.number}",
                f"{head}{prev.year}年{prev.month}月的落实进展尚未反馈，请立即通过系统报送。")
    return (KINDS.get(fire.kind, fire.kind), head)


# -- escalation -----------------------------------------------------------
def escalate(site, item, level: int, reason: str, rs: RuleSet | None, moment: datetime,
             actor: str = "system", directory: Directory | None = None) -> bool:
    """Raise the item to 督办 ``level`` (never lowers it); history, audit and notices."""
    from ..audit.log import record

    current = int(getattr(item, "escalation_level", 0) or 0)
    if level <= current:
        return False
    title = rs.levels[level].title if rs is not None and level in rs.levels else f"{'一二三'[level - 1]}级督办"
    item.escalation_level = level
    item.history.append({
        "time": moment, "actor": actor, "transition": "escalate", "title": title,
        "from": item.state, "to": item.state, "comment": reason,
        "fields": {"level": level, "reason": reason},
    })
    record(site, "transition", actor, item.item_id, transition="escalate", level=level, reason=reason)
    if rs is not None and level in rs.levels:
        directory = directory or Directory(site)
        users = directory.resolve(item, rs.levels[level].notify)
        produce(get_outbox(site), rs, item, users, "escalation", f"escalate{level}",
                f"【{title}】{item.number}", f"{item.number}《{item.title}》启动{title}：{reason}",
                moment, f"{item.item_id}|escalate{level}", rs.channels)
    return True


def event_escalations(site, item, rs: RuleSet, moment: datetime, directory=None) -> None:
    returned = sum(1 for e in item.history if e.get("transition") == "return")
    dissatisfied = sum(1 for e in item.history if _dissatisfied(e))
    for esc in sorted(rs.escalations, key=lambda e: e.level):
        if not esc.applies(item):
            continue
        if esc.event == "returned" and returned >= esc.count:
            escalate(site, item, esc.level, f"被退回重办 {returned} 次", rs, moment, directory=directory)
        elif esc.event == "dissatisfied" and dissatisfied >= esc.count:
            escalate(site, item, esc.level, f"诉求人 {dissatisfied} 次评价不满意", rs, moment, directory=directory)


def _dissatisfied(entry: dict) -> bool:
    if entry.get("transition") in ("dissatisfied", "redo"):  # 重办 = 诉求人不满意且诉求合理
        return True
    fields = entry.get("fields") or {}
    return str(fields.get("satisfaction", "")) in ("dissatisfied", "不满意")


# -- scheduling -----------------------------------------------------------
def rules_of(registry) -> ReminderRules:
    return registry.duban_reminder_rules


def calendar_of(site):
    from ..workflows.calendar import WorkCalendar

    return WorkCalendar.for_site(site)


def reschedule(site, item, registry, moment: datetime | None = None, calendar=None) -> None:
    """Re-plan ``item`` now: cancel what it no longer needs, remember its next fire time."""
    moment = moment or now()
    box = get_outbox(site)
    box.cancel_for_item(item.item_id, REMINDER_KINDS, "事项已反馈或状态已变化，提醒取消")
    rs = rules_of(registry).for_board(item.board_id)
    if rs is None or getattr(item, "archived", False):
        box.unschedule(item.item_id, item)
        return
    fires = plan(item, rs, calendar or calendar_of(site), moment)
    upcoming = [f.at for f in fires if f.at > moment]
    # a reminder or escalation of the new plan whose time has already passed (a deadline moved
    # nearer, an item assigned late, re-planned after downtime) is not dropped: the item is due at
    # once and the next tick sends one catch-up per rule; the outbox's dedupe keys stop a repeat of
    # what was already sent, ``answered`` what the unit has already reported
    missed = [f.at for f in fires if f.at <= moment and _catch_up(item, f)]
    if missed:
        first = min(missed)
        box.schedule_item(item, first, first - timedelta(seconds=1))
        return
    box.schedule_item(item, min(upcoming) if upcoming else None, moment)


def _catch_up(item, fire: Fire) -> bool:
    """Whether a past fire of a fresh plan is still worth sending (not a monthly call-up for a month
    before the work began, not one the unit already answered)."""
    if (fire.kind == "monthly" or fire.rule in ("quarterly", "year_end")) and fire.at < work_start(item):
        return False
    return not answered(item, fire.since)


def fire_item(site, box: Outbox, item, rs: RuleSet, moment: datetime, calendar, directory: Directory) -> int:
    """Produce the reminders that came due since the item was last checked; returns messages made."""
    fires = plan(item, rs, calendar, moment)
    checked = box.checked(item)
    since = datetime.fromtimestamp(checked, CST) if checked is not None else None
    fresh = [f for f in fires if (since is None or f.at > since) and f.at <= moment]
    latest: dict[str, Fire] = {}
    for f in fresh:  # after downtime send one catch-up per rule, not a flood
        if f.rule not in latest or f.at > latest[f.rule].at:
            latest[f.rule] = f
    made = 0
    for f in sorted(latest.values(), key=lambda f: f.at):
        if answered(item, f.since):
            continue
        if f.kind == "escalation":
            hours = int((moment - f.due).total_seconds() // 3600) if f.due else 0
            reason = f"超过办理时限（{_fmt(f.due)}）{hours // 24} 天 {hours % 24} 小时仍未办结"
            made += escalate(site, item, f.level, reason, rs, moment, directory=directory)
            continue
        subject, body = texts(item, f, moment, rs)
        users = directory.resolve(item, f.notify or rs.notify)
        made += len(produce(box, rs, item, users, f.kind, f.rule, subject, body, moment,
                            f"{item.item_id}|{f.rule}|{epoch(f.at)}", rs.channels))
    upcoming = [f.at for f in fires if f.at > moment]
    box.schedule_item(item, min(upcoming) if upcoming else None, moment)
    return made


def fire_due(site, registry, moment: datetime, limit: int | None = None) -> tuple[int, bool]:
    """The scheduling half of a tick (inside the caller's transaction).

    Returns (messages made, whether more items may be due than ``limit`` allowed).
    """
    box = get_outbox(site)
    due = box.due_items(moment, limit)
    if not due:
        return 0, False
    more = limit is not None and len(due) >= limit
    due = due[:limit] if limit is not None else due
    rules = rules_of(registry)
    calendar = calendar_of(site)
    directory = Directory(site)
    made = 0
    for item_id in due:
        item = site.get_item(item_id)
        rs = rules.for_board(item.board_id) if item is not None else None
        if item is None or rs is None:
            box.unschedule(item_id, item)
            continue
        made += fire_item(site, box, item, rs, moment, calendar, directory)
    return made, more


# -- event handling (subscribers queue, a before-commit hook plans) -------
_PENDING = "_duban_reminder_items"


def touch(item, registry) -> None:
    """Re-plan ``item`` when this transaction commits (after every other subscriber ran)."""
    txn = transaction_for(item)
    pending = getattr(txn, _PENDING, None)
    if pending is None:
        pending = {}
        setattr(txn, _PENDING, pending)
        txn.addBeforeCommitHook(_plan_touched, (txn, registry))
    pending[item.item_id] = item


def _plan_touched(txn, registry) -> None:
    pending = getattr(txn, _PENDING, {})
    if not pending:
        return
    moment = now()
    site = find_site(next(iter(pending.values())))
    calendar = calendar_of(site)
    rules = rules_of(registry)
    directory = None  # built by escalate() only when something escalates
    for item in pending.values():
        try:
            rs = rules.for_board(item.board_id)
            if rs is not None and rs.escalations:
                event_escalations(site, item, rs, moment, directory)
            reschedule(site, item, registry, moment, calendar)
        except Exception:  # a reminder bug must never refuse the user's change; the next tick re-plans
            log.exception("planning reminders for %s failed", getattr(item, "item_id", item))


def notice_on_transition(site, item, transition: str, registry, moment: datetime | None = None) -> int:
    """The notice a transition sends (``[notices.<transition>]``) and the one for the state it
    enters (``[state_notices.<state>]``: 待归档 ...)."""
    rs = rules_of(registry).for_board(item.board_id)
    if rs is None:
        return 0
    made = 0
    if transition in rs.notices:
        made += _notice(site, item, rs, rs.notices[transition], transition, moment)
    if item.state in rs.state_notices:
        made += _notice(site, item, rs, rs.state_notices[item.state], f"state:{item.state}", moment)
    return made


def notice_on_event(site, item, event: str, registry, moment: datetime | None = None) -> int:
    """The notice of an event that is not a transition (``[notices.feedback]``: a 反馈报告 was added);
    the item stays in its state, so no state notice."""
    rs = rules_of(registry).for_board(item.board_id)
    if rs is None or event not in rs.notices:
        return 0
    return _notice(site, item, rs, rs.notices[event], event, moment)


def notice_on_created(site, item, registry, moment: datetime | None = None) -> int:
    """An item was created in its initial state (待审签: the leader is told)."""
    rs = rules_of(registry).for_board(item.board_id)
    if rs is None or item.state not in rs.state_notices:
        return 0
    return _notice(site, item, rs, rs.state_notices[item.state], f"state:{item.state}", moment)


#: the body of a notice whose rule names none (``{limit}`` is empty when the item has no 办理时限)
DEFAULT_BODY = "{number}《{title}》已交办贵单位办理{limit}，请及时签收。"


def notice_fields(item, rs: RuleSet, site) -> dict[str, str]:
    """What a notice template may name (``notifications.schema.NOTICE_FIELDS``): ``deadline`` is
    :func:`format_due` of the item's 办理时限, the text its page shows; ``limit`` is the same as the
    phrase 「，办理时限 …」, empty when there is none (the 12345 rule files' form)."""
    due = item_due(item, rs, calendar_of(site)) if item.state in rs.states else None
    if due is None and isinstance(getattr(item, "deadline", None), date):
        due = end_of_day(item.deadline, CST)
    last = item.history[-1] if item.history else {}
    fields = last.get("fields") or {}
    reason = str(fields.get("reason") or last.get("comment") or "")
    units = site["units"] if "units" in site else {}
    lead = getattr(item, "lead_unit", "") or ""
    unit = units[lead].title if lead in units else lead
    return {"number": item.number, "title": getattr(item, "title", ""), "deadline": format_due(due),
            "limit": f"，办理时限 {format_due(due)}" if due else "",
            "reason": reason or "（未填写）", "state": item.state, "actor": str(last.get("actor", "")), "unit": unit}


def _notice(site, item, rs: RuleSet, notice: dict[str, Any], rule: str, moment: datetime | None) -> int:
    moment = moment or now()
    users = Directory(site).resolve(item, notice["notify"])
    body = (notice.get("body") or DEFAULT_BODY).format(**notice_fields(item, rs, site))
    return len(produce(get_outbox(site), rs, item, users, "notice", rule, f"【{notice['subject']}】{item.number}",
                       body, moment, f"{item.item_id}|notice|{rule}|{len(item.history)}", rs.channels))
