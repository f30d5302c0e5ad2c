"""Deadlines: duration specs, deadlines attached to states and transitions, lights.

Specs (API.md ``GET /api/v1/deadlines``):

* ISO 8601 calendar durations ``P3D``, ``PT5H``, ``P1M``, ``P1W``, ``P1DT2H`` —
  13710's "same day / 3 days / 7 days / 1 month" are ``same_day``, ``P3D``,
  ``P7D``, ``P1M``;
* working days ``3WD`` on the State Council schedule: the end (23:59:59) of
  the 3rd working day after the start day (the start day is not counted,
  as with 行政期间);
* named rules: ``same_day`` (end of the start day, 事不过夜), ``sign_by``
  (12345: dispatched on a working-day morning -> 17:30 that day; afternoon or
  non-working day -> 12:00 of the next working day), ``end_of_month``.

An item keeps its open deadlines in ``item.deadlines`` and the earliest in ``item.next_due``,
which the listing index uses for 即将到期 / 已逾期.  Code reads them as a dict ``name -> {name,
title, due, warn_from, start, calendar_known, origin, done_by, until, feedback}``
(:func:`open_deadlines`) and writes them with :func:`store`, which pickles each as a positional
tuple (:data:`DYNAMIC`, the definition's title and rules only when they differ from it): every
transition rewrites them, and dict keys and long titles were most of what they cost (issue 16).
Items stored before keep their dict until they change (or evolve step 9 converts them); both are read.
"""

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..timeutil import CST, as_cst, isoformat, now
from .calendar import WorkCalendar
from .lookup import workflow_for

ISO_RE = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
WD_RE = re.compile(r"^(?P<n>\d{1,3})WD$")
NAMED_RULES = {"same_day", "sign_by", "end_of_month", "end_of_next_month"}
END_OF_DAY = time(23, 59, 59)
LIGHT_TITLES = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}


class SpecError(ValueError):
    """A duration spec could not be read."""


@dataclass(frozen=True)
class Due:
    due: datetime
    calendar_known: bool


def check_spec(spec: str) -> None:
    """Raise SpecError unless ``spec`` is a duration this module understands."""
    if not isinstance(spec, str) or not spec:
        raise SpecError("时限格式为空")
    spec = spec.strip()
    if spec in NAMED_RULES or WD_RE.match(spec):
        return
    m = ISO_RE.match(spec)
    if not m or spec in ("P", "PT") or spec.endswith("T") or not any(m.groupdict().values()):
        raise SpecError(f"无法识别的时限格式“{spec}”，可用 P3D、PT5H、P1M、3WD、same_day、sign_by")


def compute_due(start: datetime, spec: str, cal: WorkCalendar | None = None) -> Due:
    """When a deadline of ``spec`` that starts at ``start`` falls due."""
    check_spec(spec)
    spec = spec.strip()
    cal = cal or WorkCalendar()
    cal.known = True
    start = as_cst(start)
    m = WD_RE.match(spec)
    if m:
        day = cal.add_working_days(start.date(), int(m.group("n")))
        return Due(_at(day, END_OF_DAY), cal.known)
    if spec == "same_day":
        return Due(_at(start.date(), END_OF_DAY), True)
    if spec == "end_of_month":
        last = _cal.monthrange(start.year, start.month)[1]
        return Due(_at(date(start.year, start.month, last), END_OF_DAY), True)
    if spec == "end_of_next_month":
        ny, nm = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        return Due(_at(date(ny, nm, _cal.monthrange(ny, nm)[1]), END_OF_DAY), True)
    if spec == "sign_by":
        today = start.date()
        if cal.is_workday(today) and start.time() < time(12, 0):
            return Due(_at(today, time(17, 30)), cal.known)
        return Due(_at(cal.next_workday(today), time(12, 0)), cal.known)
    iso = ISO_RE.match(spec)
    assert iso is not None  # check_spec accepted it
    g = {k: int(v) for k, v in iso.groupdict().items() if v}
    due = add_months(start, 12 * g.get("years", 0) + g.get("months", 0))
    due += timedelta(weeks=g.get("weeks", 0), days=g.get("days", 0), hours=g.get("hours", 0),
                     minutes=g.get("minutes", 0), seconds=g.get("seconds", 0))
    return Due(due, True)


def add_months(moment: datetime, months: int) -> datetime:
    """Same day ``months`` later, clamped to the month's end (1-31 + P1M -> 2-28)."""
    if not months:
        return moment
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, _cal.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=CST)


