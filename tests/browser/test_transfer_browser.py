"""The 移交 form in a real browser: it says it is working, a second click sends nothing, the
register page follows (issue 13)."""

from __future__ import annotations

import os

import pytest

from duban_archive.testing import api

from ..archive.conftest import closed_item  # noqa: F401 - fixture
from .conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"),
]


def test_the_transfer_form_shows_it_is_working_and_sends_once(server, page, testapp, closed_item):  # noqa: F811 - fixtures
    officer = api(testapp, "records_officer")
    codes = []
    for n, retention in enumerate(("D10", "Y")):
        item_id = closed_item(photos=0, signed=0, title=f"浏览器移交事项{n}")
        codes.append(officer.post(f"/api/v1/items/{item_id}/file", {"retention": retention}).json["archival_code"])
    page.goto(server + "/login")
    page.fill("#username", "records_officer")
    page.fill("#password", "duban-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    page.goto(server + "/archive")
    page.click("#transfer-link")
    page.click("#new-transfer")
    rows = page.locator("#transfer-form tbody tr").all_inner_texts()
    assert codes[1] in rows[0] and codes[0] in rows[1]  # 永久 before 定期10年
    for name, value in {"title": "2026年度电子档案移交", "receiver_unit": "县档案馆", "transferor": "王档案",
                        "receiver": "李馆员", "reviewer": "赵主任", "description": "两件"}.items():
        page.fill(f"[name={name}]", value)
    page.select_option("[name=carrier]", "optical")
    page.fill("[name=carrier_numbers]", "GP-001～GP-001")
    if os.environ.get("DUBAN_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["DUBAN_SCREENSHOTS"], "transfer-new.png"), full_page=True)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and "/transfers/new" in r.url else None)
    form = page.locator("#transfer-form")
    status = form.evaluate("""f => { f.requestSubmit(); const s = f.querySelector('.busy-status');
                                     setTimeout(() => f.requestSubmit(), 300);
                                     return s ? s.textContent : ''; }""")
    assert "正在复核归档包摘要并生成移交与接收登记表" in status
    page.wait_for_url("**/archive/transfers/YJ-*", timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert len(posts) == 1, posts
    assert "已移交" in page.locator("#transfer-state").inner_text()
    assert "未检测" in page.locator("#register").inner_text()
    if os.environ.get("DUBAN_SCREENSHOTS"):
        page.screenshot(path=os.path.join(os.environ["DUBAN_SCREENSHOTS"], "transfer-detail.png"), full_page=True)
    assert len(officer.get("/api/v1/transfers").json) == 1
