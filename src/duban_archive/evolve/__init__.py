"""Named evolve steps: schema changes to persistent data, applied in order.

The site records ``generation``; ``duban-archive evolve INI`` runs every step
whose number is above it, each in its own transaction, and logs what it did.
Steps must be idempotent and must not import classes they may later rename.
"""

from __future__ import annotations

from collections.abc import Callable

from . import steps  # noqa: F401  (importing the steps registers them)
from .registry import STEPS, step  # noqa: F401


def pending(site) -> list[tuple[int, str, Callable]]:
    current = getattr(site, "generation", 0)
    return [s for s in STEPS if s[0] > current]


def latest_generation() -> int:
    return max((s[0] for s in STEPS), default=0)
