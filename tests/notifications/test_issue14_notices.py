"""Issue 14, item 1: deadlines named to the minute, the 13710 nodes, catch-up and the notices of
every step (seed 002 《“13710”信息督办系统使用管理暂行办法》第九、十二、十三、十八条)."""

from datetime import date, timedelta

from duban_archive.content_types.site_access import open_site
from duban_archive.notifications.delivery import run_tick
from duban_archive.notifications.outbox import get_outbox
from duban_archive.notifications.reminders import plan
from duban_archive.testing import api
from duban_archive.timeutil import frozen_now
from duban_archive.workflows.calendar import WorkCalendar

from .conftest import at


def _assigned(make_item, advance, moment, deadline, board="zdgz"):
    with frozen_now(moment):
        item_id = make_item(board, deadline=deadline, registered_on=moment.date())
    advance(item_id, [("approve", "leader"), ("assign", "supervisor")], moment)
    return item_id


def _inbox(app, item_id, recipient):
    with open_site(app.registry) as site:
        return [(m.rule, m.subject, m.body) for m in get_outbox(site).for_item(item_id)
                if m.channel == "inbox" and m.recipient == recipient]


def test_seed002_art12_notice_and_item_page_name_the_same_deadline(app, testapp, make_item, advance):
    # 办结时限 2026-12-31 is due at the end of that day: 「2026-12-31 23:59」, never 2027-01-01 00:00
    item_id = _assigned(make_item, advance, at(2026, 12, 1, 9, 0), date(2026, 12, 31))
    client = api(testapp, "handler")
    inbox = client.get("/api/v1/inbox").json
    bodies = [m["body"] for m in (inbox.get("messages") or inbox.get("items") or []) if m.get("item") == item_id]
    assert any("办理时限 2026-12-31 23:59" in b for b in bodies), bodies
    assert not any("2027-01-01" in b for b in bodies)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        url = f"/boards/{item.board_id}/{item_id}"
    from duban_archive.testing import login

    login(testapp, "handler")
    page = testapp.get(url).text
    assert "办结时限：2026-12-31 23:59" in page and "2027-01-01" not in page


def test_seed002_art12_three_and_seven_day_nodes_by_calendar_day(app, make_item, advance):
    # 第十二条（一）: 按照1天、3天、7天、1个月的时间节点，分别在截止时限前5小时、5小时、1天、2天进行短信提醒
    start = at(2026, 5, 4, 9, 0)  # 交办 Monday 09:00
    rules = app.registry.duban_reminder_rules.for_board("zdgz")
    three = _assigned(make_item, advance, start, start.date() + timedelta(days=3))
    seven = _assigned(make_item, advance, start, start.date() + timedelta(days=7))
    month = _assigned(make_item, advance, start, date(2026, 6, 4))  # 交办 + 1 个月
    with open_site(app.registry) as site:
        def before(item_id):
            return [f.at for f in plan(site.get_item(item_id), rules, WorkCalendar(), start) if f.rule == "before"]
        # 3 天: due 2026-05-07 23:59:59, 5 h before = 18:59:59
        assert before(three) == [at(2026, 5, 7, 23, 59, 59) - timedelta(hours=5)]
        # 7 天: due 2026-05-11 23:59:59, 1 day before
        assert before(seven) == [at(2026, 5, 11, 23, 59, 59) - timedelta(days=1)]
        # 1 个月: due 2026-06-04 23:59:59, 2 days before
        assert before(month) == [at(2026, 6, 4, 23, 59, 59) - timedelta(days=2)]
        # the switch: span = "hours" measures 72 h exactly; 3 days 14:59:59 is past the 3-day node
        rules.span = "hours"
        try:
            assert before(three) == [at(2026, 5, 7, 23, 59, 59) - timedelta(days=1)]
        finally:
            rules.span = "calendar_days"
        # the switch start_day = "included": 交办 day is day 1, so the 3-day node ends on 05-06; an item
        # due 05-07 is then a 7-day item (1 day ahead)
        rules.start_day = "included"
        try:
            assert before(three) == [at(2026, 5, 7, 23, 59, 59) - timedelta(days=1)]
        finally:
            rules.start_day = "excluded"


def test_seed002_art12_reminder_already_past_at_replanning_is_sent(app, make_item, advance, contacts):
    # 交办 at 20:00 on the day the item is due: the 5-hour reminder (18:59:59) is already past;
    # it is sent at the next tick instead of being dropped
    item_id = _assigned(make_item, advance, at(2026, 5, 6, 20, 0), date(2026, 5, 6))
    run_tick(app.registry, at(2026, 5, 6, 20, 1))
    assert [r[0] for r in _inbox(app, item_id, "handler")] == ["assign", "before"]
    # and an item re-planned 3 days after its deadline escalates at the next tick (第十三条 逾期3天)
    late = _assigned(make_item, advance, at(2026, 5, 10, 9, 0), date(2026, 5, 6))
    run_tick(app.registry, at(2026, 5, 10, 9, 1))
    with open_site(app.registry) as site:
        assert site.get_item(late).escalation_level == 1


def test_seed002_art9_every_step_is_told(app, make_item, advance, contacts):
    # 第九条 系统事项进展、办结情况，以手机短信形式提醒相关责任人; 第十八条 办结并通知承办单位
    moment = at(2026, 5, 4, 9, 0)
    with frozen_now(moment):
        item_id = make_item("zdgz", deadline=date(2026, 5, 29), registered_on=moment.date())
    assert [r[0] for r in _inbox(app, item_id, "leader")] == ["state:registered"]  # 待审签
    advance(item_id, [("approve", "leader"), ("assign", "supervisor"), ("decline", "unit_head")], moment,
            {"decline": {"reason": "不属于本单位职责"}})
    declined = [r for r in _inbox(app, item_id, "supervisor") if r[0] == "decline"]
    assert declined and "退单" in declined[0][1] and "不属于本单位职责" in declined[0][2]
    advance(item_id, [("assign", "supervisor"), ("accept", "unit_head"), ("request_closure", "handler"),
                      ("return", "supervisor")], moment, {"return": {"reason": "缺少现场照片"}})
    assert "request_closure" in [r[0] for r in _inbox(app, item_id, "supervisor")]
    returned = [r for r in _inbox(app, item_id, "handler") if r[0] == "return"]
    assert returned and "缺少现场照片" in returned[0][2] and "2026-05-29 23:59" in returned[0][2]
    advance(item_id, [("request_closure", "handler"), ("review", "supervisor"), ("close", "leader")], moment,
            {"close": {"grade": "B"}})
    assert "close" in [r[0] for r in _inbox(app, item_id, "handler")]
    assert [r[0] for r in _inbox(app, item_id, "records_officer")] == ["state:closed"]  # 待归档
