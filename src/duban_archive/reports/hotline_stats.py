"""What one 12345 ticket adds to the statistics (seed 003, 宿州 "宿事速办").

正文 三(六)3 考核机制: 以按时反馈率、按时办结率、问题解决率、群众和企业满意率等为主要指标.
The clocks come from :mod:`..workflows.hotline_clock` (1/3/7 个工作日 from 派单, plus an approved
延期).  Each rate counts a ticket once its question can be answered (it was answered, or the
time is up), as the other rates of :mod:`.stats` do:

* 按时反馈率 — the unit's first 答复 by the 办结时限;
* 按时办结率 — the 答复 the platform accepted by the 办结时限 (附件2 四(四): a 答复 sent back must be
  completed 在办理时限内);
* 满意率 — 附件5 四(一)2(5): 满意率 = (1 - 第二次评价不满意数 / 办理工单数) × 100%; 办理工单数 = the
  tickets evaluated at 回访, less those 「行政调解类、执法办案类和不属于《指导意见》明确受理范围」
  (``not_assessed``); a first 不满意 without a reasonable claim is 默认满意;
* 问题解决率 — the seed names it without a formula: 已解决 / tickets whose 回访 recorded whether the
  problem was solved (the ``resolved`` field of 办结归档).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..workflows.calendar import WorkCalendar
from ..workflows.hotline_clock import done_at, first_reply, handling_due, second_dissatisfied


def ticket_figures(item: Any, moment: datetime, cal: WorkCalendar) -> dict[str, Any]:
    out: dict[str, Any] = {"fed": None, "closed_ok": None, "satisfied": None, "resolved": None}
    due = handling_due(item, cal)
    if due is not None:
        replied = first_reply(item)
        if replied is not None or due < moment:
            out["fed"] = (int(replied is not None and replied <= due), 1)
        done = done_at(item)
        if done is not None or due < moment:
            out["closed_ok"] = (int(done is not None and done <= due), 1)
    if getattr(item, "satisfaction", None) and not getattr(item, "not_assessed", None):
        out["satisfied"] = (int(not second_dissatisfied(item)), 1)
    resolved = getattr(item, "resolved", None)
    if resolved in ("resolved", "unresolved"):
        out["resolved"] = (int(resolved == "resolved"), 1)
    return out
