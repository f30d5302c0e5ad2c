"""One refusal, two translations: a domain operation raises ``duban_archive.errors.Refusal``; the JSON
API answers API.md's ``{"error", "message", "fields"}`` with its status, an HTML page shows the same
Chinese message field by field — and nothing is written either way."""

from __future__ import annotations

from duban_archive.content_types.site_access import open_site
from duban_archive.errors import Refusal
from duban_archive.testing import api, login

from .conftest import item_url


def _level(app, item_id: str) -> tuple[int, int]:
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        return int(getattr(item, "escalation_level", 0) or 0), len(item.history)


def _flash(page) -> str:
    return " ".join(div.get_text(" ", strip=True) for div in page.html.select("div.alert-danger"))


def test_an_escalation_refused_reads_the_same_in_json_and_on_the_item_page(app, testapp, in_progress_item):
    item_id = in_progress_item
    before = _level(app, item_id)
    sup = api(testapp, "supervisor")
    bad = sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 5, "reason": " "}, status=400).json
    assert bad == {"error": "invalid", "message": "填写内容有误",
                   "fields": {"level": "督办级别应为 1、2 或 3", "reason": "必填：请写明督办事由"}}
    assert api(testapp, "handler").post(f"/api/v1/items/{item_id}/escalate", {"level": 1, "reason": "x"},
                                        status=403).json == {
        "error": "forbidden", "message": "只有督查室可以启动督办", "fields": {}}

    login(testapp, "supervisor")
    form = testapp.get(item_url(item_id)).forms["escalate-form"]
    form["reason"] = ""
    page = form.submit(status=302).follow()
    assert "未能启动督办：填写内容有误" in _flash(page) and "督办事由：必填：请写明督办事由" in _flash(page)
    assert _level(app, item_id) == before

    sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 2, "reason": "多次催办仍未落实"})
    conflict = sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 1, "reason": "降级"}, status=409).json
    assert conflict == {"error": "conflict", "message": "事项已处于2级督办，不能降级或重复启动",
                        "fields": {"level": "应高于当前级别"}}
    form = testapp.get(item_url(item_id)).forms["escalate-form"]
    form["level"].force_value("1")
    form["reason"] = "降级"
    page = form.submit(status=302).follow()
    assert "未能启动督办：事项已处于2级督办，不能降级或重复启动" in _flash(page)
    assert "督办级别：应高于当前级别" in _flash(page)
    assert _level(app, item_id) == (2, before[1] + 1)  # only the accepted escalation was written


def test_a_score_adjustment_refused_reads_the_same_in_json_and_on_the_form(testapp):
    entry = {"unit": "jtj", "kind": "other", "points": "500", "date": "2026-05-20"}
    bad = api(testapp, "supervisor").post("/api/v1/scores/adjustments", entry, status=400).json
    assert bad == {"error": "invalid", "message": "填写内容有误", "fields": {"points": "分值应在 -100 到 100 之间"}}

    login(testapp, "supervisor")
    form = testapp.get("/scores?period=2026-05").forms["adjust-form"]
    for name, value in entry.items():
        form[name] = value
    page = form.submit(status=400)
    assert page.html.select_one("#adjust-refusal").get_text(strip=True) == "填写内容有误"
    points = page.html.select_one("#points")
    assert "is-invalid" in points["class"]
    assert points.find_next_sibling("div").get_text(strip=True) == "分值应在 -100 到 100 之间"
    assert "加扣分已录入" not in page.text


def test_a_refusal_no_view_catches_is_the_error_page_or_the_json_error(app, testapp, configure):
    """An operation writes, then refuses: HTML gets the error page with the fields, the API its JSON; both
    keep nothing."""

    def refusing_operation(request):
        from duban_archive.content_types.site_access import get_site

        get_site(request).settings["refusal-test"] = "written before the refusal"
        raise Refusal("测试：此操作被拒绝", {"name": "名称不能为空"}, status=409)

    def includeme(config):
        config.add_route("test.refuse", "/test-refuse")
        config.add_route("test.api_refuse", "/api/v1/test-refuse")
        config.add_view(refusing_operation, route_name="test.refuse")
        config.add_view(refusing_operation, route_name="test.api_refuse", renderer="json")

    configure(includeme)
    assert testapp.get("/api/v1/test-refuse", status=409).json == {
        "error": "conflict", "message": "测试：此操作被拒绝", "fields": {"name": "名称不能为空"}}
    login(testapp, "handler")
    page = testapp.get("/test-refuse", status=409)
    assert page.content_type == "text/html"
    assert page.html.select_one("#error-message").get_text(strip=True) == "测试：此操作被拒绝"
    assert [li.get_text(strip=True) for li in page.html.select("#error-fields li")] == ["名称不能为空"]
    with open_site(app.registry) as site:
        assert "refusal-test" not in site.settings
