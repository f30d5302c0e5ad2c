"""Browser fixtures: the app under waitress in a thread, and a headless Debian Chromium page.

``server`` / ``page`` are per test (a fresh demo site each time).  The phone, contrast, English
and lifecycle suites share one server and one Chromium per session instead (``demo_server``,
``chromium``): starting Chromium and filling a site with a month of demo items costs seconds,
and the browser suite must stay short on two cores.  Tests on the shared site only add items
(the lifecycle walk); none changes a demo item another test looks at.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "duban-demo"

#: the viewports a clerk, a department handler on 政务微信 and a small Android phone use
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}


@pytest.fixture
def server(app):
    from waitress import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}"
    srv.close()
    thread.join(timeout=5)


@pytest.fixture
def page(chromium):
    """A fresh browser context (no cookies) on the session's Chromium: one Playwright per process,
    since its sync API cannot run inside another instance's event loop."""
    context = chromium.new_context(locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


# --- one server and one browser per module --------------------------------------------------------

@dataclass
class DemoServer:
    """The app on a demo site with items in every state (and two filed), served by waitress."""

    base: str
    app: Any
    items: list[dict[str, Any]] = field(default_factory=list)

    def item(self, *, state: str | None = None, archived: bool | None = None,
             board: str | None = None, lead: str | None = None) -> dict[str, Any]:
        """The first demo item matching the filters (its url, title, state, lead unit…)."""
        for it in self.items:
            if ((state is None or it["state"] == state) and (board is None or it["board"] == board)
                    and (archived is None or it["archived"] == archived)
                    and (lead is None or it["lead"] == lead)):
                return it
        raise LookupError(f"no demo item with state={state} archived={archived} board={board}")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory) -> Iterator[DemoServer]:
    import transaction
    from pyramid.paster import get_app
    from waitress import create_server

    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site
    from duban_archive.demo import add_demo_items
    from duban_archive.security import throttle
    from duban_archive.testing import project_root

    var = tmp_path_factory.mktemp("browser") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DUBAN_VAR_DIR", str(var))
        throttle.reset()
        wsgi = get_app(str(project_root() / "testing.ini"))
        with open_site(wsgi.registry, create=True) as site:
            add_demo_content(site)
            transaction.commit()
            add_demo_items(site, wsgi.registry, commit=transaction.commit)
            transaction.commit()
            items = [{"id": i.item_id, "lead": getattr(i, "lead_unit", None), "board": i.board_id,
                      "state": i.state, "title": i.title, "archived": bool(getattr(i, "archived", False)),
                      "url": f"/boards/{i.board_id}/{i.item_id}"}
                     for i in sorted(site.item_index.values(), key=lambda i: i.item_id)]
    # the app keeps its var dir in its settings: the variable is not left set for the other tests
    srv = create_server(wsgi, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield DemoServer(f"http://127.0.0.1:{srv.effective_port}", wsgi, items)
    srv.close()
    thread.join(timeout=5)
    for db in wsgi.registry._zodb_databases.values():
        db.close()


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


class Watched:
    """A page whose JavaScript errors, console errors and 5xx answers are collected."""

    def __init__(self, browser, base: str, viewport: dict[str, int], locale: str = "zh-CN") -> None:
        self.base = base
        # reduced motion: Bootstrap then opens collapses without a transition, so a click never lands on a
        # button that is still sliding into place (on a loaded machine the animation frames come slowly)
        self.context = browser.new_context(viewport=viewport, locale=locale, reduced_motion="reduce",
                                           is_mobile=viewport["width"] < 768, has_touch=viewport["width"] < 768)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda exc: self.problems.append(f"JS error: {exc}"))
        self.page.on("console", lambda msg: self.problems.append(
            f"console {msg.type}: {msg.text} {msg.location.get('url', '')}") if msg.type == "error" else None)
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 500
                     or (r.status == 404 and r.request.resource_type != "document") else None)
        # requests sent and not yet answered: what a page that never finishes loading is waiting for
        self.pending: dict[Any, str] = {}
        self.page.on("request", lambda r: self.pending.__setitem__(r, f"{r.method} {r.url}"))
        self.page.on("requestfinished", lambda r: self.pending.pop(r, None))
        self.page.on("requestfailed", lambda r: (self.pending.pop(r, None),
                                                 self.documents.append(f"failed {r.method} {r.url}: {r.failure}")))
        #: every document request's answer, for a message when a page never comes
        self.documents: list[str] = []
        self.page.on("requestfinished", lambda r: self.documents.append(f"{r.method} {r.url}") if
                     r.resource_type == "document" else None)

    def login(self, username: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("#login-form button[type=submit]")
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, f"{username} could not log in"

    def goto(self, path: str):
        res = self.page.goto(self.base + path)
        if res is None and "#" in path:  # the same document, another tab: no new answer
            return res
        assert res is not None and res.status < 400, f"{path}: {res and res.status}"
        return res

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_page(chromium, demo_server):
    """``open_page(viewport, user=None, locale="zh-CN")`` -> a logged-in ``Watched`` page."""
    opened: list[Watched] = []

    def factory(viewport: dict[str, int], user: str | None = None, locale: str = "zh-CN",
                base: str | None = None) -> Watched:
        watched = Watched(chromium, base or demo_server.base, viewport, locale)
        opened.append(watched)
        if user:
            watched.login(user)
        return watched

    yield factory
    for w in opened:
        w.close()


def skip_without_chromium() -> pytest.MarkDecorator:
    return pytest.mark.skipif(not os.path.exists(CHROMIUM),
                              reason="Debian chromium not installed (make test installs it)")
