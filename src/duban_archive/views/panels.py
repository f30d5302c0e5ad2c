"""Extra tabs on the item page, registered as configuration.

Workflow buttons, reminders, archive and the full-text notes are rendered by
their views modules, which add a tab from their ``includeme`` with the
``add_item_panel`` directive, without editing the item template::

    def deadlines_panel(request, item) -> str | None:
        return render("duban_archive.views:templates/deadlines.pt", {...}, request)

    def includeme(config):
        config.add_item_panel("deadlines", "时限", deadlines_panel, permission="view", order=20)

The callable returns an HTML string (it must escape user data itself, e.g.
by rendering a Chameleon template) or ``None`` to hide the tab for this item.
Panels with ``order`` < 0 render above the tabs (e.g. workflow buttons).

Panels live in the registry (``registry.duban_item_panels``), not in a module
global.  Two panels of the same ``name`` conflict when the configuration is
committed (``ConfigurationConflictError``), unless one comes from an includer of
the other's package: as with Pyramid's own directives, the includer overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PanelRenderer = Callable[[Any, Any], "str | None"]


@dataclass(frozen=True)
class ItemPanel:
    name: str
    title: str
    render: PanelRenderer
    permission: str | None = "view"
    order: int = 100


PANEL_CATEGORY = "duban item panels"


def add_item_panel(config, name: str, title: str, render: PanelRenderer | str, permission: str | None = "view",
                   order: int = 100) -> None:
    """Directive ``config.add_item_panel(name, title, render, permission="view", order=100)``.

    ``render`` may be a dotted name.  Discriminator ``("duban:item_panel", name)``.
    """
    renderer = config.maybe_dotted(render)
    panel = ItemPanel(name, title, renderer, permission, order)
    intr = config.introspectable(PANEL_CATEGORY, name, title, "duban item panel")
    intr.update(name=name, title=title, render=renderer, permission=permission, order=order)

    def register() -> None:
        panel_registry(config.registry)[name] = panel

    config.action(("duban:item_panel", name), register, introspectables=(intr,))


def panel_registry(registry) -> dict[str, ItemPanel]:
    """The registry's item panels by name (created empty on first use)."""
    panels = getattr(registry, "duban_item_panels", None)
    if panels is None:
        panels = registry.duban_item_panels = {}
    return panels


def includeme(config) -> None:
    config.add_directive("add_item_panel", add_item_panel)
    panel_registry(config.registry)


@dataclass
class RenderedPanel:
    name: str
    title: str
    html: str
    order: int


def render_panels(request, item) -> list[RenderedPanel]:
    """The panels this user may see for ``item``, rendered, in order.

    A failing panel must not take the item page down: it shows an error note.
    """
    import logging

    from transaction.interfaces import TransientError

    from .layout import translate

    out = []
    for panel in sorted(panel_registry(request.registry).values(), key=lambda p: (p.order, p.name)):
        if panel.permission and not request.has_permission(panel.permission, item):
            continue
        try:
            html = panel.render(request, item)
        except TransientError:
            raise  # a conflict: let pyramid_retry run the request again
        except Exception:  # noqa: BLE001 — one broken panel must not hide the item
            logging.getLogger(__name__).exception("item panel %s failed", panel.name)
            html = '<div class="alert alert-warning">' + translate(request, "此栏目暂时无法显示") + "</div>"
        if html is None:
            continue
        out.append(RenderedPanel(panel.name, translate(request, panel.title), str(html), panel.order))
    return out
