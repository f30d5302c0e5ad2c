"""Seed 003 附件2 四 工作程序 — 12345 intake, through the JSON API.

(一) 「诉求人仍以同一事实、同一理由重复反映的，不再受理」; (三) 「24小时内通过12345热线系统向承办单位派发服务工单」;
(四) 「涉及突发事件的诉求，按突发类工单处理，承办单位应马上处置、当天答复」 and 「承办单位应将办理过程、结果及时明确回复
诉求人和“宿事速办”工作平台」.  派单时间 drives every clock: written by 派单 only.
"""

from duban_archive.content_types.site_access import open_site
from duban_archive.notifications.outbox import get_outbox
from duban_archive.timeutil import frozen_now

from .helpers import Desk, at


def _item(d, item_id):
    return d.sup.get(f"/api/v1/items/{item_id}").json


def _dues(d, item_id):
    return {x["name"]: x["due"] for x in _item(d, item_id)["deadlines"]}


def test_seed003_annex2_4_3_ticket_dispatched_within_24_hours(testapp):
    d = Desk(testapp)
    t = d.new_ticket("complaint", "2026-03-13 10:00")  # Friday 10:00
    # 「24小时内」: 24 clock hours, the weekend is not skipped -> Saturday 10:00
    assert _dues(d, t) == {"dispatch_by": "2026-03-14T10:00:00+08:00"}
    d.fire(d.sup, t, "dispatch", "2026-03-13 15:00")
    assert "dispatch_by" not in _dues(d, t)


def test_seed003_annex2_4_4_emergency_ticket_answered_the_same_day(testapp):
    d = Desk(testapp)
    t = d.new_ticket("emergency", "2026-03-14 14:00")
    d.fire(d.sup, t, "dispatch", "2026-03-14 15:00")  # a Saturday: 「马上处置、当天答复」 all the same
    assert _dues(d, t)["limit"] == "2026-03-14T23:59:59+08:00"
    d.fire(d.head, t, "accept", "2026-03-14 15:10")
    res = d.fire(d.head, t, "request_extension", "2026-03-14 15:20", status=400, days=1, reason="人手不足")
    assert "不能申请延期" in res.json["message"] and "突发类工单不能延期" in res.json["fields"]["days"]


def test_seed003_annex2_4_1_repeat_complaint_is_not_accepted(testapp, app):
    d = Desk(testapp)
    same = {"caller": "王女士", "caller_phone": "13800001234"}
    first = d.new_ticket("complaint", "2026-03-09 08:00", **same)
    d.fire(d.sup, first, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, first, "accept", "2026-03-09 10:00")
    # while the first is still being handled a new call is registered (the seed refuses only after 办理完毕并回复)
    second = d.new_ticket("complaint", "2026-03-09 11:00", **same)
    d.fire(d.handler, first, "reply", "2026-03-10 10:00", reply="已处理", approved_by="王科长")
    d.fire(d.sup, first, "approve_reply", "2026-03-10 11:00")
    d.fire(d.sup, first, "close", "2026-03-10 16:00", satisfaction="satisfied", grade="A")
    with frozen_now(at("2026-03-11 09:00")):
        count = d.sup.get("/api/v1/boards/hotline/items").json["total"]
        body = {"title": "工单 complaint", "source": "12345", "content": " 诉求内容 ", "requirement": "按时办理",
                "lead_unit": "zjj", "ticket_kind": "complaint", "ticket_number": "SZ-REPEAT-1", **same}
        res = d.sup.post("/api/v1/boards/hotline/items", body, status=409)
        assert "不再受理" in res.json["message"] and first.upper() in res.json["message"]
        assert set(res.json["fields"]) == {"caller_phone", "title", "content"}
        assert d.sup.get("/api/v1/boards/hotline/items").json["total"] == count  # nothing written
        # a new fact is a new 诉求
        d.sup.post("/api/v1/boards/hotline/items", {**body, "content": "新的诉求内容", "ticket_number": "SZ-NEW-1"},
                   status=201)
    assert second


def test_seed003_annex2_4_4_platform_told_when_the_unit_answers(testapp, app):
    d = Desk(testapp)
    t = d.new_ticket("consultation", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, t, "accept", "2026-03-09 10:00")
    d.fire(d.handler, t, "reply", "2026-03-09 15:00", reply="已答复", approved_by="王科长")
    with open_site(app.registry) as site:
        told = [(m.kind, m.rule, m.subject) for m in get_outbox(site).for_item(t)
                if m.recipient == "supervisor" and m.channel == "inbox"]
    assert ("notice", "reply", f"【12345 工单已答复，待审核】{t.upper()}") in told


