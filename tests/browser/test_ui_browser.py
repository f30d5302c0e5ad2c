"""A real Chromium drives the UI: log in, register an item, upload a photo, see it.

The app runs under waitress on a free 127.0.0.1 port in a thread, on the
temporary data directory of the ``app`` fixture.
"""

from __future__ import annotations

import io
import os

import pytest

from .conftest import CHROMIUM

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)"),
]


def photo_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 200), (240, 240, 240))
    ImageDraw.Draw(img).rectangle((40, 40, 280, 160), fill=(20, 120, 200))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def test_login_add_item_upload_photo_and_see_it(server, page):
    page.goto(server + "/boards/zdgz")
    assert "/login" in page.url  # sent to the login form first
    page.fill("#username", "supervisor")
    page.fill("#password", "duban-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server + "/boards/zdgz")
    assert "督查室 王督查" in page.inner_text("#current-user")

    page.click("#add-item")
    page.wait_for_url("**/@@add")
    # each required field shows exactly one red *: after its label, none under the field (deform's form.css)
    marks = page.evaluate("""() => [...document.querySelectorAll('div.required')].map(g => [
        getComputedStyle(g.querySelector('.form-label'), '::after').content,
        getComputedStyle(g, '::after').content])""")
    assert marks and all(label == '" *"' and group in ("none", "normal") for label, group in marks), marks
    page.fill("[name=title]", "浏览器立项：<b>主干道</b>整治")
    page.fill("[name=source]", "区政府常务会议")
    page.fill("[name=content]", "完成主干道整治")
    page.fill("[name=requirement]", "每周报送进展")
    page.locator("input[name=date]").nth(0).fill("2026-11-20")  # 立项日期: fixed, so the test does not age
    page.locator("input[name=date]").nth(1).fill("2026-12-31")
    page.select_option("[name=lead_unit]", "zjj")
    page.click("#add-itemsubmit")
    page.wait_for_selector("#item-title")
    assert page.inner_text("#item-title") == "浏览器立项：<b>主干道</b>整治"  # shown as text, not markup
    item_url = page.url.split("#")[0]

    page.click("#item-tabs button[data-bs-target='#tab-attachments']")
    page.click("#upload-link")
    page.wait_for_url("**/@@upload")
    page.fill("#title", "现场照片")
    page.set_input_files("#file", files=[{"name": "现场.png", "mimeType": "image/png", "buffer": photo_png()}])
    preview = page.locator("#upload-preview img")
    preview.wait_for(state="visible")
    assert preview.get_attribute("src").startswith("blob:")  # previewed before upload
    # the blob image decodes asynchronously: wait for it rather than read its width at once
    page.wait_for_function("document.querySelector('#upload-preview img').complete")
    assert page.evaluate("document.querySelector('#upload-preview img').naturalWidth") == 320
    page.click("#upload-submit")
    page.wait_for_url(item_url + "#tab-attachments")
    thumb = page.locator(".attachment-thumb").first
    thumb.wait_for(state="visible")  # the attachments tab opened from the URL fragment
    page.wait_for_function("document.querySelector('.attachment-thumb').complete")
    assert page.evaluate("document.querySelector('.attachment-thumb').naturalWidth") > 0
    assert "现场照片" in page.inner_text("#tab-attachments")
