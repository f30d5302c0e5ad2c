"""Seed 003 附件3 督办制度 第四条 (三级督办) and 附件2 四(八)3 (责任追究), driven through the JSON API and the tick.

一级: 「1.超出规定办理时限未办理的」;
二级: 「1.对市领导批示件和省级交办件，超期未办理、超期未办结、因办理质量不高导致群众不满意的」;
附件2 四(八): 「予以责任追究： … 3.转办工单因不符合办理要求被连续2次退回重办的」.
"""

from duban_archive.content_types.site_access import open_site
from duban_archive.notifications.delivery import run_tick
from duban_archive.notifications.outbox import get_outbox

from .helpers import Desk, at


def _history(d, item_id):
    return d.sup.get(f"/api/v1/items/{item_id}").json["history"]


def _levels(d, item_id):
    return [h["fields"]["level"] for h in _history(d, item_id) if h["transition"] == "escalate"]


def test_seed003_annex3_art4_level_one_follows_the_handling_limit_not_the_sign_by(testapp, app):
    d = Desk(testapp)
    ordinary = d.new_ticket("complaint", "2026-05-11 09:00", ticket_source="ordinary")
    d.fire(d.sup, ordinary, "dispatch", "2026-05-11 09:30")  # Monday morning: 签收 by 17:30
    run_tick(app.registry, at("2026-05-11 17:31"))
    # a missed 签收时限 is 「超过时限未签收的，每件扣0.5分」 (附件5), not 「超出规定办理时限未办理」: no 督办
    assert _levels(d, ordinary) == []
    d.fire(d.head, ordinary, "accept", "2026-05-11 18:00")
    # 投诉 「不超过7个工作日」: Mon 05-11 + 7 working days = Wed 05-20, end of day
    run_tick(app.registry, at("2026-05-20 23:00"))
    assert _levels(d, ordinary) == []
    run_tick(app.registry, at("2026-05-21 00:05"))
    assert _levels(d, ordinary) == [1]
    # three days later an ordinary ticket stays at 一级: 二级 is for 市领导批示件 / 省级交办件 only
    run_tick(app.registry, at("2026-05-25 09:00"))
    assert _levels(d, ordinary) == [1]


def test_seed003_annex3_art4_2_1_leader_and_province_tickets_go_to_level_two_when_overdue(testapp, app):
    d = Desk(testapp)
    led = d.new_ticket("consultation", "2026-05-11 09:00", ticket_source="leader_instruction")
    d.fire(d.sup, led, "dispatch", "2026-05-11 09:30")
    d.fire(d.head, led, "accept", "2026-05-11 10:00")
    # 咨询 「不超过1个工作日」: due Tue 05-12 23:59:59; 「超期未办结」 of a 市领导批示件 -> 二级 at once
    run_tick(app.registry, at("2026-05-12 23:00"))
    assert _levels(d, led) == []
    run_tick(app.registry, at("2026-05-13 00:05"))
    assert _levels(d, led)[-1] == 2


def test_seed003_annex2_4_8_3_two_returns_in_a_row_are_accountability_not_level_two(testapp, app):
    d = Desk(testapp)
    t = d.new_ticket("complaint", "2026-05-11 09:00")
    d.fire(d.sup, t, "dispatch", "2026-05-11 09:30")
    d.fire(d.head, t, "accept", "2026-05-11 10:00")
    d.fire(d.handler, t, "reply", "2026-05-12 10:00", reply="答复", approved_by="王科长")
    d.fire(d.sup, t, "return", "2026-05-12 11:00", reason="未注明依据")
    d.fire(d.handler, t, "reply", "2026-05-13 10:00", reply="答复", approved_by="王科长")
    assert [h for h in _history(d, t) if h["transition"] == "accountability"] == []  # one return: nothing
    d.fire(d.sup, t, "return", "2026-05-13 11:00", reason="仍不完整")
    history = _history(d, t)
    # 「连续2次退回重办」 -> 责任追究, no 督办 level (so no 提级督办 deduction)
    assert [h["title"] for h in history if h["transition"] == "accountability"] == ["责任追究"]
    assert _levels(d, t) == []
    with open_site(app.registry) as site:
        told = {(m.kind, m.recipient) for m in get_outbox(site).for_item(t) if m.channel == "inbox"}
    assert {("accountability", "supervisor"), ("accountability", "leader"), ("accountability", "unit_head")} <= told
