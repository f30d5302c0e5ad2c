"""Side effects follow the request's own transaction (pyramid_tm's explicit manager)."""

from datetime import datetime

from duban_archive.testing import api
from duban_archive.timeutil import CST

ITEM = {"title": "推进城区雨污分流改造", "source": "区政府常务会议", "content": "完成雨污分流管网改造 12 公里",
        "requirement": "按月报送进展", "lead_unit": "zjj"}


def test_item_created_through_the_web_is_searchable_at_once(testapp):
    supervisor = api(testapp, "supervisor")
    created = supervisor.post("/api/v1/boards/zdgz/items", ITEM, status=201).json
    found = supervisor.get("/api/v1/search", params={"q": "雨污分流"}).json
    assert [r["id"] for r in found["results"]] == [created["id"]]


def test_refused_request_queues_nothing(testapp):
    supervisor = api(testapp, "supervisor")
    supervisor.post("/api/v1/boards/zdgz/items", {**ITEM, "classification": "secret"}, status=400)
    assert supervisor.get("/api/v1/search", params={"q": "雨污分流"}).json["total"] == 0


def test_reminders_are_planned_for_items_assigned_through_the_web(testapp, app, site):
    """The re-planning hook must ride on the request's transaction, or web-assigned items are never reminded."""
    from duban_archive.notifications.delivery import run_tick

    supervisor, leader = api(testapp, "supervisor"), api(testapp, "leader")
    item_id = supervisor.post("/api/v1/boards/zdgz/items", ITEM, status=201).json["id"]
    leader.post(f"/api/v1/items/{item_id}/transitions/approve", {})
    supervisor.post(f"/api/v1/items/{item_id}/transitions/assign", {})
    site._p_jar.sync()
    planned = site["outbox"].plan_of(site.get_item(item_id))
    assert planned is not None and planned[0] > 0, "no reminder planned for the assigned item"
    run_tick(app.registry, moment=datetime.fromtimestamp(planned[0], CST))
    messages = api(testapp, "admin").get("/api/v1/outbox").json["messages"]
    assert any(m["item"] == item_id and m["rule"] != "assign" for m in messages)
