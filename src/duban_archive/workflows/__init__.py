"""Workflows: the engine, definitions as data, deadlines, worklists.

``includeme`` loads and validates every workflow definition (start-up refuses
a broken one with a DefinitionError naming file and field), checks that each
board binds to a known workflow, and wires the subscribers that keep deadlines
current when an item's 办结时限 changes or a feedback report arrives.
"""

from __future__ import annotations

from ..catalog.listing import reindex_item
from ..definitions import DefinitionError
from ..events import ObjectAdded, ObjectModified
from .deadlines import on_feedback
from .engine import Workflow, WorkflowError, WorkflowRegistry, _site_of  # noqa: F401
from .lookup import workflow_for


def includeme(config) -> None:
    settings = config.get_settings()
    workflows = WorkflowRegistry().load(settings.get("duban.profile_dir") or None)
    config.registry.duban_workflows = workflows
    for i, bdef in enumerate(getattr(config.registry, "duban_boards", ()) or ()):
        if workflows.get(bdef.workflow) is None:
            raise DefinitionError("duban_archive/content_types/boards", f"boards[{i}]({bdef.id}).workflow: "
                                  f"未知流程 '{bdef.workflow}'，可选 {sorted(w.name for w in workflows)}")
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
