"""The page layout: one macro, a data-driven nav bar, translation helpers.

The nav bar is configuration: a views module adds its pages from its ``includeme``
(``views/__init__.py`` includes it) with the ``add_nav`` directive::

    def includeme(config):
        config.add_nav("档案室", "/archive", permission="records", order=50)

The entry shows only to users holding ``permission`` on the site.  Entries live in
the registry (``registry.duban_nav``), never in a module global; two entries for
the same ``path`` conflict when the configuration is committed (an includer's
entry overrides one from a package it includes, as Pyramid's directives do).
Titles are msgids of the ``duban_archive`` domain (Chinese); add an English msgstr
to ``locale/en/LC_MESSAGES/duban_archive.po`` to translate them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pyramid.i18n import TranslationString
from pyramid.renderers import get_renderer

from ..security.policy import request_principals as principals  # noqa: F401 (re-exported)
from ..security.roles import ROLES

DOMAIN = "duban_archive"


@dataclass(frozen=True)
class NavEntry:
    title: str
    path: str
    permission: str | None
    order: int = 100


NAV_CATEGORY = "duban nav entries"


def add_nav(config, title: str, path: str, permission: str | None = "view", order: int = 100) -> None:
    """Directive ``config.add_nav(title, path, permission="view", order=100)``: a nav-bar link.

    Discriminator ``("duban:nav", path)``: one entry per path.
    """
    entry = NavEntry(title, path, permission, order)
    discriminator = ("duban:nav", path)
    intr = config.introspectable(NAV_CATEGORY, path, title, "duban nav entry")
    intr.update(title=title, path=path, permission=permission, order=order)

    def register() -> None:
        nav_registry(config.registry)[path] = entry

    config.action(discriminator, register, introspectables=(intr,))


def nav_registry(registry) -> dict[str, NavEntry]:
    """The registry's nav entries by path (created empty on first use)."""
    nav = getattr(registry, "duban_nav", None)
    if nav is None:
        nav = registry.duban_nav = {}
    return nav


def includeme(config) -> None:
    config.add_directive("add_nav", add_nav)
    nav_registry(config.registry)


def nav_entries(request, site) -> list[NavEntry]:
    entries = nav_registry(request.registry).values()
    return [e for e in sorted(entries, key=lambda e: (e.order, e.path))
            if e.permission is None or request.has_permission(e.permission, site)]


def translate(request, msgid: str, mapping: dict[str, Any] | None = None, domain: str = DOMAIN) -> str:
    """Translate a msgid of our domain (Chinese msgids); ``{name}`` placeholders take ``mapping``.

    ``{}`` rather than ``${}`` placeholders, so msgids can sit inside Chameleon
    ``${t('共 {n} 件', n=total)}`` expressions.
    """
    text = request.localizer.translate(TranslationString(msgid, domain=domain))
    return text.format_map(mapping) if mapping else text


class Layout:
    """What every page template needs: user, nav, locale, CSRF token, messages."""

    def __init__(self, request) -> None:
        self.request = request

    @property
    def site(self):
        from ..content_types.site_access import get_site

        return get_site(self.request)

    @property
    def identity(self):
        return self.request.identity

    @property
    def user_title(self) -> str:
        ident = self.identity
        return ident.title if ident else ""

    @property
    def role_titles(self) -> list[str]:
        ident = self.identity
        if not ident:
            return []
        return [translate(self.request, ROLES.get(r, r)) for r in ident.roles]

    @property
    def locale(self) -> str:
        return self.request.localizer.locale_name

    @property
    def html_lang(self) -> str:
        return "en" if self.locale == "en" else "zh-CN"

    def csrf_token(self) -> str:
        return self.request.session.get_csrf_token()

    def boards(self) -> list:
        if not self.identity:
            return []
        return ordered_boards(self.request, self.site)

    def nav(self) -> list[NavEntry]:
        if not self.identity:
            return []
        return nav_entries(self.request, self.site)

    def unread(self) -> int:
        """Unread in-app messages (the bell; duban_archive.notifications)."""
        if not self.identity:
            return 0
        box = self.site.get("outbox")
        return box.unread_count(self.request.authenticated_userid) if box is not None else 0

    def lang_url(self, locale: str) -> str:
        came = self.request.path_qs
        return f"/@@lang?to={locale}&came_from={quote(came, safe='')}"

    def flashes(self) -> list[tuple[str, str]]:
        out = []
        for queue, css in (("error", "danger"), ("", "success")):
            for msg in self.request.session.pop_flash(queue):
                out.append((css, msg))
        return out


def ordered_boards(request, site) -> list:
    """Boards in definition order (1+5 first), not in the BTree's alphabetical order."""
    rank = {b.id: i for i, b in enumerate(getattr(request.registry, "duban_boards", ()))}
    return sorted(site.boards.values(), key=lambda b: (rank.get(b.__name__, len(rank)), b.__name__))


def renderer_globals(event) -> None:
    """BeforeRender: ``layout``, the ``main`` macro and ``t()`` for every template."""
    request = event.get("request")
    if request is None or "main" in event:
        return
    if not str(event.get("renderer_name") or "").endswith(".pt"):  # JSON API: no page layout
        return
    event["main"] = get_renderer("templates/layout.pt").implementation().macros["layout"]
    event.setdefault("form_resources", {"js": [], "css": []})
    if "layout" not in event:
        event["layout"] = Layout(request)
    event["t"] = lambda msgid, **mapping: translate(request, msgid, mapping or None)
