"""Durations in rule files: ISO 8601 (``PT5H``, ``P1D``, ``P1M``) or working days (``3WD``).

Its own module so the rule-file schema can check a duration without importing
the rule compiler that uses the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

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
