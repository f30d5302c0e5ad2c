"""The records officer's pages: 档案室 queue, file form, item panel, 著录更正 and 鉴定销毁 forms."""

from __future__ import annotations

import os
import threading

import pytest
import transaction

from duban_archive.archive.filing import file_item
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import login

from .conftest import OFFICER


def _file(app, item_id: str, retention: str | None = None) -> str:
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention=retention, actor="records_officer",
                        principals=OFFICER)
        code = rec.archival_code
        transaction.commit()
    return code


def text(res, selector: str) -> str:
    """The visible text of what ``selector`` matches on the page ("" when nothing does)."""
    return " ".join(" ".join(el.get_text(" ").split()) for el in res.html.select(selector))


def _record(app, item_id: str):
    """(item title, versions, corrections, disposed, audit actions) as stored."""
    with open_site(app.registry) as site:
        rec = site["archive"][item_id]
        return (site.get_item(item_id).title, [v.sha256 for v in rec.versions], list(rec.corrections), rec.disposed,
                [e["action"] for e in site["audit"].for_target(item_id)])


def test_officer_files_from_the_queue_page(app, testapp, closed_item):
    item_id = closed_item(photos=0, signed=0, title="老旧小区<改造>")
    login(testapp, "records_officer")
    home = testapp.get("/")
    assert 'href="/archive"' in home.text  # nav entry
    page = testapp.get("/archive")
    assert "待归档" in page.text and "老旧小区&lt;改造&gt;" in page.text
    form = next(f for f in page.forms.values() if f.action == "/archive/@@file")
    assert form["retention"].value == "Y"  # default from the 保管期限表 for 重点工作任务
    form["retention"] = "D30"
    res = form.submit().maybe_follow()
    assert "已归档，档号：" in res.text and "-D30-ZJJ-0001" in res.text
    with open_site(app.registry) as site:
        assert site.get_item(item_id).archived
    page = testapp.get("/archive")
    assert "暂无待归档事项" in page.text and "-D30-ZJJ-0001" in page.text
    item_page = testapp.get(f"/boards/zdgz/{item_id}")
    assert 'id="archival-code"' in item_page.text and "package.zip?version=1" in item_page.text


def test_archive_page_is_for_records_officers_only(app, testapp):
    login(testapp, "handler")
    testapp.get("/archive", status=403)


def test_correction_form_reviews_old_and_new_then_seals_a_new_version(app, testapp, closed_item):
    item_id = closed_item(photos=0, signed=0, title="原题名<旧>")
    _file(app, item_id)
    title, versions, _, _, _ = _record(app, item_id)
    url = f"/boards/zdgz/{item_id}/@@correct"
    login(testapp, "records_officer")
    panel = testapp.get(f"/boards/zdgz/{item_id}")
    assert f'href="{url}"' in panel.text
    form = testapp.get(url).forms["correction-form"]
    assert form["title"].value == "原题名<旧>" and form["reason"].value == ""
    # no reason: refused beside the field, nothing changed
    form["title"] = "更正后的题名"
    res = form.submit("submit", status=400)
    assert "请填写" in text(res, "#correction-form .is-invalid, #correction-form .invalid-feedback, .error")
    assert _record(app, item_id)[:3] == (title, versions, [])
    # with a reason: a review of old -> new, still nothing changed
    form = res.forms["correction-form"]
    form["reason"] = "题名录入错字"
    review = form.submit("submit")
    diff = review.html.select("#correction-diff tbody tr")
    assert len(diff) == 1 and diff[0]["data-field"] == "title"
    assert "原题名<旧>" in diff[0].get_text() and "更正后的题名" in diff[0].get_text()
    assert "正在重新生成档案 PDF 和归档包" in review.text  # shown while the package is regenerated
    assert _record(app, item_id)[:3] == (title, versions, [])
    # back to edit keeps the input
    again = review.forms["confirm-form"].submit("edit")
    assert again.forms["correction-form"]["title"].value == "更正后的题名"
    # confirm: version 2 sealed, version 1 kept, logged, shown on the item page
    done = review.forms["confirm-form"].submit("confirm").maybe_follow()
    assert "著录更正已完成，已生成第 2 版归档包" in done.text and "“原题名&lt;旧&gt;”→“更正后的题名”" in done.text
    new_title, new_versions, corrections, _, actions = _record(app, item_id)
    assert new_title == "更正后的题名" and new_versions[0] == versions[0] and len(new_versions) == 2
    assert [(c["field"], c["old"], c["new"], c["reason"]) for c in corrections] == [
        ("title", "原题名<旧>", "更正后的题名", "题名录入错字")]
    assert "correct" in actions
    rows = text(done, "#corrections tbody tr")
    assert len(done.html.select("#corrections tbody tr")) == 1 and "原题名<旧> → 更正后的题名" in rows
    assert "题名录入错字" in rows
    assert "package.zip?version=2" in done.text and "package.zip?version=1" in done.text
    # confirming the same review again: already applied, so nothing to do
    res = review.forms["confirm-form"].submit("confirm", status=400)
    assert "没有需要更正的内容" in text(res, "#form-error") and len(_record(app, item_id)[1]) == 2
    # a review made before someone else's correction is shown again, not applied
    stale = review.forms["confirm-form"]
    stale["title"] = "再次更正"
    res = stale.submit("confirm")
    assert text(res, "#stale-note") and "再次更正" in text(res, "#correction-diff")
    assert len(_record(app, item_id)[1]) == 2


