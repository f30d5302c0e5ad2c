"""Deadline arithmetic on the State Council schedule (2025–2026) and beyond it (2027)."""

from datetime import datetime

import pytest

from duban_archive.timeutil import CST
from duban_archive.workflows.calendar import WorkCalendar, parse_table
from duban_archive.workflows.deadlines import SpecError, compute_due, light


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


# start, spec, expected due, calendar known
TABLE = [
    # 2025 Spring Festival: 1-28 .. 2-4 off, Sunday 1-26 and Saturday 2-8 are make-up working days
    ("2025-01-24 10:00", "1WD", "2025-01-26 23:59:59", True),
    ("2025-01-27 10:00", "3WD", "2025-02-07 23:59:59", True),
    ("2025-02-07 10:00", "1WD", "2025-02-08 23:59:59", True),
    # 2025 National Day + Mid-autumn: 10-1 .. 10-8 off, Sunday 9-28 and Saturday 10-11 worked
    ("2025-09-26 16:00", "1WD", "2025-09-28 23:59:59", True),
    ("2025-09-30 09:00", "1WD", "2025-10-09 23:59:59", True),
    ("2025-10-10 09:00", "1WD", "2025-10-11 23:59:59", True),
    # 2026 Spring Festival: 2-15 .. 2-23 off, Saturdays 2-14 and 2-28 worked
    ("2026-02-13 10:00", "1WD", "2026-02-14 23:59:59", True),
    ("2026-02-13 10:00", "2WD", "2026-02-24 23:59:59", True),
    ("2026-02-27 10:00", "1WD", "2026-02-28 23:59:59", True),
    ("2026-02-13 10:00", "7WD", "2026-03-02 23:59:59", True),  # 2-14, 2-24..27, 2-28, 3-2
    # 2026 National Day: 10-1 .. 10-7 off, Sunday 9-20 and Saturday 10-10 worked
    ("2026-09-30 10:00", "3WD", "2026-10-10 23:59:59", True),
    ("2026-09-18 10:00", "1WD", "2026-09-20 23:59:59", True),
    # 12345 sign_by: morning -> 17:30 that day; afternoon -> 12:00 next working day
    ("2026-03-10 09:30", "sign_by", "2026-03-10 17:30:00", True),
    ("2026-03-10 14:00", "sign_by", "2026-03-11 12:00:00", True),
    ("2026-02-13 15:00", "sign_by", "2026-02-14 12:00:00", True),  # make-up Saturday
    ("2026-02-16 09:00", "sign_by", "2026-02-24 12:00:00", True),  # dispatched in the holiday
    ("2025-10-10 16:00", "sign_by", "2025-10-11 12:00:00", True),
    # 13710 calendar durations ignore holidays: same day, 3 days, 7 days, 1 month
    ("2026-02-13 10:00", "same_day", "2026-02-13 23:59:59", True),
    ("2026-02-13 10:00", "P3D", "2026-02-16 10:00:00", True),
    ("2026-02-13 10:00", "P7D", "2026-02-20 10:00:00", True),
    ("2026-01-31 10:00", "P1M", "2026-02-28 10:00:00", True),
    ("2026-02-13 10:00", "PT5H", "2026-02-13 15:00:00", True),
    # 2027: no published schedule -> weekends only, flagged
    ("2026-12-31 10:00", "1WD", "2027-01-01 23:59:59", False),
    ("2026-12-31 10:00", "2WD", "2027-01-04 23:59:59", False),
    ("2027-03-05 10:00", "1WD", "2027-03-08 23:59:59", False),
    ("2027-03-05 15:00", "sign_by", "2027-03-08 12:00:00", False),
    ("2027-03-05 10:00", "P1M", "2027-04-05 10:00:00", True),
]


@pytest.mark.parametrize("start,spec,due,known", TABLE)
def test_deadline_table(start, spec, due, known):
    got = compute_due(at(start), spec, WorkCalendar())
    assert got.due == at(due)
    assert got.calendar_known is known


def test_an_admin_entered_year_is_used_and_known():
    # the State Council publishes 2027: New Year 1-1 .. 1-3 off, Saturday 2027-01-09 worked (example)
    cal = WorkCalendar(parse_table({"2027": {"holidays": ["2027-01-01"], "workdays": ["2027-01-09"]}}))
    got = compute_due(at("2026-12-31 10:00"), "1WD", cal)
    assert got.due == at("2027-01-04 23:59:59") and got.calendar_known
    got = compute_due(at("2027-01-08 10:00"), "1WD", cal)
    assert got.due == at("2027-01-09 23:59:59") and got.calendar_known


def test_an_override_can_correct_a_published_year():
    cal = WorkCalendar(parse_table({"2026": {"holidays": ["2026-03-10"], "workdays": []}}))
    assert compute_due(at("2026-03-09 10:00"), "1WD", cal).due == at("2026-03-11 23:59:59")


def test_far_years_never_crash():
    for year in (1999, 2003, 2040, 2100):
        got = compute_due(at(f"{year}-06-05 10:00"), "5WD", WorkCalendar())
        assert got.calendar_known is False
        assert got.due.weekday() < 5


@pytest.mark.parametrize("bad", ["", "3 days", "P", "PT", "WD", "3wd", "P1X", "sign-by"])
def test_bad_specs_are_refused(bad):
    with pytest.raises(SpecError):
        compute_due(at("2026-03-10 10:00"), bad)


def test_lights():
    due, warn = at("2026-03-10 17:30"), at("2026-03-10 12:30")
    assert light(due, warn, at("2026-03-10 09:00")) == "green"
    assert light(due, warn, at("2026-03-10 13:00")) == "yellow"
    assert light(due, warn, at("2026-03-10 17:30")) == "red"
