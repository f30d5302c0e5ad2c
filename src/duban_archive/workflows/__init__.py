"""Workflows: the engine, definitions as data, deadlines, worklists."""

from __future__ import annotations

from .engine import Workflow, WorkflowError, WorkflowRegistry  # noqa: F401


def includeme(config) -> None:
    settings = config.get_settings()
    config.registry.duban_workflows = WorkflowRegistry().load(settings.get("duban.profile_dir") or None)


def workflow_for(item, registry=None) -> Workflow:
    from pyramid.threadlocal import get_current_registry

    return (registry or get_current_registry()).duban_workflows[item.workflow]
