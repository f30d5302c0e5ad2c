"""销毁 in the browser's forms: the records officer's request, the approver's worklist and review
(CSRF, Chinese errors field by field, refusals change nothing), the 销毁清册 page and its downloads."""

from __future__ import annotations

import io

import transaction
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import login
from duban_archive.timeutil import frozen_now

from .test_disposal import _expired, _filed
from .test_views import text


def _state(app, item_id: str):
    with open_site(app.registry) as site:
        rec = site["archive"][item_id]
        return (site.get_item(item_id) is not None, [r["state"] for r in getattr(rec, "disposal_requests", ())],
                rec.disposed)


def test_request_review_and_register_in_the_browser(app, testapp, closed_item):
    item_id, year = _filed(app, closed_item, title="河道<清淤>工程")
    url = f"/archive/{item_id}/@@dispose"
    login(testapp, "records_officer")
    early = testapp.get(url)
    assert "保管期限未满" in text(early, "#disposal-refused") and "disposal-request-form" not in early.forms
    csrf = early.html.select_one("#logout-form input[name=csrf_token]")["value"]
    testapp.post(url, {"csrf_token": csrf, "reason": "x", "opinion": "y"}, status=409)
    assert _state(app, item_id) == (True, [], None)
    with frozen_now(_expired(year)):
        page = testapp.get("/archive")
        assert url in page.text  # the 档案室 offers it once the retention ran out
        form = testapp.get(url).forms["disposal-request-form"]
        res = form.submit("submit", status=400)  # both fields required, said beside each
        assert "请填写销毁理由" in res.text and "请填写鉴定意见" in res.text
        assert _state(app, item_id) == (True, [], None)
        testapp.post(url, {"reason": "x", "opinion": "y"}, status=400)  # no CSRF token: refused, nothing kept
        assert _state(app, item_id) == (True, [], None)
        form = res.forms["disposal-request-form"]
        form["reason"] = "保管期限届满"
        form["opinion"] = "经鉴定小组鉴定，已无继续保存价值"
        done = form.submit("submit").maybe_follow()
        assert "等待档案鉴定审批人审批" in done.text and "待审批" in text(done, "#disposal-requests")
        assert _state(app, item_id) == (True, ["pending"], None)
        # the records officer sees the request on the worklist but cannot decide it
        worklist = testapp.get("/archive/@@disposals")
        assert worklist.html.select_one(f"#request-{item_id}") is not None
        assert "@@disposal-review" not in worklist.text
        testapp.get(f"/archive/{item_id}/@@disposal-review", status=403)

        testapp.reset()
        login(testapp, "approver")
        home = testapp.get("/")
        assert 'href="/archive/@@disposals"' in home.text
        notice = testapp.get("/api/v1/inbox").json["messages"][0]
        assert notice["subject"].startswith("销毁申请待审批") and notice["kind_title"] == "销毁审批"
        worklist = testapp.get("/archive/@@disposals")
        assert f"/archive/{item_id}/@@disposal-review" in worklist.text
        review = testapp.get(f"/archive/{item_id}/@@disposal-review")
        form = review.forms["disposal-review-form"]
        res = form.submit("submit", status=400)  # no decision chosen
        assert "请选择批准或驳回" in res.text
        form = res.forms["disposal-review-form"]
        form["decision"] = "reject"
        res = form.submit("submit", status=400)  # a rejection needs its reason, beside the field
        assert "请填写驳回理由" in res.text and _state(app, item_id) == (True, ["pending"], None)
        form = res.forms["disposal-review-form"]
        form["reason"] = "鉴定意见不充分，请补充"
        done = form.submit("submit").maybe_follow()
        assert "已驳回" in done.text and _state(app, item_id) == (True, ["rejected"], None)

        testapp.reset()
        login(testapp, "records_officer")
        notice = testapp.get("/api/v1/inbox").json["messages"][0]
        assert notice["subject"].startswith("销毁申请被驳回") and "鉴定意见不充分" in notice["body"]
        form = testapp.get(url).forms["disposal-request-form"]
        form["reason"] = "保管期限届满"
        form["opinion"] = "经鉴定小组复核，已无继续保存价值"
        form.submit("submit").maybe_follow()

        testapp.reset()
        login(testapp, "approver")
        form = testapp.get(f"/archive/{item_id}/@@disposal-review").forms["disposal-review-form"]
        form["decision"] = "approve"
        done = form.submit("submit").maybe_follow()
        assert "已销毁，销毁清册已登记" in done.text
        assert _state(app, item_id)[0] is False and _state(app, item_id)[1] == ["rejected", "approved"]
        register = testapp.get("/archive/@@register")
        row = text(register, "#disposal-register")
        assert "河道<清淤>工程" in row and "SHA-256:" in row and "SM3:" in row and "approver" in row
        assert "河道&lt;清淤&gt;工程" in register.text  # escaped
        # the record's pages now answer 410 and name the 销毁清册 entry
        gone = testapp.get(f"/archive/{item_id}/@@disposal-review", status=410)
        assert "销毁清册" in text(gone, "#error-message")
    # the records officer's 档案室 still lists the 档号, linked to its 销毁清册 entry
    testapp.reset()
    login(testapp, "records_officer")
    testapp.get(url, status=410)
    archive = testapp.get("/archive")
    assert "@@register#entry-" in archive.text and "已销毁" in text(archive, "#filed")
    assert f"/api/v1/items/{item_id}/package.zip" not in archive.text  # nothing left to download
    assert 'href="/archive/@@register"' in archive.text  # nav entry
    subjects = [m["subject"] for m in testapp.get("/api/v1/inbox").json["messages"]]
    assert any(s.startswith("档案已销毁") for s in subjects)  # the rejection notice named the item: purged
    xlsx = testapp.get("/api/v1/disposal-register.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.body)).active
    assert ws["A1"].value == "档案销毁清册" and ws["C3"].value == "河道<清淤>工程"
    assert "SHA-256:" in ws["O3"].value and "SM3:" in ws["O3"].value
    pdf = testapp.get("/api/v1/disposal-register.pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF-")
    # the auditor reads the register (and the read is logged); a handler may not
    testapp.reset()
    login(testapp, "auditor")
    assert "河道" in text(testapp.get("/archive/@@register"), "#disposal-register")
    with open_site(app.registry) as site:
        assert any(e["action"] == "view" and e.get("via") == "disposal_register" for e in site["audit"])
    testapp.reset()
    login(testapp, "handler")
    testapp.get("/archive/@@register", status=403)
    testapp.get("/api/v1/disposal-register.xlsx", status=403)
    transaction.abort()
