"""Login throttling: after repeated failures a username is locked for a while.

Kept in process memory on purpose: it must work even when the database is
read-only, and a restart forgiving a few failures is acceptable.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

MAX_FAILURES = 5
WINDOW = 15 * 60
LOCKOUT = 15 * 60

_lock = threading.Lock()
_failures: dict[str, deque[float]] = defaultdict(deque)


def locked_for(key: str) -> int:
    """Seconds until ``key`` may try again (0 when not locked)."""
    with _lock:
        attempts = _failures.get(key)
        if not attempts or len(attempts) < MAX_FAILURES:
            return 0
        remaining = int(attempts[-1] + LOCKOUT - time.monotonic())
        if remaining <= 0:
            attempts.clear()
            return 0
        return remaining


def failed(key: str) -> None:
    with _lock:
        attempts = _failures[key]
        cutoff = time.monotonic() - WINDOW
        while attempts and attempts[0] < cutoff:
            attempts.popleft()
        attempts.append(time.monotonic())


def succeeded(key: str) -> None:
    with _lock:
        _failures.pop(key, None)


def reset() -> None:
    with _lock:
        _failures.clear()
