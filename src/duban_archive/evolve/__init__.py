"""Named evolve steps: schema changes to persistent data, applied in order.

The site records ``generation``; ``duban-archive evolve INI`` runs every step
whose number is above it, each in its own transaction, and logs what it did.
Steps must be idempotent and must not import classes they may later rename.
"""

from __future__ import annotations

from collections.abc import Callable

#: (generation, name, function(site, registry) -> str description)
STEPS: list[tuple[int, str, Callable]] = []


def step(generation: int, name: str):
    def register(fn: Callable) -> Callable:
        STEPS.append((generation, name, fn))
        STEPS.sort(key=lambda s: s[0])
        return fn

    return register


def pending(site) -> list[tuple[int, str, Callable]]:
    from . import steps  # noqa: F401  (registers the steps)

    current = getattr(site, "generation", 0)
    return [s for s in STEPS if s[0] > current]


def latest_generation() -> int:
    from . import steps  # noqa: F401

    return max((s[0] for s in STEPS), default=0)
