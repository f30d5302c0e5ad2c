"""The happy path through the UI, validation, escaping and permissions."""

from __future__ import annotations

import hashlib
import re

from duban_archive.testing import login

from .conftest import item_url, png_bytes


def fill_add_form(form, **values):
    defaults = {"title": "推进老旧小区改造", "source": "区政府常务会议", "content": "完成 3 个小区改造",
                "requirement": "按月报送", "lead_unit": "zjj"}
    defaults.update(values)
    for name, value in defaults.items():
        form[name] = value
    return form


def test_add_edit_and_see_item(testapp, site):
    login(testapp, "supervisor")
    form = fill_add_form(testapp.get("/boards/zdgz/@@add").forms["add-item"])
    form["assist_units"] = ["jtj"]
    form.set("date", "2026-11-20", index=0)  # 立项日期 (fixed: the test must not age)
    form.set("date", "2026-12-31", index=1)  # 办结时限
    res = form.submit(status=303)
    page = res.follow()
    assert "已立项：ZDGZ-" in page.text
    assert "推进老旧小区改造" in page.text and "市交通运输局" in page.text and "2026-12-31" in page.text
    item_id = res.location.rstrip("/").rsplit("/", 1)[-1]

    edit = testapp.get(item_url(item_id) + "/@@edit").forms["edit-item"]
    assert edit["title"].value == "推进老旧小区改造"  # the form shows the current values
    edit["title"] = "推进老旧小区改造（二期）"
    page = edit.submit(status=303).follow()
    assert "已保存修改" in page.text and "推进老旧小区改造（二期）" in page.text
    site._p_jar.sync()
    item = site.get_item(item_id)
    assert item.title == "推进老旧小区改造（二期）"
    assert item.assist_units == ("jtj",)
    # the audit tab shows the edit, old -> new
    assert "推进老旧小区改造 → 推进老旧小区改造（二期）" in page.text

    listing = testapp.get("/boards/zdgz")
    assert "推进老旧小区改造（二期）" in listing.text and "共 1 件" in listing.text


def test_every_invalid_field_is_reported_in_chinese_and_nothing_saved(testapp, site):
    login(testapp, "supervisor")
    form = testapp.get("/boards/zdgz/@@add").forms["add-item"]
    form["title"] = "有效标题保留"
    form["content"] = "x" * 10001
    form["contact"] = "y" * 101
    form["classification"] = "secret"
    form.set("date", "2026-02-30", index=1)
    res = form.submit(status=400)
    text = res.text
    errors = dict(re.findall(r'<p class="invalid-feedback"\s+id="error-(deformField\d+)">\s*(.*?)\s*</p>', text, re.S))
    assert len(errors) >= 6, errors
    assert "请填写任务来源" in text and "请选择主办单位" in text  # says which field, not a bare 「必需」
    assert "不能超过 10000 个字符" in text
    assert "不能超过 100 个字符" in text
    assert "严禁纳入涉密事项" in text
    assert "There was a problem" not in text and "Required" not in text
    # what the user typed is shown again
    again = res.forms["add-item"]
    assert again["title"].value == "有效标题保留"
    assert again["classification"].value == "secret"
    site._p_jar.sync()
    assert len(site.boards["zdgz"]) == 0


def test_html_in_text_is_escaped(testapp, make_item):
    login(testapp, "supervisor")
    item_id = make_item(title="<script>alert(1)</script>", content="<b>粗体</b>")
    page = testapp.get(item_url(item_id))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;粗体&lt;/b&gt;" in page.text
    listing = testapp.get("/boards/zdgz")
    assert "<script>alert(1)" not in listing.text


def test_feedback_upload_preview_and_download(testapp, site, in_progress_item):
    login(testapp, "handler")
    page = testapp.get(item_url(in_progress_item))
    assert "填报反馈" in page.text and "上传附件" in page.text
    assert 'id="edit-link"' not in page.text  # handlers may not edit the item

    form = testapp.get(item_url(in_progress_item) + "/@@feedback").forms["feedback_report-form"]
    form["done"] = "完成道路测量"
    form["progress"] = "已完成 60%"
    page = form.submit(status=303).follow()
    assert "已提交反馈" in page.text and "已完成 60%" in page.text

    photo = png_bytes()
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    assert form["kind"].value == "photo"
    form["title"] = "现场照片"
    form["file"] = ("现场 照片.png", photo, "image/png")
    page = form.submit(status=303).follow()
    assert "已上传：现场 照片.png" in page.text
    thumb = re.search(r'src="([^"]+/@@thumbnail)"', page.text).group(1)
    img = testapp.get(thumb)
    assert img.content_type == "image/jpeg" and img.body[:2] == b"\xff\xd8"

    download = re.search(r'href="([^"]+/@@download)"', page.text).group(1)
    res = testapp.get(download)
    assert res.body == photo
    assert hashlib.sha256(res.body).hexdigest() in page.text
    assert res.content_type == "image/png"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.png" in res.headers["Content-Disposition"]
    site._p_jar.sync()
    actions = [e["action"] for e in site["audit"].for_target(in_progress_item)]
    assert "feedback" in actions and "upload" in actions and "download" in actions


