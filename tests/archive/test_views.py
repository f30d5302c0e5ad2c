"""The records officer's pages: 档案室 queue, file form, item panel."""

from __future__ import annotations

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import login


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
