"""What unit scoring reads from a 12345 ticket (seed 003 附件5 宿州 "宿事速办" 工作考核办法).

* 按时办结 (5分): 「超期未办结被“红牌”警告的 … 每件扣0.5分」 — the ticket's 办结时限 is its own clock
  (:func:`..workflows.hotline_clock.handling_due`: 1/3/7 个工作日 from 派单 plus an approved 延期), and it
  counts as 办结 when the unit's 答复 was accepted (:func:`..workflows.hotline_clock.done_at`); a ticket
  not 办结 by then is 红牌 (event ``overdue``).
* 不当退单 (3分): 「承办单位退回本应由其办理的工单，造成“宿事速办”工作平台两次将同一工单转同一承办单位办理的，
  视为不当退单，每件扣1分」 — charged to the unit that declined when the platform dispatches the ticket
  to it again (``item.undue_declines``, written by ``workflows.hooks.mark_dispatched``), on that day,
  whichever unit holds the ticket later (event ``undue_decline``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..content_types.site import find_site
from ..timeutil import as_cst
from ..workflows.calendar import WorkCalendar
from ..workflows.hotline_clock import done_at, handling_due

if TYPE_CHECKING:
    from .engine import ItemFact


def ticket_fact(item: Any, fact: ItemFact) -> None:
    """Fill the 12345 parts of ``fact`` (made by ``engine.fact_for``) from the ticket."""
    try:
        site = find_site(item)
    except Exception:  # noqa: BLE001 - an item outside a site (tests): the State Council calendar
        site = None
    cal = WorkCalendar.for_site(site)
    due = handling_due(item, cal)
    done = done_at(item)
    fact.deadline = due.date() if due is not None else None
    fact.closed_on = done.date() if done is not None else None
    if getattr(item, "not_assessed", None):  # 附件5 四(一)2(5): 「… 的工单不纳入考核」 (满意率)
        fact.visited = fact.dissatisfied = False
    for unit, when in getattr(item, "undue_declines", ()) or ():
        fact.unit_events.append(("undue_decline", unit, as_cst(when).date()))
