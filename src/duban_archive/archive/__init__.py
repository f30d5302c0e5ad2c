"""archive — the PDF/A dossier, 立卷归档 (档号, 保管期限), BagIt packages, fixity.

``render.render_pdf`` is the safe PDF/A renderer other subsystems reuse for
printable forms; ``filing`` is the records officer's Python API.
"""

from __future__ import annotations


def includeme(config) -> None:
    from ..events import StateChanged
    from .filing import on_state_changed
    from .rules import get_rules

    get_rules(config.registry)  # validate the 保管期限表 / 档号 template at start-up
    config.add_subscriber(on_state_changed, StateChanged)
    _register_ui()


def _register_ui() -> None:
    """Nav entry and item panel (the UI engineer's registries, when present)."""
    try:
        from ..views.layout import add_nav
        from ..views.panels import add_item_panel
    except ImportError:  # pragma: no cover - UI not installed
        return
    from ..views.archive import archive_panel

    add_nav("档案室", "/archive", permission="records", order=50)
    add_item_panel("archive", "归档", archive_panel, permission="view", order=60)
