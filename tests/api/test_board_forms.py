"""Per-board items in the JSON API (issue 15): 工单编号 / 线索编号 required and unique per board (also under
simultaneous creations on a real server), the caller's phone masked with a flag for everyone but those who
must call back."""

from __future__ import annotations

import threading

from duban_archive.testing import api, http_call, run_threads

PHONE = "13812345678"
TICKET = {"title": "路灯不亮", "source": "12345 热线", "content": "东城路路灯不亮", "requirement": "按时答复",
          "lead_unit": "zjj", "ticket_kind": "complaint", "caller": "王女士", "caller_phone": PHONE}


def test_ticket_and_clue_numbers_are_required_in_chinese(testapp):
    sup = api(testapp, "supervisor")
    res = sup.post("/api/v1/boards/hotline/items", TICKET, status=400).json
    assert res["fields"]["ticket_number"] == "请填写工单编号"
    res = sup.post("/api/v1/boards/internet_plus/items", {**TICKET, "ticket_kind": None}, status=400).json
    assert res["fields"]["clue_number"] == "请填写线索编号"
    res = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "X1", "caller_phone": "1234"},
                   status=400).json
    assert "11 位手机号码" in res["fields"]["caller_phone"]


def test_a_duplicate_number_is_a_409_naming_the_existing_item_and_nothing_is_written(testapp):
    sup = api(testapp, "supervisor")
    first = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-9"}, status=201).json
    res = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": " sz-9 "}, status=409).json
    assert res["error"] == "duplicate" and first["number"] in res["message"]
    assert first["number"] in res["fields"]["ticket_number"]
    # a batch with the number twice: all or nothing, the entry named
    batch = [{**TICKET, "ticket_number": "SZ-10"}, {**TICKET, "ticket_number": "SZ-10"}]
    res = sup.post("/api/v1/boards/hotline/items", batch, status=409).json
    assert res["message"].startswith("第 2 条") and "1.ticket_number" in res["fields"]
    assert sup.get("/api/v1/boards/hotline/items").json["total"] == 1
    # changing another ticket to a taken number is refused too
    other = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-11"}, status=201).json
    res = sup.patch(f"/api/v1/items/{other['id']}", {"ticket_number": "SZ-9"}, status=409).json
    assert first["number"] in res["fields"]["ticket_number"]
    assert sup.get(f"/api/v1/items/{other['id']}").json["ticket_number"] == "SZ-11"


def phone_as(testapp, user: str, item_id: str) -> tuple[str, bool, bool]:
    detail = api(testapp, user).get(f"/api/v1/items/{item_id}").json
    return detail["caller_phone"], detail["caller_phone_masked"], detail["can"]["view_caller_phone"]


def test_the_phone_is_masked_in_json_with_a_flag_per_role_and_state(testapp):
    sup = api(testapp, "supervisor")
    item = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-20"}, status=201).json
    masked = "138****5678"
    assert phone_as(testapp, "supervisor", item["id"]) == (PHONE, False, True)
    assert phone_as(testapp, "leader", item["id"]) == (masked, True, False)
    assert phone_as(testapp, "auditor", item["id"]) == (masked, True, False)
    sup.post(f"/api/v1/items/{item['id']}/transitions/dispatch", {})
    assert phone_as(testapp, "unit_head", item["id"]) == (PHONE, False, True)
    assert phone_as(testapp, "handler", item["id"]) == (PHONE, False, True)
    assert phone_as(testapp, "leader", item["id"]) == (masked, True, False)
    # lists: the same shape
    listed = api(testapp, "leader").get("/api/v1/boards/hotline/items").json["items"]
    assert [(i["caller_phone"], i["caller_phone_masked"]) for i in listed] == [(masked, True)]
    listed = api(testapp, "handler").get("/api/v1/boards/hotline/items").json["items"]
    assert [(i["caller_phone"], i["caller_phone_masked"]) for i in listed] == [(PHONE, False)]
    api(testapp, "unit_head").post(f"/api/v1/items/{item['id']}/transitions/accept", {})
    api(testapp, "handler").post(f"/api/v1/items/{item['id']}/transitions/reply",
                                 {"reply": "已修复", "approved_by": "王科长"})
    assert phone_as(testapp, "handler", item["id"]) == (masked, True, False)
    # other boards have no masked field and no flag
    plain = sup.post("/api/v1/boards/zdgz/items", {k: v for k, v in TICKET.items()
                                                    if k in ("title", "source", "content", "requirement",
                                                             "lead_unit")}, status=201).json
    assert "caller_phone_masked" not in sup.get(f"/api/v1/items/{plain['id']}").json


def test_search_snippets_mask_the_phone(testapp):
    sup = api(testapp, "supervisor")
    sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-30",
                                              "content": f"来电人 {PHONE} 反映路灯不亮。"}, status=201)
    def snippets(client, q):
        hits = client.get("/api/v1/search", params={"q": q}).json["results"]
        assert hits, q
        return [h["snippet"].replace("<mark>", "").replace("</mark>", "") for h in hits]

    leader = api(testapp, "leader")
    for q in (PHONE, "路灯不亮"):
        for text in snippets(leader, q):
            assert PHONE not in text and "1234" not in text, (q, text)
    assert "来电人 138****5678 反映路灯不亮。" in snippets(leader, PHONE)[0]
    assert f"来电人 {PHONE} 反映路灯不亮。" in snippets(sup, PHONE)[0]  # 督查室 calls back


def test_simultaneous_creations_with_one_ticket_number_make_one_item(live_server):
    """Two clerks 立项 the same 12345 ticket at the same moment on a real server: exactly one item, the other
    a clear 409 naming it — never two items, never a 500."""
    server = live_server(storage="zeo")
    token = server.token("supervisor")
    start = threading.Barrier(4)
    answers: list[tuple[int, dict]] = []

    def create(k: int) -> None:
        start.wait()
        answers.append(http_call(server.base, token, "POST", "/api/v1/boards/hotline/items",
                                 {**TICKET, "ticket_number": "SZ-RACE-1", "title": f"路灯不亮（{k}）"}))

    assert run_threads(4, create) == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 409, 409, 409], answers
    created = next(body for status, body in answers if status == 201)
    for status, body in answers:
        if status == 409:
            assert body["error"] == "duplicate" and created["number"] in body["message"], body
    status, listing = http_call(server.base, token, "GET", "/api/v1/boards/hotline/items")
    assert status == 200 and [i["ticket_number"] for i in listing["items"]] == ["SZ-RACE-1"]


def test_a_changed_phone_is_masked_in_the_audit_trail_for_auditors(testapp):
    sup = api(testapp, "supervisor")
    item = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-40"}, status=201).json
    sup.patch(f"/api/v1/items/{item['id']}", {"caller_phone": "13987654321"})
    trail = api(testapp, "auditor").get(f"/api/v1/items/{item['id']}/audit").json
    edit = next(e for e in trail if e["action"] == "edit")
    assert (edit["old"], edit["new"]) == ("138****5678", "139****4321")
    assert "13987654321" not in str(trail) and PHONE not in str(trail)
    mine = next(e for e in sup.get(f"/api/v1/items/{item['id']}/audit").json if e["action"] == "edit")
    assert (mine["old"], mine["new"]) == (PHONE, "13987654321")  # 督查室 calls back
