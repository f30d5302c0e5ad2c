"""The working-day calendar: State Council holidays with 调休 make-up days.

``chinese_calendar`` knows the published schedules (2004–2026 in the version
we ship) and raises for any other year.  A site keeps its own table for the
years the package does not know yet (or to correct one), in
``site.settings["calendar"]``: ``{"2027": {"holidays": ("2027-01-01", ...),
"workdays": ("2027-02-07", ...)}}`` — plain strings, edited by an admin in the
UI or with ``duban-archive calendar``.  A day in a year nobody knows falls back
to "Monday–Friday are working days" and the answer is flagged
``known=False`` so the UI and API can warn instead of crashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import chinese_calendar

SETTINGS_KEY = "calendar"


@dataclass
class YearTable:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass
class WorkCalendar:
    """Answers "is this a working day?" and records whether it really knew."""

    overrides: dict[int, YearTable] = field(default_factory=dict)
    #: set to False the first time a day outside every known schedule was asked
    known: bool = True

    @classmethod
    def for_site(cls, site: Any | None) -> WorkCalendar:
        raw: Any = {}
        if site is not None:
            raw = getattr(site, "settings", {}).get(SETTINGS_KEY) or {}
        return cls(overrides=parse_table(raw))

    def year_known(self, year: int) -> bool:
        if year in self.overrides:
            return True
        return package_knows(year)

    def is_workday(self, day: date) -> bool:
        table = self.overrides.get(day.year)
        if table is not None:
            if day in table.holidays:
                return False
            if day in table.workdays:
                return True
            if not package_knows(day.year):
                return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:  # beyond the published schedule
            if table is None:
                self.known = False
            return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (the start day itself is not counted)."""
        day = start
        remaining = count
        guard = 0
        while remaining > 0:
            day += timedelta(days=1)
            guard += 1
            if self.is_workday(day):
                remaining -= 1
            if guard > 3660:  # a table that declares every day a holiday
                self.known = False
                break
        return day

    def next_workday(self, start: date, include_start: bool = False) -> date:
        day = start if include_start else start + timedelta(days=1)
        for _ in range(366):
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        self.known = False
        return day


def package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def parse_table(raw: Any) -> dict[int, YearTable]:
    """Settings (plain strings) -> tables; bad entries are skipped, never fatal."""
    out: dict[int, YearTable] = {}
    for year, entry in dict(raw or {}).items():
        try:
            y = int(year)
        except (TypeError, ValueError):
            continue
        holidays: set[date] = set()
        workdays: set[date] = set()
        for key, bucket in (("holidays", holidays), ("workdays", workdays)):
            for text in (entry or {}).get(key, ()) or ():
                try:
                    bucket.add(date.fromisoformat(str(text)))
                except ValueError:
                    continue
        out[y] = YearTable(frozenset(holidays), frozenset(workdays))
    return out


def validate_year(year: int, holidays: list[str], workdays: list[str]) -> dict[str, str]:
    """Field errors (Chinese) for an admin-entered year table; empty when fine."""
    errors: dict[str, str] = {}
    if not 2000 <= year <= 2200:
        errors["year"] = "年份应在 2000–2200 之间"
    for key, values, title in (("holidays", holidays, "节假日"), ("workdays", workdays, "调休上班日")):
        bad = []
        for text in values:
            try:
                d = date.fromisoformat(text)
            except ValueError:
                bad.append(text)
                continue
            if d.year != year:
                bad.append(text)
        if bad:
            errors[key] = f"{title}中有无效日期或不属于 {year} 年的日期：{'、'.join(bad[:5])}"
    if not errors and set(holidays) & set(workdays):
        errors["workdays"] = "同一天不能既是节假日又是调休上班日"
    return errors


def set_year(site: Any, year: int, holidays: list[str], workdays: list[str]) -> None:
    """Store one year's table (plain, sorted strings) in the site settings."""
    from persistent.mapping import PersistentMapping

    table = site.settings.get(SETTINGS_KEY)
    if table is None:
        table = site.settings[SETTINGS_KEY] = PersistentMapping()
    table[str(year)] = {"holidays": tuple(sorted(set(holidays))), "workdays": tuple(sorted(set(workdays)))}


def remove_year(site: Any, year: int) -> bool:
    table = site.settings.get(SETTINGS_KEY)
    if table is None or str(year) not in table:
        return False
    del table[str(year)]
    return True
