"""The workflow in the browser UI: buttons and forms, CSRF, admin pages, 我的待办."""

import re

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login


def _item_url(board: str, item_id: str) -> str:
    return f"/boards/{board}/{item_id}"


def test_buttons_forms_and_csrf_on_the_item_page(testapp, make_item):
    item_id = make_item()
    url = _item_url("zdgz", item_id)
    login(testapp, "leader")
    page = testapp.get(url)
    panel = page.html.find(id="workflow-panel")
    assert panel is not None and "已立项" in panel.text
    assert [b.text.strip() for b in panel.find_all("button", attrs={"data-bs-toggle": "collapse"})] == ["审签"]
    form = page.forms["wf-form-approve"]
    assert form["csrf_token"].value
    # without the CSRF token the POST is refused and nothing changes
    testapp.post(f"{url}/transition", {"transition": "approve"}, status=400)
    with open_site(testapp.app.registry) as site:
        assert site.get_item(item_id).state == "registered"
    res = form.submit().maybe_follow()
    assert "已执行“审签”" in res.text
    with open_site(testapp.app.registry) as site:
        assert site.get_item(item_id).state == "approved"


def test_a_refused_form_explains_the_field_and_keeps_nothing(testapp, make_item):
    item_id = make_item()
    api(testapp, "leader").post(f"/api/v1/items/{item_id}/transitions/approve", {})
    api(testapp, "supervisor").post(f"/api/v1/items/{item_id}/transitions/assign", {})
    url = _item_url("zdgz", item_id)
    login(testapp, "unit_head")
    page = testapp.get(url)
    names = [b.text.strip() for b in page.html.find(id="workflow-panel").find_all("button")
             if b.get("data-bs-toggle")]
    assert names == ["签收", "退单"]
    form = page.forms["wf-form-decline"]
    form["reason"] = ""
    form["comment"] = "我们没有这项职能"
    res = form.submit(status=400)
    assert "未能执行“退单”" in res.html.find(id="wf-error-decline").text
    refused = res.html.find(id="wf-form-decline")
    assert "show" in refused["class"]  # the form the user was in stays open
    assert res.html.find(id="wf-decline-reason-error").text.strip() == "请填写退单理由"  # beside the field
    assert res.forms["wf-form-decline"]["comment"].value == "我们没有这项职能"  # the typed text kept
    with open_site(testapp.app.registry) as site:
        assert site.get_item(item_id).state == "assigned"


def test_internet_plus_report_needs_the_signed_report_uploaded_with_the_form(testapp, make_item):
    item_id = make_item("internet_plus", plan_needed=False)
    steps = [("leader", "approve", {}), ("supervisor", "assign", {}), ("unit_head", "accept", {}),
             ("unit_head", "deploy", {"arrangement": "主要负责人部署"}),
             ("handler", "verify", {"findings": "问题属实", "confirmed": True}),
             ("handler", "improve", {"measures": "限期整改"})]
    for user, name, body in steps:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    head = api(testapp, "unit_head")
    res = head.post(f"/api/v1/items/{item_id}/transitions/report", {"signed_by": "张局长", "sealed": True}, status=400)
    assert "签字盖章" in res.json["fields"]["attachments"]
    login(testapp, "unit_head")
    url = _item_url("internet_plus", item_id)
    form = testapp.get(url).forms["wf-form-report"]
    form["signed_by"] = "张局长"
    form["sealed"] = True
    form["attachment_kind"] = "signed_report"
    form["file"] = ("报告.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
    res = form.submit().maybe_follow()
    assert "已执行“反馈报告”" in res.text
    item = head.get(f"/api/v1/items/{item_id}").json
    assert item["state"] == "reported"
    assert [a["kind"] for a in item["attachments"]] == ["signed_report"]


def test_a_refused_report_keeps_neither_the_upload_nor_loses_the_typed_text(testapp, make_item):
    item_id = make_item("internet_plus", plan_needed=False)
    for user, name, body in [("leader", "approve", {}), ("supervisor", "assign", {}), ("unit_head", "accept", {}),
                             ("unit_head", "deploy", {"arrangement": "主要负责人部署"}),
                             ("handler", "verify", {"findings": "问题属实", "confirmed": True}),
                             ("handler", "improve", {"measures": "限期整改"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    login(testapp, "unit_head")
    form = testapp.get(_item_url("internet_plus", item_id)).forms["wf-form-report"]
    form["signed_by"] = ""  # required: the report is refused
    form["comment"] = "整改已完成，请审核"
    form["attachment_kind"] = "signed_report"
    form["file"] = ("报告.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")
    res = form.submit(status=400)
    assert res.html.find(id="wf-report-signed_by-error").text.strip().startswith("请填写")
    kept = res.forms["wf-form-report"]
    assert kept["comment"].value == "整改已完成，请审核" and kept["attachment_kind"].value == "signed_report"
    assert "请重新选择文件" in res.html.find(id="wf-form-report").text  # the browser cannot keep a file
    item = api(testapp, "unit_head").get(f"/api/v1/items/{item_id}").json
    assert item["state"] != "reported"
    assert item["attachments"] == []  # the upload went with the refused transition
    assert "暂无附件" in res.html.find(id="tab-attachments").text  # and the page does not pretend otherwise


def test_worklist_page_and_nav(testapp, make_item):
    make_item(title="审签我")
    login(testapp, "leader")
    page = testapp.get("/worklist")
    bucket = page.html.find(id="bucket-to_approve")
    assert "待审签" in bucket.text and "审签我" in bucket.text
    assert page.html.find(id="bucket-overdue") is not None
    assert page.html.find("a", href="/worklist") is not None


def test_admin_sees_diagrams_others_do_not(testapp):
    login(testapp, "admin")
    page = testapp.get("/admin/workflows")
    assert len(page.html.select(".workflow-diagram svg")) == 3
    assert "督办事项流程" in page.text and "12345 工单流程" in page.text and "检查通过" in page.text
    svg = testapp.get("/admin/workflows/hotline.svg")
    assert svg.content_type == "image/svg+xml" and "派单" in svg.text
    testapp.get("/admin/workflows/nope.svg", status=404)
    testapp.reset()  # a fresh browser
    login(testapp, "handler")
    testapp.get("/admin/workflows", status=403)
    testapp.get("/admin/calendar", status=403)


def test_admin_enters_a_calendar_year_and_deadlines_use_it(testapp):
    c = api(testapp, "handler")
    before = c.get("/api/v1/deadlines?start=2026-12-31T10:00:00%2B08:00&duration=1WD").json
    assert before == {"due": "2027-01-01T23:59:59+08:00", "calendar_known": False}
    login(testapp, "admin")
    page = testapp.get("/admin/calendar")
    assert "2027" in page.html.find(class_="alert-warning").text
    form = page.forms["calendar-form"]
    form["year"] = "2027"
    form["holidays"] = "2027-01-01, 2026-12-31"
    res = form.submit(status=400)
    assert "不属于 2027 年" in res.text
    form = res.forms["calendar-form"]
    form["holidays"] = "2027-01-01\n2027-01-02\n2027-01-03"
    form["workdays"] = ""
    form.submit().maybe_follow()
    after = c.get("/api/v1/deadlines?start=2026-12-31T10:00:00%2B08:00&duration=1WD").json
    assert after == {"due": "2027-01-04T23:59:59+08:00", "calendar_known": True}
    assert re.search(r"2027-01-02", testapp.get("/admin/calendar").text)
