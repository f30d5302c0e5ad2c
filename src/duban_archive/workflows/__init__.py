"""Workflows: the engine, definitions as data, deadlines, worklists.

``includeme`` loads every workflow definition (``main()`` has already refused
broken ones, and boards bound to unknown workflows, with every problem named:
``scripts/check_definitions.py``) and wires the subscribers that keep deadlines
current when an item's 办结时限 changes or a feedback report arrives.
"""

from __future__ import annotations

from ..catalog.listing import reindex_item
from ..events import ObjectAdded, ObjectModified
from .deadlines import on_feedback
from .engine import Workflow, WorkflowError, WorkflowRegistry, _site_of  # noqa: F401
from .lookup import workflow_for


def includeme(config) -> None:
    settings = config.get_settings()
    workflows = WorkflowRegistry().load(settings.get("duban.profile_dir") or None)
    config.registry.duban_workflows = workflows
    config.add_subscriber(_item_modified, ObjectModified)
    config.add_subscriber(_feedback_added, ObjectAdded)
    # pages, nav entries and the item panel: views/workflow.py


def _item_modified(event) -> None:
    """办结时限 edited: the ``due`` deadline follows (only while it is open)."""
    item = event.object
    if "deadline" in (event.changes or {}) and getattr(item, "workflow", None):
        try:
            workflow_for(item).recompute_deadline(item, "due")
        except KeyError:
            return


def _feedback_added(event) -> None:
    """A feedback report meets report deadlines (3 天反馈) or restarts 持续推进 reporting."""
    rec = event.object
    if getattr(rec, "type_name", "") != "feedback_report":
        return
    folder = getattr(rec, "__parent__", None)
    item = getattr(folder, "__parent__", None)
    if item is None or not getattr(item, "workflow", None):
        return
    if on_feedback(item, _site_of(item)):
        _reindex(item)


def _reindex(item) -> None:
    site = _site_of(item)
    if site is not None:
        reindex_item(site, item)
