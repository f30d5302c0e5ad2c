"""Reminder rules as data (``rules/*.toml``, overridable from the site profile).

A rule set applies to the boards it names and says, for items in the states
where a unit has to act: how long before the deadline to remind (by the span
from 交办 to the deadline), how often to remind when overdue, when to
escalate (三级督办), the monthly progress reminders, quiet hours and who is
told.  Durations are ISO 8601 (``PT5H``, ``P1D``, ``P1M``) or working days
(``3WD``).  The loader refuses a bad file with the file and key named.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..definitions import DefinitionError, load_checked, validate
from ..workflows.deadlines import END_OF_DAY
from .durations import Duration, add_months, parse_duration  # noqa: F401  (re-exported)
from .schema import NOTICE_EVENTS, ruleset_schema


@dataclass
class OverdueWindow:
    start: Duration
    end: Duration
    every: Duration


@dataclass
class Escalation:
    level: int
    overdue: Duration | None = None
    event: str | None = None  # "returned" | "dissatisfied"
    count: int = 0
    #: only in these states (e.g. seed 003: the 办结时限 of ``in_progress``, not the 签收时限 of ``dispatched``)
    states: tuple[str, ...] = ()
    #: only items whose ``field`` holds one of ``values`` (seed 003 二级督办: 市领导批示件、省级交办件)
    field: str | None = None
    values: tuple[str, ...] = ()

    def applies(self, item: Any) -> bool:
        if self.states and item.state not in self.states:
            return False
        return self.field is None or str(getattr(item, self.field, "") or "") in self.values


@dataclass
class Accountability:
    """责任追究 (seed 003 附件2 四(八)3): ``count`` consecutive ``event`` s (``returned``: the platform's
    退回 of a 答复, counted since the last accepted one) — recorded on the item and told to ``notify``."""

    event: str
    count: int
    title: str
    notify: tuple[str, ...]


@dataclass
class Level:
    level: int
    title: str
    notify: tuple[str, ...]


@dataclass
class RuleSet:
    name: str
    title: str
    boards: tuple[str, ...]
    states: tuple[str, ...]
    notify: tuple[str, ...]
    channels: tuple[str, ...]
    before: list[tuple[Duration, Duration]] = field(default_factory=list)
    long_every: Duration | None = None
    long_lead: Duration | None = None
    overdue: list[OverdueWindow] = field(default_factory=list)
    overdue_at: list[Duration] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    accountability: list[Accountability] = field(default_factory=list)
    levels: dict[int, Level] = field(default_factory=dict)
    monthly_states: tuple[str, ...] = ()
    monthly_days: tuple[int, ...] = ()
    monthly_times: tuple[time, ...] = ()
    #: ``[monthly] follow_up``: after the month starts, the 立项主体 is told a report is missing
    monthly_follow_up: Duration | None = None
    monthly_follow_up_notify: tuple[str, ...] = ()
    #: ``[quarterly]`` 季度小结 and ``[year_end]`` 年底清零 (``notifications/cadence.py``)
    quarterly: dict[str, Any] = field(default_factory=dict)
    year_end: dict[str, Any] = field(default_factory=dict)
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_channels: tuple[str, ...] = ()
    due: dict[str, str] = field(default_factory=dict)
    close_by: dict[str, Duration] = field(default_factory=dict)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: notices on entering a state (待审签 = ``registered`` on creation, 待归档 = ``closed``)
    state_notices: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: switch ``ruleset.span``: how the 「1天、3天、7天、1个月」 node of an item is found —
    #: ``calendar_days`` (the deadline's date counted from the 交办 date, seed 002's default) or
    #: ``hours`` (the exact span, 3 days = 72 h)
    span: str = "calendar_days"
    #: switch ``ruleset.start_day``: whether the 交办 day is day 1 of the node (``included``) or the
    #: count starts the next day (``excluded``, as 行政期间 and ``3WD`` count; seed 002's default)
    start_day: str = "excluded"
    source: str = ""

    def lead_for(self, span: timedelta, start: datetime | None = None, due: datetime | None = None) -> Duration | None:
        """The lead of the node the item falls in (``span`` = due - start)."""
        for span_max, lead in self.before:
            if self.within(span_max, span, start, due):
                return lead
        return self.long_lead

    def within(self, span_max: Duration, span: timedelta, start: datetime | None, due: datetime | None) -> bool:
        if self.span == "calendar_days" and start is not None and due is not None and not span_max.working_days:
            # 交办 on the 4th, 办结时限 the 7th: the 3-day node, whatever the hour of 交办
            origin = start.date() - timedelta(days=1 if self.start_day == "included" else 0)
            node_end = span_max.add(datetime.combine(origin, time(0, 0), start.tzinfo))
            return due.date() <= node_end.date() if node_end.time() == time(0, 0) else due <= node_end
        return span <= span_max.approx

    def is_long(self, span: timedelta, start: datetime | None, due: datetime | None) -> bool:
        return bool(self.before) and not self.within(self.before[-1][0], span, start, due)

    def in_quiet_hours(self, moment: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None:
            return False
        t = moment.timetz().replace(tzinfo=None)
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end

    def quiet_until(self, moment: datetime) -> datetime:
        """The end of the quiet period containing ``moment`` (moment itself if none)."""
        if not self.in_quiet_hours(moment) or self.quiet_end is None:
            return moment
        end = datetime.combine(moment.date(), self.quiet_end, moment.tzinfo)
        if end <= moment:
            end += timedelta(days=1)
        return end


class ReminderRules:
    """All rule sets, looked up by board."""

    def __init__(self, rulesets: list[RuleSet]) -> None:
        self.rulesets = rulesets
        self.by_board: dict[str, RuleSet] = {}
        for rs in rulesets:
            for b in rs.boards:
                self.by_board[b] = rs

    def for_board(self, board_id: str) -> RuleSet | None:
        return self.by_board.get(board_id)

    @classmethod
    def load(cls, profile_dir: str | Path | None = None) -> ReminderRules:
        found = load_checked("duban_archive.notifications", "rules", profile_dir, ruleset_schema)
        rulesets = [compile_ruleset(src, data, checked=True) for src, data in found.values()]
        seen: dict[str, str] = {}
        for rs in rulesets:
            for b in rs.boards:
                if b in seen:
                    raise DefinitionError(rs.source, f"ruleset.boards: 版块 '{b}' 同时出现在提醒规则 {seen[b]} 中")
                seen[b] = rs.source
        return cls(rulesets)


def check_references(rules: ReminderRules, boards, workflows, dropped: Collection[str] = ()) -> list[tuple[str, str]]:
    """What a rule set names elsewhere: its boards exist; the states it acts in (``ruleset.states``,
    ``monthly.states``, ``[due]``) and the transitions it sends notices on (``[notices]``) exist in
    the workflows of its boards.  A misspelt name would silently remind no one.  ``dropped``: board
    ids a site profile's boards no longer define (shipped ones), which rule sets may still name."""
    from ..definitions import unknown_message, unknown_value

    board_workflow = {b.id: b.workflow for b in boards}
    by_name = {w.name: w for w in workflows}
    problems: list[tuple[str, str]] = []
    for rs in rules.rulesets:
        states: set[str] = set()
        transitions: set[str] = set()
        for b in rs.boards:
            if b in board_workflow:
                wf = by_name.get(board_workflow[b])
                if wf is not None:
                    states |= set(wf.states)
                    transitions |= set(wf.transitions)
            elif b not in dropped:
                problems.append((rs.source, f"ruleset.boards: {unknown_value(b, board_workflow, '版块')}"))
        if not states:
            continue
        named = [("ruleset.states", s) for s in rs.states] + [("monthly.states", s) for s in rs.monthly_states]
        named += [("quarterly.states", s) for s in rs.quarterly.get("states", ())]
        named += [("year_end.states", s) for s in rs.year_end.get("states", ())]
        named += [(f"escalation[{i}].states", s) for i, e in enumerate(rs.escalations) for s in e.states]
        for where, state in named:
            if state not in states:
                problems.append((rs.source, f"{where}: {unknown_value(state, states, '状态')}"))
        for state in rs.due:
            if state not in states:
                problems.append((rs.source, f"due.{state}: {unknown_message(state, states, '状态')}"))
        for name in rs.notices:
            if name not in transitions and name not in NOTICE_EVENTS:
                problems.append((rs.source, f"notices.{name}: {unknown_message(name, transitions, '流转')}"))
        for state in rs.state_notices:
            if state not in states:
                problems.append((rs.source, f"state_notices.{state}: {unknown_message(state, states, '状态')}"))
    return problems


