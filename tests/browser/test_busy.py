"""Slow actions show that they are working and cannot be sent twice (issue 15)."""

from __future__ import annotations

import os

import pytest

from duban_archive.testing import api

from .conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"),
]


def _closed_item(testapp, make_item) -> str:
    item_id = make_item(title="忙碌状态测试事项")
    for user, name, body in [("leader", "approve", {}), ("supervisor", "assign", {"problem_kind": "general"}),
                             ("unit_head", "accept", {}), ("handler", "request_closure", {}),
                             ("supervisor", "review", {}), ("leader", "close", {"grade": "B"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    return item_id


def _login(page, server, username: str) -> None:
    page.goto(server + "/login")
    page.fill("#username", username)
    page.fill("#password", "duban-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_filing_shows_it_is_working_and_a_second_click_sends_nothing(server, page, testapp, make_item, site):
    item_id = _closed_item(testapp, make_item)
    _login(page, server, "records_officer")
    page.goto(f"{server}/boards/zdgz/{item_id}")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "@@file" in r.url else None)
    form = page.locator("form[action='/archive/@@file']").first
    # a second click while the dossier is being rendered (filing takes seconds)
    status = form.evaluate("""f => { f.requestSubmit(); const s = f.querySelector('.busy-status');
                                     setTimeout(() => f.requestSubmit(), 400);
                                     return s ? s.textContent : ''; }""")
    assert "正在生成案卷并归档" in status
    page.wait_for_timeout(800)
    page.wait_for_load_state("networkidle")
    assert len(posts) == 1, posts
    site._p_jar.sync()
    item = site.get_item(item_id)
    assert item.state == "archived"
    assert [h["transition"] for h in item.history].count("file") == 1


def test_a_page_shown_again_from_history_is_usable(server, page, testapp, make_item):
    item_id = make_item(title="返回后可再次提交")
    _login(page, server, "leader")
    page.goto(f"{server}/boards/zdgz/{item_id}")
    page.locator("[data-bs-target='#wf-form-approve']").click()
    page.locator("#wf-form-approve button[type=submit]").click()
    page.wait_for_load_state()
    page.go_back()
    page.wait_for_load_state()
    assert page.locator("form[data-busy]").count() == 0
