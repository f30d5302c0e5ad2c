"""The item page shows the whole conversation: who sent what back, when and why (issue 15)."""

from __future__ import annotations

from duban_archive.testing import api, login


def _assigned(testapp, make_item) -> str:
    item_id = make_item(title="整治背街小巷")
    api(testapp, "leader").post(f"/api/v1/items/{item_id}/transitions/approve", {})
    api(testapp, "supervisor").post(f"/api/v1/items/{item_id}/transitions/assign", {})
    return item_id


def test_the_supervisor_sees_why_the_unit_declined(testapp, make_item):
    item_id = _assigned(testapp, make_item)
    api(testapp, "unit_head").post(f"/api/v1/items/{item_id}/transitions/decline",
                                   {"reason": "不属于本单位职责，应由交通运输局牵头"})
    login(testapp, "supervisor")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    banner = page.html.find(id="latest-reason")
    assert banner is not None, "the reason is shown above the tabs"
    assert "退单理由：" in banner.text and "不属于本单位职责，应由交通运输局牵头" in banner.text
    head = page.html.find(id="history").find("li")  # newest first
    assert head["data-transition"] == "decline"
    assert "退单理由" in head.text and "应由交通运输局牵头" in head.text
    user = api(testapp, "unit_head").get("/api/v1/me").json
    assert user["username"] == "unit_head"
    assert "border-warning" in head["class"]


def test_the_handler_sees_what_to_fix_after_a_return_and_the_banner_goes_once_resubmitted(testapp, make_item):
    item_id = _assigned(testapp, make_item)
    api(testapp, "unit_head").post(f"/api/v1/items/{item_id}/transitions/accept", {})
    api(testapp, "handler").post(f"/api/v1/items/{item_id}/transitions/request_closure", {})
    api(testapp, "supervisor").post(f"/api/v1/items/{item_id}/transitions/return",
                                    {"reason": "现场照片不清晰，请补充整改后照片"})
    login(testapp, "handler")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    banner = page.html.find(id="latest-reason")
    assert "退回理由：" in banner.text and "请补充整改后照片" in banner.text
    # the whole conversation is there, newest first, with the steps' titles
    titles = [li.find("strong").text for li in page.html.find(id="history").find_all("li")]
    assert titles[:3] == ["退回", "申请办结", "签收"]
    api(testapp, "handler").post(f"/api/v1/items/{item_id}/transitions/request_closure", {})
    page = testapp.get(f"/boards/zdgz/{item_id}")
    assert page.html.find(id="latest-reason") is None
    # the reason stays in the history
    assert "请补充整改后照片" in page.html.find(id="history").text


def test_reasons_are_escaped(testapp, make_item):
    item_id = _assigned(testapp, make_item)
    api(testapp, "unit_head").post(f"/api/v1/items/{item_id}/transitions/decline",
                                   {"reason": "<script>alert(1)</script> 不归我们管"})
    login(testapp, "supervisor")
    res = testapp.get(f"/boards/zdgz/{item_id}")
    assert "<script>alert(1)</script>" not in res.text
    assert "&lt;script&gt;" in res.text


def test_audit_entries_read_as_plain_chinese(testapp, make_item):
    item_id = make_item(title="修缮文化站")
    client = api(testapp, "supervisor")
    res = client.patch(f"/api/v1/items/{item_id}", {"deadline": "2027-01-15"})
    assert res.json["deadline"] == "2027-01-15"
    api(testapp, "leader").post(f"/api/v1/items/{item_id}/transitions/approve", {})
    login(testapp, "admin")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    audit = page.html.find(id="audit")
    if audit is None:  # the auditor role holds view_audit where admin (三员分立: sysadmin) does not
        testapp.reset()
        login(testapp, "auditor")
        audit = testapp.get(f"/boards/zdgz/{item_id}").html.find(id="audit")
    text = audit.text
    assert "「办结时限」" in text and "→ 2027-01-15" in text
    assert "审签（已立项 →" in text
    assert "=" not in text, "no internal key=value text"


def test_the_audit_api_carries_the_same_sentence(testapp, make_item):
    item_id = make_item(title="修缮文化站")
    api(testapp, "supervisor").patch(f"/api/v1/items/{item_id}", {"deadline": "2027-01-15"})
    entries = api(testapp, "auditor").get(f"/api/v1/items/{item_id}/audit").json
    edit = next(e for e in entries if e["action"] == "edit")
    assert edit["field"] == "deadline"  # the machine keys stay for other systems
    assert edit["summary"] == "「办结时限」：2026-12-31 → 2027-01-15"