def test_correction_refusals_change_nothing(app, testapp, closed_item):
    item_id = closed_item(photos=0, signed=0, title="原题名")
    open_id = closed_item(photos=0, signed=0)
    _file(app, item_id)
    before = _record(app, item_id)
    url = f"/boards/zdgz/{item_id}/@@correct"
    login(testapp, "records_officer")
    form = testapp.get(url).forms["correction-form"]
    form["reason"] = "核对"
    res = form.submit("submit", status=400)  # nothing differs
    assert "没有需要更正的内容" in text(res, "#form-error")
    form = res.forms["correction-form"]
    form["title"] = ""
    form["reason"] = "核对"
    res = form.submit("submit", status=400)
    assert "请填写" in res.text
    # a forged value the form never offers
    res = testapp.post(url, {"csrf_token": form["csrf_token"].value, "title": "原题名", "classification": "secret",
                             "reason": "x", "confirm": "1", "version": "1"}, status=400)
    assert "classification" in res.text and _record(app, item_id) == before
    # without the CSRF token
    testapp.post(url, {"title": "改", "reason": "x", "confirm": "1", "version": "1"}, status=400)
    assert _record(app, item_id) == before
    # not archived yet, or not a records officer: no form at all
    testapp.get(f"/boards/zdgz/{open_id}/@@correct", status=403)
    testapp.reset()
    login(testapp, "handler")
    testapp.get(url, status=403)
    assert _record(app, item_id) == before


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser_page(app):
    """A real Chromium on the app served by waitress on a free port: (base URL, page)."""
    from playwright.sync_api import sync_playwright
    from waitress import create_server

    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_context(locale="zh-CN").new_page()
        page.set_default_timeout(30_000)
        yield f"http://127.0.0.1:{srv.effective_port}", page
        browser.close()
    srv.close()
    thread.join(timeout=5)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium not installed (make test installs it)")
def test_browser_correction_shows_progress_then_the_result(app, closed_item, browser_page):
    item_id = closed_item(photos=0, signed=0, title="浏览器原题名")
    _file(app, item_id)
    base, page = browser_page
    page.goto(f"{base}/login")
    page.fill("#username", "records_officer")
    page.fill("#password", "duban-demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#current-user")
    page.goto(f"{base}/boards/zdgz/{item_id}#tab-archive")
    page.click("#correct-link")
    page.fill("[name=title]", "浏览器更正题名")
    page.fill("[name=reason]", "错字")
    page.click("#correction-formsubmit")
    page.wait_for_selector("#correction-diff")
    assert "浏览器原题名" in page.inner_text("#correction-diff")
    # hold the POST back for a moment to see what the officer sees while the package is regenerated
    page.evaluate("document.getElementById('confirm-form').addEventListener('submit', e => e.preventDefault())")
    page.click("#confirm-button")
    assert page.is_visible("#busy") and "正在重新生成" in page.inner_text("#busy")
    assert page.is_disabled("#confirm-button")  # no second submission
    page.evaluate("document.getElementById('confirm-form').submit()")
    page.wait_for_selector("#corrections")
    assert "著录更正已完成，已生成第 2 版归档包" in page.inner_text("main")
    assert "浏览器更正题名" in page.inner_text("#corrections")
    assert _record(app, item_id)[0] == "浏览器更正题名"
