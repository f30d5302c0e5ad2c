"""Correcting a 12345 ticket's 派单时间 — the one way ``dispatched_at`` changes after 派单, audited.

Every ticket clock (签收、退单、办结时限, seed 003 附件2 四(三)(四)) runs from 派单, so the time is written by
the ``dispatch`` transition only (a ``system`` field: no form, no PATCH).  When the platform's record was
wrong (e.g. a ticket dispatched on paper during an outage), 督查室 corrects it here with a reason: the
change is a history entry and an audit entry with the old and new time, and the open clocks that start
at 派单 are recomputed.  :func:`correct_dispatched_at` raises :class:`~duban_archive.errors.Refusal`
before writing anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..errors import Refusal
from ..timeutil import as_cst, now
from ..validation import REASON_MAX, reason_problem
from .deadlines import open_deadlines
from .lookup import workflow_for

SUPERVISOR = "role:supervisor"
#: the open deadlines that start at 派单 (``start_field = "dispatched_at"`` in ``definitions/hotline.toml``)
CLOCKS = ("sign_by", "decline_by", "limit")


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return as_cst(moment) if moment.tzinfo is not None else None


def correct_dispatched_at(site, item, data: Mapping[str, Any], *, actor: str, principals: Iterable[str],
                          registry=None) -> dict[str, Any]:
    """Set ``item.dispatched_at`` to ``data["dispatched_at"]`` for ``data["reason"]``; the history entry."""
    from ..audit.log import record
    from ..events import ObjectModified, notify

    if SUPERVISOR not in set(principals):
        raise Refusal("只有督查室可以更正派单时间", status=403)
    fields: dict[str, str] = {}
    for k in set(data) - {"dispatched_at", "reason"}:
        fields[k] = "未知字段"
    new = _parse(data.get("dispatched_at"))
    if new is None:
        fields["dispatched_at"] = "应为带时区的时间，如 2026-03-09T09:00:00+08:00"
    reason = data.get("reason")
    problem = reason_problem(reason, "更正理由及依据", max_length=REASON_MAX)
    if problem:
        fields["reason"] = problem
    if fields:
        raise Refusal("填写内容有误", fields)
    assert new is not None and isinstance(reason, str)
    if getattr(item, "workflow", None) != "hotline":
        raise Refusal("只有 12345 工单有派单时间", status=409)
    if getattr(item, "archived", False) or item.state in ("closed", "archived"):
        raise Refusal("工单已办结，不能再更正派单时间", status=409)
    history = list(item.history)
    last = max((i for i, e in enumerate(history) if e.get("transition") == "dispatch"), default=None)
    if last is None:
        raise Refusal("工单尚未派单，没有派单时间可更正", status=409)
    earliest = as_cst(history[last - 1]["time"]) if last > 0 else as_cst(item.created)
    latest = as_cst(history[last + 1]["time"]) if last + 1 < len(history) else now()
    if not earliest <= new <= latest:
        raise Refusal("填写内容有误", {"dispatched_at": f"派单时间应在 {earliest:%Y-%m-%d %H:%M} 与 "
                                                       f"{latest:%Y-%m-%d %H:%M} 之间（前后办理记录之间）"})
    old = getattr(item, "dispatched_at", None)
    moment = now()
    item.dispatched_at = new
    wf = workflow_for(item, registry)
    open_ = open_deadlines(item)
    for name in CLOCKS:
        if name in open_ and open_[name].get("origin") == "transition:dispatch":
            wf.recompute_deadline(item, name, site=site)
    entry = {"time": moment, "actor": actor, "transition": "correct_dispatch", "title": "更正派单时间",
             "from": item.state, "to": item.state, "comment": reason.strip(),
             "fields": {"old": old, "new": new, "reason": reason.strip()}}
    item.history.append(entry)
    item.modified = moment
    record(site, "edit", actor, item.item_id, field="dispatched_at", old=old, new=new, reason=reason.strip())
    notify(ObjectModified(item, actor, {"dispatched_at": (old, new)}), registry)
    return entry
