"""The text policy in the HTML forms and the search page (issue 12): a 400 with the field's message, nothing saved."""

from __future__ import annotations

from duban_archive.testing import login

from ..api.conftest import snapshot
from .conftest import item_url
from .test_items import fill_add_form

BEL = "含有不允许的控制字符（U+0007），请删除后重新提交"


def test_bell_in_a_title_is_refused_beside_the_field_and_nothing_is_saved(testapp, app, site):
    login(testapp, "supervisor")
    before = snapshot(app)
    form = fill_add_form(testapp.get("/boards/zdgz/@@add").forms["add-item"], title="铃声\x07标题",
                         content="第一行\r\n第二行")
    res = form.submit(status=400)
    assert BEL in res.text
    assert res.forms["add-item"]["content"].value.replace("\r\n", "\n") == "第一行\n第二行"  # input kept
    assert snapshot(app) == before

    form = fill_add_form(res.forms["add-item"], title="Cafe\u0301 改造 👍", content="第一行\r\n第二行")
    res = form.submit(status=303)
    item_id = res.location.rstrip("/").rsplit("/", 1)[-1]
    site._p_jar.sync()
    item = site.get_item(item_id)
    assert item.title == "Caf\u00e9 改造 👍"  # NFC: stored composed
    assert item.content.replace("\r\n", "\n") == "第一行\n第二行"  # a textarea keeps its lines

    edit = testapp.get(item_url(item_id) + "/@@edit").forms["edit-item"]
    edit["leader"] = "李\x1b副市长"
    res = edit.submit(status=400)
    assert "含有不允许的控制字符（U+001B）" in res.text
    site._p_jar.sync()
    assert site.get_item(item_id).leader != "李\x1b副市长"


def test_feedback_form_accepts_wechat_emoji_and_names_what_no_font_draws(testapp, app, site, in_progress_item):
    login(testapp, "handler")
    before = snapshot(app, in_progress_item)
    form = testapp.get(item_url(in_progress_item) + "/@@feedback").forms["feedback_report-form"]
    form["done"] = "完成道路测量🥰"
    form["progress"] = "已完成 60%"
    res = form.submit(status=400)
    assert "以下字符没有可用字体" in res.text and "U+1F970" in res.text
    assert snapshot(app, in_progress_item) == before
    form = res.forms["feedback_report-form"]
    form["done"] = "完成道路测量👍"
    form["progress"] = "已完成✅"
    page = form.submit(status=303).follow()
    assert "已完成✅" in page.text


def test_search_page_and_export_refuse_a_control_character_with_400(testapp, make_item):
    make_item(title="燃气管道改造")
    login(testapp, "supervisor")
    page = testapp.get("/search", params={"q": "燃气\x07"}, status=400)
    assert BEL in page.text
    testapp.get("/search.xlsx", params={"q": "燃气\x07"}, status=400)
    assert testapp.get("/search.xlsx", params={"q": "燃气"}).content_type.endswith("spreadsheetml.sheet")


def test_admin_forms_follow_the_policy(testapp, site):
    login(testapp, "admin")
    form = testapp.get("/@@units").forms["add-unit"]
    form["unit_id"] = "sjj"
    form["title"] = "市水利局\x07"
    res = form.submit(status=400)
    assert BEL in res.text
    site._p_jar.sync()
    assert "sjj" not in site["units"]


def test_a_query_string_that_is_not_utf8_is_a_400_page_not_a_500(testapp):
    from duban_archive.testing import api as api_client
    from duban_archive.testing import login as login_ui

    supervisor = api_client(testapp, "supervisor")
    res = supervisor.get("/api/v1/search?q=%ED%A0%BD", status=400)
    assert "UTF-8" in res.json["message"]
    login_ui(testapp, "supervisor")
    page = testapp.get("/search?q=%ED%A0%BD", status=400)
    assert "UTF-8" in page.text
