"""catalog — see HACKING.md for what lives here."""

from __future__ import annotations


def includeme(config) -> None:
    pass
