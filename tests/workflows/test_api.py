"""The workflow JSON API: transitions, worklist, deadline calculator."""

from datetime import date

from duban_archive.testing import api
from duban_archive.timeutil import today


def test_transitions_list_fire_refuse_and_conflict(testapp, make_item):
    item_id = make_item()
    leader, sup, head = api(testapp, "leader"), api(testapp, "supervisor"), api(testapp, "unit_head")
    assert [t["name"] for t in leader.get(f"/api/v1/items/{item_id}/transitions").json] == ["approve"]
    assert sup.get(f"/api/v1/items/{item_id}/transitions").json == []
    # wrong role: 403 and nothing changes
    res = sup.post(f"/api/v1/items/{item_id}/transitions/approve", {}, status=403)
    assert res.json["error"] == "forbidden" and "审签" in res.json["message"]
    res = leader.post(f"/api/v1/items/{item_id}/transitions/approve", {"comment": "同意"})
    assert res.json["state"] == "approved" and res.json["state_title"] == "已审签"
    res = leader.post(f"/api/v1/items/{item_id}/transitions/approve", {}, status=409)
    assert "已审签" in res.json["message"]
    sup.post(f"/api/v1/items/{item_id}/transitions/assign", {"problem_kind": "major"})
    listed = {t["name"]: t for t in head.get(f"/api/v1/items/{item_id}/transitions").json}
    assert set(listed) == {"accept", "decline"}
    reason = next(f for f in listed["decline"]["fields"] if f["name"] == "reason")
    assert reason["required"] is True and reason["title"] == "退单理由"
    res = head.post(f"/api/v1/items/{item_id}/transitions/decline", {"reason": ""}, status=400)
    assert res.json["fields"]["reason"]
    res = head.post(f"/api/v1/items/{item_id}/transitions/decline", {"reason": "x", "bogus": 1}, status=400)
    assert set(res.json["fields"]) == {"bogus"}
    res = head.post(f"/api/v1/items/{item_id}/transitions/accept", {})
    assert res.json["state"] == "in_progress"
    assert {d["name"] for d in res.json["deadlines"]} >= {"report_3d", "solve", "due"}
    assert all(d["light"] in ("green", "yellow", "red") for d in res.json["deadlines"])
    item = head.get(f"/api/v1/items/{item_id}").json
    assert [h["transition"] for h in item["history"]][-3:] == ["approve", "assign", "accept"]
    head.post(f"/api/v1/items/{item_id}/transitions/nope", {}, status=404)
    head.post(f"/api/v1/items/{item_id}/transitions/file", {}, status=404)  # only via the archive's POST /file
    assert item["light"] in ("green", "yellow", "red")


def test_worklist_buckets_per_user(testapp, make_item):
    first = make_item()
    late = make_item(deadline=date(2026, 1, 5))
    leader, sup = api(testapp, "leader"), api(testapp, "supervisor")
    got = {b["name"]: b for b in leader.get("/api/v1/worklist").json["buckets"]}
    assert {i["id"] for i in got["to_approve"]["items"]} == {first, late}
    assert got["to_approve"]["title"] == "待审签"
    assert set(got) >= {"to_approve", "to_accept", "to_handle", "to_review", "due_soon", "overdue"}
    for item_id in (first, late):
        leader.post(f"/api/v1/items/{item_id}/transitions/approve", {})
        sup.post(f"/api/v1/items/{item_id}/transitions/assign", {})
    head, other = api(testapp, "unit_head"), api(testapp, "unit_head2")
    got = {b["name"]: b for b in head.get("/api/v1/worklist").json["buckets"]}
    assert {i["id"] for i in got["to_accept"]["items"]} == {first, late}
    assert got["to_approve"]["total"] == 0
    if today() > date(2026, 1, 5):
        assert [i["id"] for i in got["overdue"]["items"]][0] == late
        assert got["overdue"]["items"][0]["light"] == "red"
    got = {b["name"]: b for b in other.get("/api/v1/worklist").json["buckets"]}  # 交通局 only assists
    assert got["to_accept"]["total"] == 0
    one = head.get("/api/v1/worklist?bucket=to_accept&limit=1").json
    assert one["buckets"][0]["total"] == 2 and len(one["buckets"][0]["items"]) == 1
    head.get("/api/v1/worklist?bucket=nope", status=400)


def test_deadline_calculator(testapp):
    c = api(testapp, "handler")
    got = c.get("/api/v1/deadlines?start=2026-02-13T15:00:00%2B08:00&duration=sign_by").json
    assert got == {"due": "2026-02-14T12:00:00+08:00", "calendar_known": True}
    got = c.get("/api/v1/deadlines?start=2026-09-30T10:00:00%2B08:00&duration=3WD").json
    assert got == {"due": "2026-10-10T23:59:59+08:00", "calendar_known": True}
    got = c.get("/api/v1/deadlines?start=2027-03-05T10:00:00%2B08:00&duration=1WD").json
    assert got == {"due": "2027-03-08T23:59:59+08:00", "calendar_known": False}
    got = c.get("/api/v1/deadlines?start=2026-01-31T10:00:00%2B08:00&duration=P1M").json
    assert got["due"] == "2026-02-28T10:00:00+08:00"
    res = c.get("/api/v1/deadlines?start=yesterday&duration=3 days", status=400)
    assert set(res.json["fields"]) == {"start"}
    res = c.get("/api/v1/deadlines?duration=3days", status=400)
    assert "duration" in res.json["fields"]
    testapp.get("/api/v1/deadlines?duration=P3D", status=401)
