"""事项编号: ``<PREFIX>-<year>-<seq:04d>``, per board per year.

Unique under concurrent creation by design: the counter is a plain persistent
object, so two transactions that both increment it conflict and pyramid_retry
re-runs the loser (a ``Length`` would *merge* the increments and hand out the
same number twice).
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
