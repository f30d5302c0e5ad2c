"""An item's workflow, from the registry the app loaded at start-up.

Its own module so that the deadline and hook code can ask for it without
importing the package (whose ``__init__`` imports the engine, which imports them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyramid.threadlocal import get_current_registry

if TYPE_CHECKING:
    from .engine import Workflow


def workflow_for(item: Any, registry: Any = None) -> Workflow:
    return (registry or get_current_registry()).duban_workflows[item.workflow]
