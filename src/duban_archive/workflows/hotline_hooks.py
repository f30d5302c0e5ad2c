"""Seed 003 (宿州 "宿事速办") hooks of the 12345 workflow that read per-site switches from
``[transitions.<name>.options]`` in ``definitions/hotline.toml``.

延期 (附件2 四(四) 限时办结): 「因特殊情况难以按时限办结的，应提出书面申请，经单位负责同志同意后，在规定办理时限届满前
1个工作日，向“宿事速办”工作平台提出延期报备 … 延长时限不得超过原办理时限」.  Option of ``request_extension``:

* ``extension_cutoff`` — ``"1WD"`` (seed 003, default): the request must come by the end of the working day
  before the day the 办结时限 ends; ``"<n>WD"`` moves that n working days earlier; ``"0WD"`` accepts
  requests until the 办结时限 itself ends.  After it the request is refused and nothing changes.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from ..errors import Refusal
from ..timeutil import now
from .calendar import WorkCalendar
from .deadlines import END_OF_DAY, _at, open_deadlines
from .engine import WorkflowError, _site_of
from .hooks import check_hotline_extension

DEFAULT_CUTOFF = "1WD"


class TransitionRefused(WorkflowError, Refusal):
    """A workflow hook's refusal: a :class:`~duban_archive.errors.Refusal` the transition forms show too."""


def working_days_before(cal: WorkCalendar, day: date, count: int) -> date:
    """The ``count``-th working day before ``day`` (``day`` itself is not counted; 0 -> ``day``)."""
    for _ in range(3660):
        if count <= 0:
            break
        day -= timedelta(days=1)
        if cal.is_workday(day):
            count -= 1
    return day


def extension_cutoff(item: Any, due: datetime, option: str | None) -> datetime:
    m = re.fullmatch(r"(\d{1,2})WD", (option or DEFAULT_CUTOFF).strip())
    if m is None:
        raise ValueError(f"extension_cutoff 应为 0WD、1WD …，实为 {option!r}")
    n = int(m.group(1))
    if n == 0:
        return due
    cal = WorkCalendar.for_site(_site_of(item))
    return _at(working_days_before(cal, due.date(), n), END_OF_DAY)


def check_extension(item, transition, appstruct, actor) -> None:
    """``before`` of ``request_extension``: in time (the cut-off) and not longer than the original limit."""
    if getattr(item, "ticket_kind", "") == "emergency":
        raise TransitionRefused(400, "突发类工单应马上处置、当天答复，不能申请延期",
                                {"days": "突发类工单不能延期（附件2 四(四)：马上处置、当天答复）"})
    rec = open_deadlines(item).get("limit")
    if rec is not None:
        due = rec["due"]
        latest = extension_cutoff(item, due, transition.options.get("extension_cutoff"))
        if now() > latest:
            when = f"{latest:%Y-%m-%d %H:%M}"
            raise TransitionRefused(400, f"已超过延期申请时限：延期须在规定办理时限届满前 1 个工作日（{when} 前）提出，"
                                         f"本工单办理时限为 {due:%Y-%m-%d %H:%M}，不能再申请延期", {
                                             "days": f"延期申请时限已过（应在 {when} 前提出）",
                                             "reason": "逾期不按规定办理延期的，予以责任追究（附件2 四(八)2）",
                                         })
    check_hotline_extension(item, transition, appstruct, actor)