def test_refused_upload_keeps_nothing_and_says_why(testapp, site, in_progress_item):
    login(testapp, "handler")
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    form["title"] = "伪装的照片"
    form["file"] = ("photo.png", b"MZ\x90\x00 not an image at all \x00\x01", "image/png")
    res = form.submit(status=415)
    assert "不支持的文件类型" in res.text and "未做任何更改" in res.text
    assert res.forms["upload-form"]["title"].value == "伪装的照片"
    res = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"].submit(status=400)
    assert "请选择要上传的文件" in res.text
    site._p_jar.sync()
    assert len(site.get_item(in_progress_item).attachments) == 0
    assert "upload" not in [e["action"] for e in site["audit"].for_target(in_progress_item)]


def test_oversized_uploads_are_refused(testapp, app, site, in_progress_item):
    app.registry.settings["duban.max_upload_bytes"] = "1000"
    login(testapp, "handler")
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    form["file"] = ("big.png", png_bytes((300, 300)) + b"\0" * 1500, "image/png")
    res = form.submit(status=413)  # streamed into the blob, refused at 1000 bytes
    assert "文件过大：上限为 1000 B" in res.text
    form = res.forms["upload-form"]
    form["file"] = ("huge.png", b"\0" * (2 * 1024 * 1024), "image/png")
    res = form.submit(status=413)  # refused by Content-Length before the form is parsed
    assert "文件过大" in res.text
    site._p_jar.sync()
    assert len(site.get_item(in_progress_item).attachments) == 0


def test_permissions_and_auditor_views_are_logged(testapp, site, make_item):
    item_id = make_item()
    login(testapp, "handler")
    testapp.get("/boards/zdgz/@@add", status=403)
    testapp.get(item_url(item_id), status=403)  # registered items are not the unit's yet
    assert "推进老旧小区改造" not in testapp.get("/boards/zdgz").text  # the listing filters too
    testapp.reset()

    login(testapp, "auditor")
    page = testapp.get(item_url(item_id))
    assert "审计记录" in page.text
    testapp.get(item_url(item_id) + "/@@edit", status=403)
    site._p_jar.sync()
    views = [e for e in site["audit"].for_target(item_id) if e["action"] == "view"]
    assert [v["actor"] for v in views] == ["auditor"]
    testapp.reset()

    login(testapp, "supervisor")
    testapp.get(item_url(item_id))
    site._p_jar.sync()
    assert len([e for e in site["audit"].for_target(item_id) if e["action"] == "view"]) == 1


def test_instruction_by_leader(testapp, site, make_item):
    item_id = make_item()
    login(testapp, "leader")
    form = testapp.get(item_url(item_id) + "/@@instruct").forms["instruction-form"]
    res = form.submit(status=400)
    assert "批示内容" in res.text
    form = res.forms["instruction-form"]
    form["text"] = "请抓紧推进，月底前见成效"
    page = form.submit(status=303).follow()
    assert "请抓紧推进，月底前见成效" in page.text


def test_english_locale_switch(testapp):
    login(testapp, "supervisor")
    res = testapp.get("/@@lang?to=en&came_from=/boards/zdgz", status=303)
    assert res.location.endswith("/boards/zdgz")
    page = res.follow()
    assert 'lang="en"' in page.text
    assert "Register item" in page.text and "Sign out" in page.text and "Key tasks" in page.text
    form = testapp.get("/boards/zdgz/@@add").forms["add-item"]
    res = form.submit(status=400)
    assert "Please fill in" in res.text and "Title" in res.text
    testapp.get("/@@lang?to=zh&came_from=/", status=303)
    assert "退出" in testapp.get("/").text


def test_archived_item_cannot_be_edited_and_says_why(testapp, site, make_item):
    import transaction

    item_id = make_item()
    site._p_jar.sync()
    site.get_item(item_id).archived = True
    transaction.commit()
    login(testapp, "supervisor")
    page = testapp.get(item_url(item_id))
    assert 'id="edit-link"' not in page.text and "已归档" in page.text
    res = testapp.get(item_url(item_id) + "/@@edit", status=403)
    assert "事项已归档，内容不可更改" in res.text


def test_every_board_has_a_working_add_form_and_listing(testapp, app):
    login(testapp, "supervisor")
    for board in app.registry.duban_boards:
        form = testapp.get(f"/boards/{board.id}/@@add").forms["add-item"]
        assert "csrf_token" in form.fields
        res = form.submit(status=400)  # empty: refused field by field, nothing created
        assert "is-invalid" in res.text
        assert "没有符合条件的事项" in testapp.get(f"/boards/{board.id}").text


def test_chinese_by_default_even_for_an_english_browser(testapp):
    page = testapp.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="zh' in page.text and "登录" in page.text
    english = testapp.get("/login?_LOCALE_=en")
    assert 'lang="en"' in english.text and "Sign in" in english.text
