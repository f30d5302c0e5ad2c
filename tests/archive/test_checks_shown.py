"""The 四性检测 result reaches the people who need it: the item page and the item JSON (issue 13)."""

from __future__ import annotations

from duban_archive.testing import api, login


def _filed(testapp, make_item) -> str:
    item_id = make_item(title="四性检测展示")
    for user, name, body in [("leader", "approve", {}), ("supervisor", "assign", {"problem_kind": "general"}),
                             ("unit_head", "accept", {}), ("handler", "request_closure", {}),
                             ("supervisor", "review", {}), ("leader", "close", {"grade": "B"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    api(testapp, "records_officer").post(f"/api/v1/items/{item_id}/file", {"retention": "D30"})
    return item_id


def test_item_json_and_page_show_the_checks_and_never_call_an_unrun_check_passed(testapp, make_item):
    item_id = _filed(testapp, make_item)
    item = api(testapp, "supervisor").get(f"/api/v1/items/{item_id}").json
    assert item["archival_code"] and item["archival_code"].endswith("-0001")
    checks = item["checks"]
    assert checks["stage"] == "filing"
    # no virus scanner here: that check did not run, so the conclusion is not 通过
    assert checks["unchecked"] and checks["passed"] is not True
    assert "未检测" in checks["conclusion"] and checks["conclusion"] != "通过"
    login(testapp, "supervisor")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    panel = page.html.find(id="tab-checks")
    assert panel is not None and "未检测" in panel.text and "病毒" in panel.text
    # lists carry the 档号 too (null before filing)
    listed = api(testapp, "supervisor").get("/api/v1/items?board=zdgz").json["items"]
    assert {i["id"]: i["archival_code"] for i in listed}[item_id] == item["archival_code"]


def test_a_broken_original_refuses_filing_with_a_reason_not_a_conflict(testapp, make_item):
    item_id = make_item(title="原件损坏")
    for user, name, body in [("leader", "approve", {}), ("supervisor", "assign", {"problem_kind": "general"}),
                             ("unit_head", "accept", {})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    broken = b"%PDF-1.4\n" + b"\x00garbage" * 200 + b"\n%%EOF\n"  # a PDF header and nothing a reader can use
    api(testapp, "handler").upload(f"/api/v1/items/{item_id}/attachments", {"kind": "other"},
                                   [("file", "材料.pdf", broken)])
    for user, name, body in [("handler", "request_closure", {}), ("supervisor", "review", {}),
                             ("leader", "close", {"grade": "B"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    res = api(testapp, "records_officer").post(f"/api/v1/items/{item_id}/file", {"retention": "D30"}, status=409)
    assert res.json["error"] == "checks_failed"  # a client must not retry this as a conflict
    assert "四性检测未通过" in res.json["message"] and "材料.pdf" in res.json["message"]
    assert "/tmp" not in res.json["message"] and "BufferedReader" not in res.json["message"]
    assert api(testapp, "supervisor").get(f"/api/v1/items/{item_id}").json["state"] == "closed"