def compile_ruleset(source: str, data: dict[str, Any], checked: bool = False) -> RuleSet:
    """A rule set from a parsed file: :func:`.schema.ruleset_schema` first (unless ``checked``),
    then what spans keys (escalation levels defined under ``[levels]``)."""
    if not checked:
        validate(source, ruleset_schema(), data)
    head = data["ruleset"]
    rs = RuleSet(
        name=head["name"],
        title=head["title"],
        boards=tuple(head["boards"]),
        states=tuple(head["states"]),
        notify=tuple(head["notify"]),
        channels=tuple(head.get("channels", ["inbox"])),
        span=head.get("span", "calendar_days"),
        start_day=head.get("start_day", "excluded"),
        source=source,
    )
    for row in data.get("before", []):
        rs.before.append((parse_duration(row["span_max"]), parse_duration(row["lead"])))
    rs.before.sort(key=lambda r: r[0].approx)
    if "long" in data:
        rs.long_every = parse_duration(data["long"]["every"])
        if "lead" in data["long"]:
            rs.long_lead = parse_duration(data["long"]["lead"])
    for row in data.get("overdue", []):
        rs.overdue.append(OverdueWindow(parse_duration(row["from"]), parse_duration(row["to"]),
                                        parse_duration(row["every"])))
    if "overdue_at" in data:
        rs.overdue_at = [parse_duration(t) for t in data["overdue_at"]["offsets"]]
    for row in data.get("escalation", []):
        only = {"states": tuple(row.get("states", ())), "field": row.get("field"),
                "values": tuple(str(v) for v in row.get("values", ()))}
        if "overdue" in row:
            rs.escalations.append(Escalation(row["level"], overdue=parse_duration(row["overdue"]), **only))
        else:
            rs.escalations.append(Escalation(row["level"], event=row["event"], count=row["count"], **only))
    for row in data.get("accountability", []):
        rs.accountability.append(Accountability(row["event"], row["count"], row.get("title", "责任追究"),
                                                tuple(row["notify"])))
    for key, row in data.get("levels", {}).items():
        rs.levels[int(key)] = Level(int(key), row["title"], tuple(row["notify"]))
    for i, e in enumerate(rs.escalations):
        if e.level not in rs.levels:
            raise DefinitionError(source, f"escalation[{i}].level: 督办级别 {e.level} 未在 [levels.{e.level}] 中定义")
    if "monthly" in data:
        m = data["monthly"]
        rs.monthly_states = tuple(m["states"])
        rs.monthly_days = tuple(m["days"])
        rs.monthly_times = tuple(time.fromisoformat(t) for t in m["times"])
        if "follow_up" in m:
            rs.monthly_follow_up = parse_duration(m["follow_up"])
            rs.monthly_follow_up_notify = tuple(m.get("follow_up_notify", ["supervisor"]))
    if "quarterly" in data:
        q = data["quarterly"]
        rs.quarterly = {"states": tuple(q["states"]), "lead_days": int(q.get("lead_days", 2)),
                        "q4_advance_days": int(q.get("q4_advance_days", 7)),
                        "time": time.fromisoformat(q.get("time", "09:00")), "boards": tuple(q.get("boards", ()))}
    if "year_end" in data:
        y = data["year_end"]
        rs.year_end = {"states": tuple(y["states"]), "time": time.fromisoformat(y.get("time", "09:00")),
                       "dates": tuple((int(d[:2]), int(d[3:])) for d in y["dates"])}
    if "quiet_hours" in data:
        q = data["quiet_hours"]
        rs.quiet_start = time.fromisoformat(q["start"])
        rs.quiet_end = time.fromisoformat(q["end"])
        rs.quiet_channels = tuple(q.get("channels", ["sms", "email"]))
    rs.due = dict(data.get("due", {}))
    rs.close_by = {kind: parse_duration(text) for kind, text in data.get("close_by", {}).items()}
    for name, row in data.get("notices", {}).items():
        rs.notices[name] = {"notify": tuple(row["notify"]), "subject": str(row.get("subject", "新交办事项")),
                            "body": row.get("body")}
    for name, row in data.get("state_notices", {}).items():
        rs.state_notices[name] = {"notify": tuple(row["notify"]), "subject": str(row["subject"]),
                                  "body": row.get("body")}
    return rs


def apply_quiet_setting(rules: ReminderRules, text: str | None) -> None:
    """``duban.quiet_hours = 22:00-07:00`` (or ``off``) overrides every rule set."""
    if not text:
        return
    text = text.strip()
    for rs in rules.rulesets:
        if text.lower() in ("off", "none", "false"):
            rs.quiet_start = rs.quiet_end = None
            continue
        start, _, end = text.partition("-")
        rs.quiet_start, rs.quiet_end = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
        rs.quiet_channels = rs.quiet_channels or ("sms", "email")


def end_of_day(day: date, tz) -> datetime:
    """The end of a date deadline, as ``workflows/deadlines.py`` has it (23:59:59 of that day, not
    00:00 of the next: a notice must name the day the item page names)."""
    return datetime.combine(day, END_OF_DAY, tz)
