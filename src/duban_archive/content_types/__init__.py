"""Content types: persistent classes, the declarative type registry, the site tree."""

from __future__ import annotations


def includeme(config) -> None:
    from .board import load_board_defs
    from .registry import TypeRegistry

    settings = config.get_settings()
    profile = settings.get("duban.profile_dir") or None
    config.registry.duban_types = TypeRegistry().load(profile)
    config.registry.duban_boards = load_board_defs(profile)


def get_types(registry=None):
    from pyramid.threadlocal import get_current_registry

    return (registry or get_current_registry()).duban_types
