"""Reading the site-wide audit log (安全审计员): filters, newest first, and the read itself logged.

Under 三员分立 the 安全审计员 watches the other two administrators; whoever reads the log is
watched too, so every read writes one ``audit_read`` entry (what was asked, how many entries
were shown) in the reader's own transaction — a read whose entry cannot be written is refused.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .log import record

#: entries one read shows at most (the newest)
LIMIT = 500
#: actors that are not accounts but act for the operators (commands, evolve steps)
OPERATOR_ACTORS = ("cli", "system:evolve")


@dataclass(frozen=True)
class AuditQuery:
    since: datetime
    actor: str | None = None
    action: str | None = None
    #: only entries by these actors (None: everyone)
    actors: frozenset[str] | None = None
    limit: int = LIMIT


def admin_actors(site) -> frozenset[str]:
    """Whoever holds (or held, while deactivated) an administrator role, and the operators' actors."""
    from ..security.roles import ADMIN_ROLES

    holders = {u.username for u in site["users"].values() if set(u.roles) & set(ADMIN_ROLES)}
    return frozenset(holders | set(OPERATOR_ACTORS))


def matching(site, query: AuditQuery) -> list[dict[str, Any]]:
    """The newest ``query.limit`` entries since ``query.since`` that match, newest first."""
    ns = int(query.since.timestamp() * 1_000_000_000)
    kept: deque[dict[str, Any]] = deque(maxlen=max(1, query.limit))
    for entry in site["audit"].since(ns):
        actor = entry.get("actor") or ""
        if query.actor and actor != query.actor:
            continue
        if query.action and entry.get("action") != query.action:
            continue
        if query.actors is not None and actor not in query.actors:
            continue
        kept.append(entry)
    return list(reversed(kept))


def read_log(site, query: AuditQuery, reader: str, via: str) -> list[dict[str, Any]]:
    """:func:`matching`, with the read recorded (``audit_read``) after the entries were chosen."""
    entries = matching(site, query)
    detail = {k: v for k, v in (("who", query.actor), ("what", query.action)) if v}
    record(site, "audit_read", reader, "", via=via, count=len(entries), since=query.since,
           scope="admins" if query.actors is not None else "all", **detail)
    return entries
