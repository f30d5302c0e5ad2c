"""The list of evolve steps and the decorator that fills it (``evolve/steps.py`` uses it)."""

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