def format_due(moment: datetime | None) -> str:
    """A deadline as people read it, to the minute, in CST (``2026-12-31 23:59``): the ONE format of
    item pages, worklists and notices (an end-of-day deadline is 23:59:59 of its own day)."""
    return as_cst(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def end_of_day(day: date) -> datetime:
    """The end of a date deadline (办结时限 2026-12-31 -> 2026-12-31 23:59:59 CST)."""
    return _at(day, END_OF_DAY)


def light(due: datetime, warn_from: datetime | None, moment: datetime | None = None) -> str:
    """亮灯: red when overdue, yellow inside the warning window, else green."""
    moment = moment or now()
    if moment >= due:
        return "red"
    if warn_from is not None and moment >= warn_from:
        return "yellow"
    return "green"


# -- definitions ---------------------------------------------------------------
@dataclass
class DeadlineDef:
    """A deadline as the workflow definition declares it (``[[...deadlines]]``)."""

    name: str
    title: str
    duration: str = ""
    #: pick the duration by an item field: ``by = "ticket_kind"``, ``durations = {complaint = "7WD"}``
    by: str | None = None
    durations: dict[str, str] | None = None
    #: due at the end of the date in this item field (e.g. the item's 办结时限 ``deadline``)
    date_field: str | None = None
    #: start from this datetime field instead of now (e.g. ``dispatched_at``)
    start_field: str | None = None
    #: yellow from this long before the due time (calendar duration) ...
    warn: Any = "P1D"  # a spec, or a table keyed like ``durations``
    #: ... or from this spec after the start (``3WD`` of a 3–5 working-day window)
    warn_after: str | None = None
    #: the deadline is met (removed) when one of these transitions fires
    done_by: tuple[str, ...] = ()
    #: ... or when the item enters one of these states
    until: tuple[str, ...] = ()
    #: a feedback report meets it (removed) or, with ``repeat``, restarts it
    feedback: str | None = None  # "done" | "repeat"
    #: named rule computing the spec from the item (e.g. ``report_cadence``)
    rule: str | None = None
    #: only items of these boards get this deadline (empty: every board of the workflow)
    boards: tuple[str, ...] = ()

    def spec_for(self, item: Any) -> str | None:
        if self.rule:
            return RULES[self.rule](item)
        if self.by:
            key = _key(getattr(item, self.by, None))
            return (self.durations or {}).get(key) or (self.durations or {}).get("default")
        return self.duration or None


def _key(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def compile_deadlines(source: str, where: str, raw: Any) -> list[DeadlineDef]:
    """``[[...deadlines]]`` entries the workflow schema accepted (``schema.deadline_schema``: keys,
    types, specs, ``rule``, ``feedback``) as DeadlineDefs; ``source`` / ``where`` are kept for callers."""
    out = []
    for d in raw or ():
        out.append(DeadlineDef(
            name=d["name"], title=d["title"], duration=d.get("duration", ""), by=d.get("by"),
            durations={str(k): v for k, v in (d.get("durations") or {}).items()} or None,
            date_field=d.get("date_field"), start_field=d.get("start_field"),
            warn=({str(k): v for k, v in d["warn"].items()} if isinstance(d.get("warn"), dict)
                  else d.get("warn", "P1D") or None), warn_after=d.get("warn_after"),
            done_by=tuple(d.get("done_by", ())), until=tuple(d.get("until", ())),
            feedback=d.get("feedback"), rule=d.get("rule"), boards=tuple(d.get("boards", ())),
        ))
    return out


def report_cadence(item: Any) -> str:
    """持续推进 reporting (seed 002): weekly under 3 months, fortnightly 3–6, monthly beyond."""
    start = getattr(item, "long_running_since", None) or now()
    until = getattr(item, "plan_until", None)
    if until is None:
        return "P1M"
    months = (until.year - start.year) * 12 + (until.month - start.month) + (until.day - start.day) / 31
    if months < 3:
        return "P7D"
    if months <= 6:
        return "P14D"
    return "P1M"


def monthly_report(item: Any) -> str:
    """逐月反馈 (seed 002 重点工作/重大改革/技改督办制度 四（一）「每月底前要将本月的落实进展情况通过系统
    进行反馈」; 使用管理暂行办法 第十五条「按月报告」): due at the end of the month, or — once this month's
    report is in — at the end of the next."""
    moment = now()
    feedback = getattr(item, "feedback", None)
    for fb in feedback.values() if feedback is not None else ():
        created = getattr(fb, "created", None)
        if isinstance(created, datetime) and (as_cst(created).year, as_cst(created).month) == (moment.year,
                                                                                              moment.month):
            since = getattr(item, "long_running_since", None)
            if not isinstance(since, datetime) or as_cst(created) >= as_cst(since):
                return "end_of_next_month"
    return "end_of_month"


RULES = {"report_cadence": report_cadence, "monthly_report": monthly_report}


# -- items ---------------------------------------------------------------------
def instantiate(item: Any, ddef: DeadlineDef, origin: str, cal: WorkCalendar,
                moment: datetime | None = None) -> dict[str, Any] | None:
    """One deadline record (plain dict) for ``item``, or None when it does not apply."""
    moment = moment or now()
    if ddef.boards and getattr(item, "board_id", None) not in ddef.boards:
        return None
    start = moment
    if ddef.start_field:
        value = getattr(item, ddef.start_field, None)
        if isinstance(value, datetime):
            start = as_cst(value)
    if ddef.date_field:
        value = getattr(item, ddef.date_field, None)
        if not isinstance(value, date):
            return None
        if isinstance(value, datetime):
            value = value.date()
        due, known = _at(value, END_OF_DAY), True
    else:
        spec = ddef.spec_for(item)
        if not spec:
            return None
        got = compute_due(start, spec, cal)
        due, known = got.due, got.calendar_known
    warn_from = None
    if ddef.warn_after:
        got = compute_due(start, ddef.warn_after, cal)
        warn_from, known = min(got.due, due), known and got.calendar_known
    elif ddef.warn:
        warn = ddef.warn
        if isinstance(warn, dict):
            warn = warn.get(_key(getattr(item, ddef.by or "", None))) or warn.get("default")
        if warn:
            warn_from = _minus(due, warn)
    return {
        "name": ddef.name, "title": ddef.title, "due": due, "warn_from": warn_from, "start": start,
        "calendar_known": known, "origin": origin, "done_by": ddef.done_by, "until": ddef.until,
        "feedback": ddef.feedback,
    }


def _minus(due: datetime, spec: str) -> datetime:
    g = ISO_RE.match(spec)
    if not g:  # working-day warn windows are given as warn_after
        return due - timedelta(days=1)
    v = {k: int(x) for k, x in g.groupdict().items() if x}
    back = add_months(due, -(12 * v.get("years", 0) + v.get("months", 0)))
    return back - timedelta(weeks=v.get("weeks", 0), days=v.get("days", 0), hours=v.get("hours", 0),
                            minutes=v.get("minutes", 0), seconds=v.get("seconds", 0))


#: a stored deadline: what the item's moment made of it, then — only when they are not the definition's
#: (``Workflow.find_deadline(name)``) — what the definition says
DYNAMIC = ("name", "due", "warn_from", "start", "calendar_known", "origin")
STATIC = ("title", "done_by", "until", "feedback")
#: positions of :data:`DYNAMIC` holding a moment, stored as µs since :data:`_EPOCH` (10 bytes, not ~20)
_MOMENTS = (1, 2, 3)
_EPOCH = datetime(1970, 1, 1, 8, tzinfo=CST)
_US = timedelta(microseconds=1)


def _to_us(value: Any) -> Any:
    return (value - _EPOCH) // _US if isinstance(value, datetime) and value.tzinfo is not None else value


def _from_us(value: Any) -> Any:
    return _EPOCH + timedelta(microseconds=value) if isinstance(value, int) and not isinstance(value, bool) else value


def _workflow(item: Any) -> Any:
    """The item's workflow in the running app (None outside one: rows are then stored whole)."""
    from pyramid.threadlocal import get_current_registry

    workflows = getattr(get_current_registry(), "duban_workflows", None)
    if workflows is None:
        from pyramid.config import global_registries

        workflows = getattr(global_registries.last, "duban_workflows", None)
    name = getattr(item, "workflow", "")
    return workflows.get(name) if workflows is not None and name else None


def _static(ddef: Any) -> tuple:
    return (ddef.title, tuple(ddef.done_by), tuple(ddef.until), ddef.feedback)


def packed(deadlines: dict[str, dict[str, Any]], wf: Any = None) -> tuple:
    """Deadline records as stored: :data:`DYNAMIC` positionally (moments as integers), followed by
    :data:`STATIC` only when they differ from ``wf``'s definition of the deadline (titles such as
    「解决时限（一般 7 天 / 重大 1 个月）」 are most of a record and every transition rewrote them)."""
    rows = []
    for d in deadlines.values():
        row = tuple(_to_us(d.get(f)) if i in _MOMENTS else d.get(f) for i, f in enumerate(DYNAMIC))
        static = (d.get("title"), tuple(d.get("done_by") or ()), tuple(d.get("until") or ()), d.get("feedback"))
        ddef = wf.find_deadline(d["name"]) if wf is not None else None
        rows.append(row if ddef is not None and _static(ddef) == static else row + static)
    return tuple(rows)


def unpacked(stored: Any, wf: Any = None) -> dict[str, dict[str, Any]]:
    """``name -> record`` from what :func:`store` wrote (or a dict stored before issue 16).  A record
    stored without its definition's part gets it from ``wf`` (the name as title if it has gone)."""
    if not stored:
        return {}
    if isinstance(stored, dict):
        return {k: dict(v) for k, v in stored.items()}
    out = {}
    for row in stored:
        record = {f: (_from_us(v) if i in _MOMENTS else v) for i, (f, v) in enumerate(zip(DYNAMIC, row, strict=False))}
        static = row[len(DYNAMIC):]
        if not static:
            ddef = wf.find_deadline(record["name"]) if wf is not None else None
            static = _static(ddef) if ddef is not None else (record["name"], (), (), None)
        record.update(zip(STATIC, static, strict=True))
        out[record["name"]] = record
    return out


def _read(item: Any) -> dict[str, dict[str, Any]]:
    """The item's deadlines unpacked, shared and read-only.  Unpacking (times from integers, the
    definition's part from the workflow) costs about 0.1 ms an item, paid on every listed row;
    so the result is kept in a volatile attribute while the stored rows stay the same object (a
    tuple: :func:`store` replaces it, never changes it)."""
    stored = getattr(item, "deadlines", None)
    if not stored or isinstance(stored, dict):
        return unpacked(stored)
    cached = getattr(item, "_v_deadlines", None)
    if cached is not None and cached[0] is stored:
        return cached[1]
    out = unpacked(stored, _workflow(item))
    try:
        item._v_deadlines = (stored, out)
    except AttributeError:  # an object that takes no attributes: no cache
        pass
    return out


def open_deadlines(item: Any) -> dict[str, dict[str, Any]]:
    """The item's open deadlines, ``name -> record`` (fresh dicts: change them and :func:`store`)."""
    return {name: dict(record) for name, record in _read(item).items()}


def store(item: Any, deadlines: dict[str, dict[str, Any]]) -> None:
    """Persist the deadlines and ``next_due``; nothing is written when neither changed."""
    rows = packed(deadlines, _workflow(item))
    if getattr(item, "deadlines", None) != rows:
        item.deadlines = rows
    due = min((d["due"] for d in deadlines.values()), default=None)
    if getattr(item, "next_due", None) != due:
        item.next_due = due


def item_deadlines(item: Any, moment: datetime | None = None) -> list[dict[str, Any]]:
    """The item's open deadlines, earliest first, with their light (for the API and UI).

    ``due`` is an ISO 8601 string with offset; ``calendar_known`` is False when
    a working-day count ran through a year with no published schedule.
    """
    moment = moment or now()
    out = []
    for d in sorted(_read(item).values(), key=lambda d: d["due"]):
        out.append({
            "name": d["name"], "title": d["title"], "due": isoformat(d["due"]), "due_text": format_due(d["due"]),
            "light": light(d["due"], d.get("warn_from"), moment),
            "calendar_known": bool(d.get("calendar_known", True)),
        })
    return out


def next_deadline(item: Any, moment: datetime | None = None) -> dict[str, Any] | None:
    found = item_deadlines(item, moment)
    return found[0] if found else None


def on_feedback(item: Any, site: Any = None) -> bool:
    """A feedback report arrived: meet ``feedback = "done"`` deadlines, restart ``repeat`` ones."""
    current = open_deadlines(item)
    if not current:
        return False
    changed = False
    cal = None
    for name, d in list(current.items()):
        if d.get("feedback") == "done":
            del current[name]
            changed = True
        elif d.get("feedback") == "repeat":
            wf = workflow_for(item)
            ddef = wf.find_deadline(name)
            if ddef is None:
                continue
            cal = cal or WorkCalendar.for_site(site)
            fresh = instantiate(item, ddef, d.get("origin", ""), cal)
            if fresh is not None:
                current[name] = fresh
                changed = True
    if changed:
        store(item, current)
    return changed