def test_seed003_annex2_4_3_dispatch_time_is_written_by_dispatch_only(testapp):
    d = Desk(testapp)
    # not at 受理: the API refuses the field
    body = {"title": "工单", "source": "12345", "content": "诉求", "requirement": "按时办理", "lead_unit": "zjj",
            "ticket_kind": "complaint", "dispatched_at": "2026-03-01T09:00:00+08:00"}
    with frozen_now(at("2026-03-09 08:00")):
        res = d.sup.post("/api/v1/boards/hotline/items", body, status=400)
    assert "dispatched_at" in res.json["fields"]
    t = d.new_ticket("complaint", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
    assert _item(d, t)["dispatched_at"].startswith("2026-03-09T09:00:00")
    limit = _dues(d, t)["limit"]
    # nor after 派单: moving it would move every clock (签收、退单、办结时限)
    res = d.sup.patch(f"/api/v1/items/{t}", {"dispatched_at": "2026-03-12T09:00:00+08:00"}, status=400)
    assert res.json["fields"] == {"dispatched_at": "派单时间由系统在办理中记录，不可修改"}
    assert _item(d, t)["dispatched_at"].startswith("2026-03-09T09:00:00") and _dues(d, t)["limit"] == limit


def test_seed003_evolve_6_restores_dispatch_time_and_undue_declines(app, testapp):
    import transaction

    from duban_archive.evolve.steps import hotline_dispatch_facts

    d = Desk(testapp)
    t = d.new_ticket("complaint", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, t, "decline", "2026-03-09 10:00", reason="不属于")
    d.fire(d.sup, t, "dispatch", "2026-03-09 11:00")
    with open_site(app.registry) as site:  # as older code left it: edited 派单时间, no 不当退单 record
        item = site.get_item(t)
        item.dispatched_at = at("2026-03-12 09:00")
        del item.undue_declines
        transaction.commit()
    with open_site(app.registry) as site:
        assert "更正 1 件" in hotline_dispatch_facts(site, app.registry)
        item = site.get_item(t)
        assert item.dispatched_at == at("2026-03-09 11:00")
        assert [(u, w) for u, w in item.undue_declines] == [("zjj", at("2026-03-09 11:00"))]
        transaction.commit()
    assert "dispatched_at" in d.sup.get(f"/api/v1/items/{t}/audit").text  # the correction is audited


def test_seed003_annex2_4_3_dispatch_time_corrections_are_audited(testapp):
    d = Desk(testapp)
    t = d.new_ticket("complaint", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 15:00")  # Monday afternoon: 签收 by Tue 12:00
    assert _dues(d, t)["sign_by"] == "2026-03-10T12:00:00+08:00"
    url = f"/api/v1/items/{t}/dispatch-time"
    with frozen_now(at("2026-03-09 16:00")):
        # only 督查室, with a reason, inside the ticket's own record; a refusal changes nothing
        res = d.head.post(url, {"dispatched_at": "2026-03-09T09:00:00+08:00", "reason": "x"}, status=403)
        assert "只有督查室" in res.json["message"]
        res = d.sup.post(url, {"dispatched_at": "2026-03-09 09:00"}, status=400)
        assert set(res.json["fields"]) == {"dispatched_at", "reason"}
        res = d.sup.post(url, {"dispatched_at": "2026-03-09T07:00:00+08:00", "reason": "纸质派单"}, status=400)
        assert "之间" in res.json["fields"]["dispatched_at"]
        assert _item(d, t)["dispatched_at"].startswith("2026-03-09T15:00:00")
        # the paper dispatch was at 09:00: 「上午派发的工单 … 当日下午17:30前签收」
        got = d.sup.post(url, {"dispatched_at": "2026-03-09T09:00:00+08:00", "reason": "系统故障，当日上午已纸质派单"})
    assert got.json["dispatched_at"].startswith("2026-03-09T09:00:00")
    dues = _dues(d, t)
    assert dues["sign_by"] == "2026-03-09T17:30:00+08:00"
    assert dues["limit"] == "2026-03-18T23:59:59+08:00"  # Mon + 7 working days
    history = _item(d, t)["history"]
    assert history[-1]["transition"] == "correct_dispatch" and history[-1]["comment"].startswith("系统故障")
    audit = [e for e in d.sup.get(f"/api/v1/items/{t}/audit").json if e.get("field") == "dispatched_at"]
    assert len(audit) == 1 and audit[0]["reason"].startswith("系统故障") and audit[0]["actor"] == "supervisor"
