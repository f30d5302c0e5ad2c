"""Time in one place: every "now" in the app comes from here.

Deadlines and reminders are computed in China Standard Time.  Tests and the
``tick --now`` command move the clock with :func:`frozen_now` instead of
patching ``datetime``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")

_override: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "duban_now", default=None
)


def now() -> datetime:
    """The current time, aware, in China Standard Time."""
    fixed = _override.get()
    if fixed is not None:
        return fixed
    return datetime.now(CST)


def today() -> date:
    return now().date()


@contextlib.contextmanager
def frozen_now(moment: datetime) -> Iterator[datetime]:
    """Make :func:`now` return ``moment`` inside the block."""
    token = _override.set(as_cst(moment))
    try:
        yield moment
    finally:
        _override.reset(token)


def as_cst(moment: datetime) -> datetime:
    """Aware datetime in CST; naive input is taken to be CST already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CST)
    return moment.astimezone(CST)


def isoformat(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return as_cst(moment).isoformat(timespec="seconds")
    return moment.isoformat()


def display(moment: datetime | date | None | str) -> str:
    """A date or time as people read it: ``2026-03-09`` / ``2026-03-09 17:30`` (CST)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, datetime):
        return as_cst(moment).strftime("%Y-%m-%d %H:%M")
    if isinstance(moment, date):
        return moment.isoformat()
    return str(moment)


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` accepted); naive means CST."""
    return as_cst(datetime.fromisoformat(text.replace("Z", "+00:00")))
