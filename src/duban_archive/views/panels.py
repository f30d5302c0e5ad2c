"""Extra tabs on the item page, registered by other subsystems.

Workflow buttons, deadlines, archive and grading live in their own packages;
they add a tab from their ``includeme`` without editing the item template::

    from duban_archive.views.panels import add_item_panel

    def deadlines_panel(request, item) -> str | None:
        return render("duban_archive.workflows:templates/deadlines.pt", {...}, request)

    add_item_panel("deadlines", "时限", deadlines_panel, permission="view", order=20)

The callable returns an HTML string (it must escape user data itself, e.g.
by rendering a Chameleon template) or ``None`` to hide the tab for this item.
Panels with ``order`` < 0 render above the tabs (e.g. workflow buttons).
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


_PANELS: dict[str, ItemPanel] = {}


def add_item_panel(name: str, title: str, renderer: PanelRenderer, permission: str | None = "view",
                   order: int = 100) -> None:
    """Register (or replace, by ``name``) a panel of the item page."""
    _PANELS[name] = ItemPanel(name, title, renderer, permission, order)


def remove_item_panel(name: str) -> None:
    _PANELS.pop(name, None)


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
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.name)):
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
