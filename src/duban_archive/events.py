"""Content events.

Subsystems (catalog, notifications, archive) subscribe with
``config.add_subscriber(handler, ItemModified)``; content code only announces
what happened.  Handlers run inside the transaction and must only *queue*
work there (see :mod:`duban_archive.txn`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyramid.threadlocal import get_current_registry


@dataclass
class ContentEvent:
    object: Any
    actor: str | None = None


@dataclass
class ObjectAdded(ContentEvent):
    """A content object (item, feedback, instruction, attachment) was created."""


@dataclass
class ObjectModified(ContentEvent):
    """Fields changed; ``changes`` maps field -> (old, new)."""

    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class ObjectRemoved(ContentEvent):
    """Removed from its container (only drafts can be removed)."""


@dataclass
class StateChanged(ContentEvent):
    """A workflow transition fired on an item."""

    transition: str = ""
    old_state: str = ""
    new_state: str = ""
    entry: dict[str, Any] = field(default_factory=dict)


def notify(event: ContentEvent, registry=None) -> None:
    (registry or get_current_registry()).notify(event)
