"""Manual 督办 (三级督办): the one operation behind ``POST /api/v1/items/{id}/escalate`` and the
item page's 启动督办 form.

:func:`start_escalation` checks who asks and what they ask for, then raises the item's level
through :func:`.reminders.escalate` (history entry, audit entry, notices) and announces the change.
Every refusal is a :class:`~duban_archive.errors.Refusal` raised before anything is written; the
caller translates it (JSON error or a message on the page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..content_types.site import find_site
from ..errors import Refusal
from ..events import ObjectModified, notify
from ..timeutil import now
from ..validation import REASON_MAX, reason_problem
from .reminders import escalate, rules_of

LEVELS = (1, 2, 3)
#: the principal that may start 督办 by hand
SUPERVISOR = "role:supervisor"
#: states in which an item can no longer be escalated
ENDED = ("closed", "archived", "cancelled")


def check_escalation(item, data: Mapping[str, Any], principals: Iterable[str]) -> tuple[int, str]:
    """``(level, reason)`` when ``data`` may start 督办 on ``item``; otherwise a Refusal.

    403 unless 督查室 asks; 400 with fields for a bad level or reason or an unknown key;
    409 when the item is closed or already at that level or higher.
    """
    if SUPERVISOR not in set(principals):
        raise Refusal("只有督查室可以启动督办", status=403)
    fields: dict[str, str] = {}
    level: Any = data.get("level")
    if isinstance(level, bool) or level not in LEVELS:
        fields["level"] = "督办级别应为 1、2 或 3"
    reason = data.get("reason")
    problem = reason_problem(reason, "督办事由", max_length=REASON_MAX)
    if problem:
        fields["reason"] = problem
    for k in set(data) - {"level", "reason"}:
        fields[k] = "未知字段"
    if fields:
        raise Refusal("填写内容有误", fields)
    assert isinstance(reason, str)
    level = int(level)  # one of LEVELS (JSON may say 1.0)
    if getattr(item, "archived", False) or item.state in ENDED:
        raise Refusal("事项已办结，不能再启动督办", status=409)
    current = int(getattr(item, "escalation_level", 0) or 0)
    if level <= current:
        raise Refusal(f"事项已处于{current}级督办，不能降级或重复启动", {"level": "应高于当前级别"}, status=409)
    return level, reason.strip()


def start_escalation(item, data: Mapping[str, Any], *, actor: str, principals: Iterable[str], registry,
                     moment: datetime | None = None) -> dict[str, Any]:
    """Start 督办 at ``data["level"]`` for ``data["reason"]``; returns the history entry written."""
    level, reason = check_escalation(item, data, principals)
    current = int(getattr(item, "escalation_level", 0) or 0)
    rs = rules_of(registry).for_board(item.board_id)
    escalate(find_site(item), item, level, reason, rs, moment or now(), actor=actor)
    notify(ObjectModified(item, actor, {"escalation_level": (current, level)}), registry)
    return item.history[-1]
