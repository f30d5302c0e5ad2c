"""An item's workflow (from the registry the app loaded at start-up) and a hook's callable.

Its own module so that the deadline and hook code can ask for it without
importing the package (whose ``__init__`` imports the engine, which imports them).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pyramid.threadlocal import get_current_registry

if TYPE_CHECKING:
    from .engine import Workflow


def workflow_for(item: Any, registry: Any = None) -> Workflow:
    return (registry or get_current_registry()).duban_workflows[item.workflow]


def resolve(dotted: str) -> Any:
    """``package.module:name`` (or ``package.module.name``) -> the object a definition names."""
    module, _, attr = dotted.partition(":")
    if not attr:
        module, _, attr = dotted.rpartition(".")
    return getattr(import_module(module), attr)
