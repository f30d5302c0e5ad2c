"""Adjustments (表扬 / 批评 / 批示 ...) entered by the supervisor, kept at ``site["scoring"]``.

Entries are plain dicts keyed by ``<time_ns>-<hex>`` (concurrent writers
land in different buckets); a withdrawn entry is kept and marked, so the
breakdown of a published ranking can always be reconstructed.
"""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Any

from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..timeutil import now
from .engine import Adjustment


class ScoreBook(Persistent):
    type_name = "score_book"
    __name__: str | None = None
    __parent__: Any = None

    def __init__(self) -> None:
        self.entries = OOBTree()

    def add(self, *, unit: str, kind: str, points: float, day: date, note: str, actor: str,
            item_id: str = "", ruleset: str = "") -> str:
        key = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        self.entries[key] = {"id": key, "unit": unit, "kind": kind, "points": float(points), "date": day,
                             "note": note, "item": item_id, "actor": actor, "created": now(),
                             "ruleset": ruleset, "withdrawn": False}
        return key

    def withdraw(self, key: str, actor: str) -> bool:
        entry = self.entries.get(key)
        if entry is None or entry["withdrawn"]:
            return False
        self.entries[key] = {**entry, "withdrawn": True, "withdrawn_by": actor, "withdrawn_at": now()}
        return True

    def adjustments(self, ruleset: str | None = None) -> list[Adjustment]:
        return [Adjustment(e["unit"], e["kind"], e["points"], e["date"], e["note"], e["item"], e["id"])
                for e in self.entries.values()
                if not e["withdrawn"] and (ruleset is None or e.get("ruleset") in ("", ruleset))]


def get_book(site) -> ScoreBook:
    book = site.get("scoring")
    if book is None:
        book = site.add("scoring", ScoreBook())
    return book
