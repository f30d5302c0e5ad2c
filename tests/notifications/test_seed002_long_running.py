"""Seed 002 持续推进: the monthly report clock, 提前2天, the follow-up 2 days after a missed monthly
report, 季度小结 and 年底清零 (重点工作任务/重大改革事项督办制度 四; 使用管理暂行办法 第十五、十七条)."""

from datetime import date, timedelta

import transaction

from duban_archive.content_types.actions import add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.notifications.delivery import run_tick
from duban_archive.notifications.outbox import get_outbox
from duban_archive.notifications.reminders import plan
from duban_archive.testing import api
from duban_archive.timeutil import frozen_now
from duban_archive.workflows.calendar import WorkCalendar
from duban_archive.workflows.deadlines import item_deadlines

from .conftest import at

START = [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")]


def _long_running(make_item, advance, board, moment, deadline=date(2026, 6, 30), plan_until="2026-12-20"):
    with frozen_now(moment):
        item_id = make_item(board, deadline=deadline, registered_on=moment.date())
    advance(item_id, START + [("request_long_running", "handler"), ("approve_long_running", "supervisor")], moment,
            {"request_long_running": {"plan": "分三期推进", "plan_until": plan_until}})
    return item_id


def _deadlines(app, item_id, moment):
    with open_site(app.registry) as site:
        return {d["name"]: d["due"] for d in item_deadlines(site.get_item(item_id), moment)}


def test_seed002_zdgz_4_1_monthly_report_clock_not_weekly(app, make_item, advance):
    # 重点工作任务督办制度 四（一）「每月底前要将本月的落实进展情况通过系统进行反馈」; 第十五条「按月报告」
    moment = at(2026, 5, 12, 9, 0)
    zdgz = _long_running(make_item, advance, "zdgz", moment)
    rcgl = _long_running(make_item, advance, "rcgl", moment)
    for item_id in (zdgz, rcgl):
        got = _deadlines(app, item_id, moment)
        assert got["monthly_report"] == "2026-05-31T23:59:59+08:00" and "next_report" not in got  # not weekly
    # May's report in: next due the end of June
    with frozen_now(at(2026, 5, 20, 10, 0)), open_site(app.registry) as site:
        add_feedback(site, site.get_item(zdgz), {"done": "一期", "progress": "30%", "next_steps": "二期"}, "handler",
                     app.registry)
        transaction.commit()
    assert _deadlines(app, zdgz, moment)["monthly_report"] == "2026-06-30T23:59:59+08:00"
    # 重点工程 keeps its own cadence (四（一）4: 持续办理3个月以内的，每周报送): plan until 07-31 < 3 months
    zdgc = _long_running(make_item, advance, "zdgc", moment, plan_until="2026-07-31")
    got = _deadlines(app, zdgc, moment)
    assert got["next_report"] == "2026-05-19T09:00:00+08:00" and "monthly_report" not in got  # 05-12 + 7 天


def test_seed002_art15_long_running_asked_2_days_ahead(app, testapp, make_item, advance):
    # 第十五条「承办单位须提前2天提出延期办结申请」: 办结时限 06-30 ends 23:59:59; 2 days before = 06-28 23:59:59
    moment = at(2026, 6, 1, 9, 0)
    with frozen_now(moment):
        item_id = make_item("zdgz", deadline=date(2026, 6, 30), registered_on=moment.date())
    advance(item_id, START, moment)
    handler = api(testapp, "handler")
    body = {"plan": "分期推进", "plan_until": "2026-12-20"}
    with frozen_now(at(2026, 6, 29, 0, 0, 1)):
        refused = handler.post(f"/api/v1/items/{item_id}/transitions/request_long_running", body, status=409).json
    assert "前 2天提出" in refused["message"] and "2026-06-28 23:59" in refused["message"]
    with frozen_now(at(2026, 6, 28, 23, 59)):
        assert handler.post(f"/api/v1/items/{item_id}/transitions/request_long_running", body).json[
            "state"] == "long_running_requested"


def _inbox(app, item_id, recipient):
    with open_site(app.registry) as site:
        return [(m.rule, m.subject, m.body) for m in get_outbox(site).for_item(item_id)
                if m.channel == "inbox" and m.recipient == recipient]


def test_seed002_zdgz_4_1_missed_monthly_report_followed_up_after_2_days(app, make_item, advance, contacts):
    # 「在月底没有反馈的事项，由系统从下月1日开始，每日8时、15时分别催办一次，连续提醒2日，仍未反馈的由立项
    # 主体催办。超过时限2日未上报的事项，交由区政府核查问责。」 May's report missing:
    # 06-01 08:00, 15:00, 06-02 08:00, 15:00 to the unit, then 06-01 00:00 + 2 天 = 06-03 00:00 to the 立项主体
    item_id = _long_running(make_item, advance, "zdgz", at(2026, 5, 10, 9, 0))
    for moment in (at(2026, 6, 1, 8, 0), at(2026, 6, 1, 15, 0), at(2026, 6, 2, 8, 0), at(2026, 6, 2, 15, 0)):
        run_tick(app.registry, moment)
    assert [r[0] for r in _inbox(app, item_id, "handler")].count("monthly") == 4
    run_tick(app.registry, at(2026, 6, 2, 23, 59))
    assert "monthly_follow_up" not in [r[0] for r in _inbox(app, item_id, "supervisor")]
    run_tick(app.registry, at(2026, 6, 3, 0, 0))
    follow = [r for r in _inbox(app, item_id, "supervisor") if r[0] == "monthly_follow_up"]
    assert follow and "2026年5月" in follow[0][2] and "核查问责" in follow[0][2]


def test_seed002_zdgz_4_2_quarterly_summary_and_4_3_year_end(app, make_item, advance, contacts):
    item_id = _long_running(make_item, advance, "zdgz", at(2026, 5, 10, 9, 0))
    rules = app.registry.duban_reminder_rules.for_board("zdgz")
    with open_site(app.registry) as site:
        fires = plan(site.get_item(item_id), rules, WorkCalendar(), at(2026, 6, 1, 9, 0))
    quarterly = sorted(f.at for f in fires if f.rule == "quarterly" and f.at.year == 2026)
    # 「每季度最后一个工作日（第四季度提前一周）」: Q2 2026-06-30 (Tue); Q4 12-31 − 7 天 = 12-24 (Thu);
    # reminded 2 days before and on the day, 09:00
    assert at(2026, 6, 30, 9, 0) - timedelta(days=2) in quarterly and at(2026, 6, 30, 9, 0) in quarterly
    assert at(2026, 12, 24, 9, 0) in quarterly and at(2026, 12, 22, 9, 0) in quarterly
    # Q3: 09-30 is a Wednesday (National Day leave starts 10-01) -> 09-30
    assert at(2026, 9, 30, 9, 0) in quarterly
    # 年底清零: every open item reminded on 12-01 and 12-24 (the site's dates)
    assert sorted(f.at for f in fires if f.rule == "year_end") == [at(2026, 12, 1, 9, 0), at(2026, 12, 24, 9, 0)]
    run_tick(app.registry, at(2026, 12, 1, 9, 0))
    year_end = [r for r in _inbox(app, item_id, "handler") if r[0] == "year_end"]
    assert year_end and "销号清零" in year_end[0][2] and "2026-12-31 23:59" in year_end[0][2]
    # the "1" board has no 季度小结 (it is a rule of the 重点工作/重大改革/技改 boards)
    rcgl = _long_running(make_item, advance, "rcgl", at(2026, 5, 10, 9, 0))
    with open_site(app.registry) as site:
        assert not [f for f in plan(site.get_item(rcgl), rules, WorkCalendar(), at(2026, 6, 1, 9, 0))
                    if f.rule == "quarterly"]
