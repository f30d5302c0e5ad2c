"""Reminder rules as data (``rules/*.toml``, overridable from the site profile).

A rule set applies to the boards it names and says, for items in the states
where a unit has to act: how long before the deadline to remind (by the span
from 交办 to the deadline), how often to remind when overdue, when to
escalate (三级督办), the monthly progress reminders, quiet hours and who is
told.  Durations are ISO 8601 (``PT5H``, ``P1D``, ``P1M``) or working days
(``3WD``).  The loader refuses a bad file with the file and key named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ..definitions import DefinitionError, load_definitions, require
from ..security.roles import is_valid_token
from .outbox import CHANNELS

_ISO = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
                  r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?)?$")
_WD = re.compile(r"^(\d+)WD$")


@dataclass(frozen=True)
class Duration:
    """A calendar duration (months, days, hours, minutes) or a count of working days."""

    text: str
    months: int = 0
    delta: timedelta = timedelta()
    working_days: int = 0

    def add(self, start: datetime, calendar=None) -> datetime:
        if self.working_days:
            if calendar is None:
                from ..workflows.calendar import WorkCalendar

                calendar = WorkCalendar()
            day = calendar.add_working_days(start.date(), self.working_days)
            return datetime.combine(day, time(23, 59, 59), start.tzinfo)  # as workflows/deadlines.py
        moment = add_months(start, self.months) if self.months else start
        return moment + self.delta

    def sub(self, end: datetime) -> datetime:
        moment = add_months(end, -self.months) if self.months else end
        return moment - self.delta

    @property
    def approx(self) -> timedelta:
        return self.delta + timedelta(days=30 * self.months + self.working_days * 7 / 5)


def parse_duration(text: str) -> Duration:
    m = _WD.match(text)
    if m:
        return Duration(text, working_days=int(m.group(1)))
    m = _ISO.match(text)
    if not m or text in ("P", "PT"):
        raise ValueError(text)
    g = {k: int(v or 0) for k, v in m.groupdict().items()}
    return Duration(text, months=g["y"] * 12 + g["mo"],
                    delta=timedelta(weeks=g["w"], days=g["d"], hours=g["h"], minutes=g["mi"]))


def add_months(moment: datetime, months: int) -> datetime:
    import calendar as _cal

    idx = moment.month - 1 + months
    year, month = moment.year + idx // 12, idx % 12 + 1
    day = min(moment.day, _cal.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


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
    levels: dict[int, Level] = field(default_factory=dict)
    monthly_states: tuple[str, ...] = ()
    monthly_days: tuple[int, ...] = ()
    monthly_times: tuple[time, ...] = ()
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_channels: tuple[str, ...] = ()
    due: dict[str, str] = field(default_factory=dict)
    close_by: dict[str, Duration] = field(default_factory=dict)
    notices: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""

    def lead_for(self, span: timedelta) -> Duration | None:
        for span_max, lead in self.before:
            if span <= span_max.approx:
                return lead
        return self.long_lead

    def in_quiet_hours(self, moment: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None:
            return False
        t = moment.timetz().replace(tzinfo=None)
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= t < self.quiet_end
        return t >= self.quiet_start or t < self.quiet_end

    def quiet_until(self, moment: datetime) -> datetime:
        """The end of the quiet period containing ``moment`` (moment itself if none)."""
        if not self.in_quiet_hours(moment):
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
        found = load_definitions("duban_archive.notifications", "rules", profile_dir)
        rulesets = [compile_ruleset(src, data) for src, data in found.values()]
        seen: dict[str, str] = {}
        for rs in rulesets:
            for b in rs.boards:
                if b in seen:
                    raise DefinitionError(rs.source, f"版块 '{b}' 同时出现在提醒规则 {seen[b]} 中")
                seen[b] = rs.source
        return cls(rulesets)


def _dur(source: str, text: Any, where: str) -> Duration:
    if not isinstance(text, str):
        raise DefinitionError(source, f"'{where}' 应为时长文本（如 PT5H、P1D、P1M、3WD），实为 {text!r}")
    try:
        return parse_duration(text)
    except ValueError:
        raise DefinitionError(source, f"'{where}' 不是有效时长：{text!r}（如 PT5H、P1D、P1M、3WD）") from None


def _hhmm(source: str, text: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(text))
    except ValueError:
        raise DefinitionError(source, f"'{where}' 应为 HH:MM 时间，实为 {text!r}") from None


def _tokens(source: str, tokens: Any, where: str) -> tuple[str, ...]:
    if not isinstance(tokens, list) or not tokens:
        raise DefinitionError(source, f"'{where}' 应为非空角色列表")
    for t in tokens:
        if not isinstance(t, str) or not is_valid_token(t):
            raise DefinitionError(source, f"'{where}': 未知角色 '{t}'")
    return tuple(tokens)


def compile_ruleset(source: str, data: dict[str, Any]) -> RuleSet:
    head = require(source, data, "ruleset", dict)
    channels = tuple(head.get("channels", ["inbox"]))
    for c in channels:
        if c not in CHANNELS:
            raise DefinitionError(source, f"'ruleset.channels': 未知渠道 '{c}'，可选 {sorted(CHANNELS)}")
    rs = RuleSet(
        name=require(source, head, "name", str, "ruleset"),
        title=require(source, head, "title", str, "ruleset"),
        boards=tuple(require(source, head, "boards", list, "ruleset")),
        states=tuple(require(source, head, "states", list, "ruleset")),
        notify=_tokens(source, head.get("notify"), "ruleset.notify"),
        channels=channels,
        source=source,
    )
    for i, row in enumerate(data.get("before", [])):
        w = f"before[{i}]"
        rs.before.append((_dur(source, row.get("span_max"), f"{w}.span_max"),
                          _dur(source, row.get("lead"), f"{w}.lead")))
    rs.before.sort(key=lambda r: r[0].approx)
    if "long" in data:
        rs.long_every = _dur(source, data["long"].get("every"), "long.every")
        if "lead" in data["long"]:
            rs.long_lead = _dur(source, data["long"]["lead"], "long.lead")
    for i, row in enumerate(data.get("overdue", [])):
        w = f"overdue[{i}]"
        every = _dur(source, row.get("every"), f"{w}.every")
        if every.approx <= timedelta(0):
            raise DefinitionError(source, f"'{w}.every' 必须大于 0")
        rs.overdue.append(OverdueWindow(_dur(source, row.get("from"), f"{w}.from"),
                                        _dur(source, row.get("to"), f"{w}.to"), every))
    if "overdue_at" in data:
        rs.overdue_at = [_dur(source, t, "overdue_at.offsets")
                         for t in require(source, data["overdue_at"], "offsets", list, "overdue_at")]
    for i, row in enumerate(data.get("escalation", [])):
        w = f"escalation[{i}]"
        level = require(source, row, "level", int, w)
        if level not in (1, 2, 3):
            raise DefinitionError(source, f"'{w}.level' 应为 1、2 或 3")
        if "overdue" in row:
            rs.escalations.append(Escalation(level, overdue=_dur(source, row["overdue"], f"{w}.overdue")))
        elif row.get("event") in ("returned", "dissatisfied"):
            rs.escalations.append(Escalation(level, event=row["event"],
                                             count=require(source, row, "count", int, w)))
        else:
            raise DefinitionError(source, f"'{w}' 需要 overdue = 时长，或 event = \"returned\"/\"dissatisfied\"")
    for key, row in data.get("levels", {}).items():
        w = f"levels.{key}"
        if key not in ("1", "2", "3"):
            raise DefinitionError(source, f"'{w}' 督办级别只能是 1、2、3")
        rs.levels[int(key)] = Level(int(key), require(source, row, "title", str, w),
                                    _tokens(source, row.get("notify"), f"{w}.notify"))
    for e in rs.escalations:
        if e.level not in rs.levels:
            raise DefinitionError(source, f"督办级别 {e.level} 未在 [levels.{e.level}] 中定义")
    if "monthly" in data:
        m = data["monthly"]
        rs.monthly_states = tuple(require(source, m, "states", list, "monthly"))
        rs.monthly_days = tuple(require(source, m, "days", list, "monthly"))
        times = require(source, m, "times", list, "monthly")
        rs.monthly_times = tuple(_hhmm(source, t, "monthly.times") for t in times)
        if any(not isinstance(d, int) or not 1 <= d <= 28 for d in rs.monthly_days):
            raise DefinitionError(source, "'monthly.days' 应为 1–28 的日期")
    if "quiet_hours" in data:
        q = data["quiet_hours"]
        rs.quiet_start = _hhmm(source, q.get("start"), "quiet_hours.start")
        rs.quiet_end = _hhmm(source, q.get("end"), "quiet_hours.end")
        rs.quiet_channels = tuple(q.get("channels", ["sms", "email"]))
    for state, mode in data.get("due", {}).items():
        if mode not in ("deadline", "next_due", "sign_by", "close_by"):
            raise DefinitionError(source, f"'due.{state}' 应为 deadline、next_due、sign_by 或 close_by")
        rs.due[state] = mode
    for kind, text in data.get("close_by", {}).items():
        rs.close_by[kind] = _dur(source, text, f"close_by.{kind}")
    for name, row in data.get("notices", {}).items():
        rs.notices[name] = {"notify": _tokens(source, row.get("notify"), f"notices.{name}.notify"),
                            "subject": str(row.get("subject", "新交办事项"))}
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
    return datetime.combine(day + timedelta(days=1), time(0, 0), tz)
