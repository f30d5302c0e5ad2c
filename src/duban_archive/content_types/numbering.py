"""事项编号: ``<PREFIX>-<year>-<seq:04d>``, per board per year.

Unique under concurrent creation by design: the counter is a plain persistent
object, so two transactions that both increment it conflict (a ``Length``
would *merge* the increments and hand out the same number twice).

In a web request the number is drawn in a short transaction of its own
(:func:`~duban_archive.txn.in_own_transaction`), so creations running side
by side do not make each other's whole request conflict and retry, and the
draw is remembered in the request's environ: a retry of the same request
(pyramid_retry reuses the environ) gets the same numbers back, in order.  A
number is lost — a gap in the 事项编号, never a duplicate — only when a
request drew it and then failed for good (e.g. a 409 after every retry).
Outside requests (``import-ledger``, tests) the counter is drawn in the
caller's transaction, so an import that is rolled back leaves no gap.
"""

from __future__ import annotations

from persistent import Persistent

from ..txn import in_own_transaction


class Counter(Persistent):
    def __init__(self) -> None:
        self.value = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def next_number(site, prefix: str, year: int) -> str:
    key = f"{prefix}-{year}"
    seq = _drawn_for_request(key, lambda: in_own_transaction(site.counters, lambda counters: _draw(counters, key)))
    if seq is None:
        seq = _draw(site.counters, key)
    return f"{prefix}-{year}-{seq:04d}"


def _draw(counters, key: str) -> int:
    counter = counters.get(key)
    if counter is None:
        counter = counters[key] = Counter()
    return counter.next()


def _drawn_for_request(key: str, draw) -> int | None:
    """The request's n-th number for ``key`` (drawn once per request, reused by its retries), or None."""
    from pyramid.threadlocal import get_current_request

    request = get_current_request()
    if request is None:
        return None
    env = request.environ
    attempt = env.get("retry.attempt", 0)
    state = env.setdefault("duban.numbers", {"attempt": attempt, "used": 0, "drawn": []})
    if state["attempt"] != attempt:  # a retry: hand the same numbers out again, in the same order
        state["attempt"], state["used"] = attempt, 0
    index = state["used"]
    state["used"] += 1
    drawn = state["drawn"]
    if index < len(drawn) and drawn[index][0] == key:
        return drawn[index][1]
    seq = draw()
    drawn[index:] = [(key, seq)]
    return seq

