"""责任追究 on events (seed 003 附件2 四(八) 考核问责), kept apart from 督办.

「承办单位及其工作人员有下列情形的，予以责任追究： … 3.转办工单因不符合办理要求被连续2次退回重办的」 — the seed makes
this 责任追究 (通报批评、警告、约谈 …), not a 督办 level, so it never raises ``escalation_level`` (which the
unit scoring deducts as 提级督办).  A rule set's ``[[accountability]]`` rows say which run of events
triggers it; when the run reaches ``count`` the item's history and the audit log get a 责任追究 entry
and the roles in ``notify`` a message (kind ``accountability``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..audit.log import record
from ..timeutil import now
from .outbox import get_outbox
from .reminders import Directory, produce, rules_of

#: the transition that is the event, and the one that ends a run of them
EVENTS = {"returned": ("return", "approve_reply")}


def consecutive(item: Any, event: str) -> int:
    """How many ``event`` s in a row the item's history ends with (reset by the accepting transition)."""
    hit, reset = EVENTS[event]
    run = 0
    for e in item.history:
        t = e.get("transition")
        if t == hit:
            run += 1
        elif t == reset:
            run = 0
    return run


def on_transition(site, item: Any, transition: str, registry, moment: datetime | None = None) -> int:
    """Record 责任追究 when ``transition`` completed a run; returns the entries written."""
    rs = rules_of(registry).for_board(item.board_id)
    if rs is None or not rs.accountability:
        return 0
    made = 0
    for rule in rs.accountability:
        if EVENTS[rule.event][0] != transition or consecutive(item, rule.event) != rule.count:
            continue
        moment = moment or now()
        reason = f"转办工单因不符合办理要求被连续 {rule.count} 次退回重办"
        item.history.append({
            "time": moment, "actor": "system", "transition": "accountability", "title": rule.title,
            "from": item.state, "to": item.state, "comment": reason, "fields": {"reason": reason},
        })
        item.accountability = tuple(getattr(item, "accountability", ()) or ()) + ((rule.event, moment),)
        record(site, "transition", "system", item.item_id, transition="accountability", reason=reason)
        users = Directory(site).resolve(item, rule.notify)
        produce(get_outbox(site), rs, item, users, "accountability", f"accountability_{rule.event}",
                f"【{rule.title}】{item.number}", f"{item.number}《{item.title}》{reason}，予以{rule.title}。",
                moment, f"{item.item_id}|accountability|{len(item.history)}", rs.channels)
        made += 1
    return made
