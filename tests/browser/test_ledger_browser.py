"""The 台账 import in Chromium: upload, 列对应, 预览, one import however often the button is pressed."""

from __future__ import annotations

import io
import os

import pytest
from openpyxl import Workbook

from .conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"),
]


def _ledger(path) -> None:
    wb = Workbook()
    wb.active.append(["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "完成时限"])
    for i in range(1, 41):
        wb.active.append([i, f"背街小巷整治第{i}段", "常务会议", "整治背街小巷" * 10, "按月报送", "城管局",
                          "2026年12月20日"])
    buf = io.BytesIO()
    wb.save(buf)
    path.write_bytes(buf.getvalue())


def _login(page, server, username: str) -> None:
    page.goto(server + "/login")
    page.fill("#username", username)
    page.fill("#password", "duban-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()


def test_a_clerk_imports_a_ledger_from_the_board_page_once(server, page, site, tmp_path):
    path = tmp_path / "台账.xlsx"
    _ledger(path)
    _login(page, server, "supervisor")
    page.goto(server + "/boards/rcgl")
    page.click("#import-ledger")
    page.set_input_files("#file", str(path))
    page.click("#upload-submit")
    page.wait_for_load_state()
    assert "表格共 40 行数据" in page.inner_text("#row-count")
    assert page.input_value("#map-1") == "title" and page.input_value("#map-5") == "lead_unit"
    page.click("#preview-submit")
    page.wait_for_load_state()
    assert "共 40 行数据，40 行无误" in page.inner_text("#row-count")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.post_data or "") if r.method == "POST" else None)
    status = page.locator("#ledger-import-form").evaluate(
        """f => { const b = document.getElementById('import-submit'); f.requestSubmit(b);
                  const s = f.querySelector('.busy-status');
                  setTimeout(() => f.requestSubmit(b), 300);
                  return s ? s.textContent : ''; }""")
    assert "正在导入" in status
    page.wait_for_selector("#created-items")
    assert len(posts) == 1 and "step=import" in posts[0]
    assert page.locator("#created-items a").count() == 40
    site._p_jar.sync()
    assert len(site.item_index) == 40


def test_the_preview_fits_a_phone(server, page, tmp_path):
    path = tmp_path / "台账.xlsx"
    _ledger(path)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, server, "supervisor")
    page.goto(server + "/boards/rcgl/@@import")
    page.set_input_files("#file", str(path))
    page.click("#upload-submit")
    page.wait_for_load_state()
    for _ in range(2):  # the mapping page, then the preview
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, overflow
        if page.locator("#preview-submit").count():
            page.click("#preview-submit")
            page.wait_for_load_state()
