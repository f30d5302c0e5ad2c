"""The outbox, inbox and escalation over the JSON API."""

from duban_archive.notifications.delivery import run_tick
from duban_archive.testing import api

from .conftest import at
from .test_reminders import _assigned_item


def test_outbox_lists_reminders_with_channel_and_status(app, testapp, make_item, advance, contacts):
    item_id = _assigned_item(make_item, advance)
    run_tick(app.registry, at(2026, 5, 6, 19, 0))
    sup = api(testapp, "supervisor")
    res = sup.get("/api/v1/outbox?since=2026-05-06T18:00:00%2B08:00").json
    kinds = {(m["kind"], m["channel"], m["status"]) for m in res["messages"]}
    assert ("reminder", "inbox", "sent") in kinds and ("reminder", "sms", "sent") in kinds
    assert all(m["item"] == item_id for m in res["messages"])
    assert not any(m["kind"] == "notice" for m in res["messages"])  # produced before `since`
    everything = sup.get("/api/v1/outbox").json["messages"]
    assert any(m["kind"] == "notice" for m in everything)
    # a handler of the assisting unit sees only what was sent to them: the notice, not the reminders
    mine = api(testapp, "handler2").get("/api/v1/outbox").json["messages"]
    assert {m["recipient"] for m in mine} == {"handler2"} and {m["kind"] for m in mine} == {"notice"}
    bad = sup.get("/api/v1/outbox?since=yesterday", status=400).json
    assert bad["error"] == "invalid" and "since" in bad["fields"]


def test_inbox_bell_counts_and_marks_read(app, testapp, make_item, advance):
    _assigned_item(make_item, advance)
    handler = api(testapp, "handler")
    box = handler.get("/api/v1/inbox").json
    assert box["unread"] == 1 and box["messages"][0]["kind"] == "notice"
    res = handler.post(f"/api/v1/inbox/{box['messages'][0]['id']}/read").json
    assert res["unread"] == 0
    handler.post("/api/v1/inbox/nope/read", status=404)


def test_supervisor_escalates_manually_and_it_is_in_the_history(app, testapp, make_item, advance):
    item_id = _assigned_item(make_item, advance)
    api(testapp, "handler").post(f"/api/v1/items/{item_id}/escalate", {"level": 3, "reason": "x"}, status=403)
    sup = api(testapp, "supervisor")
    bad = sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 4}, status=400).json
    assert set(bad["fields"]) == {"level", "reason"}
    res = sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 3, "reason": "跨部门重大复杂疑难问题"}).json
    assert res["level"] == 3 and res["history"]["transition"] == "escalate"
    sup.post(f"/api/v1/items/{item_id}/escalate", {"level": 2, "reason": "降级"}, status=409)
    leader_msgs = api(testapp, "leader").get("/api/v1/inbox").json["messages"]
    assert leader_msgs[0]["kind"] == "escalation" and "三级督办" in leader_msgs[0]["subject"]
