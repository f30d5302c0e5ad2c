"""事项编号: ``<PREFIX>-<year>-<seq:04d>``, per board per year.

Unique under concurrent creation by design: the counter is a plain persistent
object, so two transactions that both increment it conflict and pyramid_retry
re-runs the loser (a ``Length`` would *merge* the increments and hand out the
same number twice).

Kept in the creating transaction on purpose, unlike the archive's 件号
(``archive/filing.py`` draws those in a short transaction of its own): a
retried creation costs milliseconds, not a dossier render, and a new item has
no id yet to reserve a number under, so a number drawn apart from a request
that then failed would leave a gap in the 事项编号.
"""

from __future__ import annotations

from persistent import Persistent


class Counter(Persistent):
    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def next_number(site, prefix: str, year: int) -> str:
    key = f"{prefix}-{year}"
    counter = site.counters.get(key)
    if counter is None:
        counter = site.counters[key] = Counter()
    return f"{prefix}-{year}-{counter.next():04d}"
