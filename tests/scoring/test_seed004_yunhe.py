"""Seed 004 (云和县 2022年度县政府督查工作实施方案): 反馈 timing and the 评优评先 flag, computed by hand."""

from dataclasses import replace
from datetime import date

import transaction

from duban_archive.content_types.actions import add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.scoring.engine import ItemFact, parse_period, score_units
from duban_archive.scoring.rules import load_scoring_rules
from duban_archive.security.roles import user_principals
from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now

RULES = load_scoring_rules()
YUNHE = RULES["yunhe"]
UNITS = {"zjj": "县住建局", "jtj": "县交通运输局"}


def fact(item_id, units=("zjj",), **kw):
    return ItemFact(item_id, item_id.upper(), f"事项 {item_id}", tuple(units), **kw)


def test_seed004_art3_2_reported_on_day7_and_closed_early_scores_103():
    # 交办 05-04, first report 05-11 (day 7), closed 05-20, 办结时限 05-29.
    item = fact("a", deadline=date(2026, 5, 29), closed_on=date(2026, 5, 20), assigned_on=date(2026, 5, 4),
                feedback_on=(date(2026, 5, 11),), first_feedback_on=date(2026, 5, 11))
    # 二（四）「对于短期内可办结的事项，实行即办结即反馈」: reported before closing = in time, and
    # 三（二）「按时办结并按时反馈的每件加2分，提前办结并反馈的在此基础上再加1分」
    expected = 100 + 2 + 1
    got = score_units(YUNHE, parse_period("2026-05"), [item], [], UNITS, as_of=date(2026, 5, 31))
    assert got[0].score == expected == 103
    # 13710's 「3天内要反馈」 (switch [feedback] mode = "days") would call it 「按时办结但未按时反馈…扣1分」
    days = replace(YUNHE, feedback_mode="days", feedback_days=3)
    assert score_units(days, parse_period("2026-05"), [item], [], UNITS, as_of=date(2026, 5, 31))[0].score == 100 - 1


def test_seed004_art2_4_monthly_report_by_the_5th():
    # 「对于短期内不能办结的事项，实行一月一反馈，于每月5日前反馈办理情况」: 交办 04-20, closed 06-20
    # (办结时限 06-30): reports are due by 05-05 and 06-05, and one by closing.
    base = dict(deadline=date(2026, 6, 30), closed_on=date(2026, 6, 20), assigned_on=date(2026, 4, 20))
    june = parse_period("2026-06")
    ok = fact("m", feedback_on=(date(2026, 4, 28), date(2026, 6, 3)), **base)
    assert score_units(YUNHE, june, [ok], [], UNITS, as_of=date(2026, 6, 30))[0].score == 100 + 2 + 1
    # no report between 05-06 and 06-05: the June report is missing -> 按时办结但未按时反馈 扣1分
    missed = fact("n", feedback_on=(date(2026, 4, 28), date(2026, 6, 18)), **base)
    assert score_units(YUNHE, june, [missed], [], UNITS, as_of=date(2026, 6, 30))[0].score == 100 - 1


def test_seed004_art3_2_three_unfinished_in_a_year_flag_no_honours():
    # 「年度内同一单位如出现 3 次没有按时办结且无正当理由的，建议取消当年评优评先资格」
    unfinished = [fact(f"u{m}", deadline=date(2026, m, 10)) for m in (2, 3, 5)]
    may = parse_period("2026-05")
    got = {u.unit: u for u in score_units(YUNHE, may, unfinished, [], UNITS, as_of=date(2026, 5, 31))}
    # May counts only u5 (未按时完成 扣3分) but the flag counts the whole year: 3 items
    assert got["zjj"].score == 100 - 3
    assert [f["name"] for f in got["zjj"].flags] == ["no_honours"]
    assert got["zjj"].flags[0]["count"] == 3 and got["zjj"].flags[0]["items"] == ["U2", "U3", "U5"]
    two = score_units(YUNHE, may, unfinished[1:], [], UNITS, as_of=date(2026, 5, 31))
    assert two[0].flags == []


def _fire(app, site, item, steps, data=None):
    wf = app.registry.duban_workflows[item.workflow]
    for name, actor in steps:
        user = site["users"][actor]
        wf.fire(item, name, actor, user_principals(user.username, user.roles, user.unit), (data or {}).get(name),
                site=site)


def test_seed004_art3_2_api_scores_an_item_reported_on_day7_at_103(app, testapp, make_item):
    from datetime import datetime

    def at(*a):
        return datetime(*a, tzinfo=CST)

    with frozen_now(at(2026, 5, 4, 9, 0)):
        item_id = make_item("zdgz", deadline=date(2026, 5, 29), registered_on=date(2026, 5, 4), assist_units=set())
    with frozen_now(at(2026, 5, 4, 9, 30)), open_site(app.registry) as site:
        item = site.get_item(item_id)
        _fire(app, site, item, [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")])
        transaction.commit()
    with frozen_now(at(2026, 5, 11, 10, 0)), open_site(app.registry) as site:  # day 7
        add_feedback(site, site.get_item(item_id), {"done": "已完成", "progress": "完成", "next_steps": "无"},
                     "handler", app.registry)
        transaction.commit()
    with frozen_now(at(2026, 5, 20, 10, 0)), open_site(app.registry) as site:
        item = site.get_item(item_id)
        _fire(app, site, item, [("request_closure", "handler"), ("review", "supervisor"), ("close", "leader")],
              {"close": {"grade": "B"}})
        transaction.commit()
    ranking = api(testapp, "supervisor").get("/api/v1/scores?period=2026-05&rules=yunhe").json["ranking"]
    zjj = next(u for u in ranking if u["unit"] == "zjj")
    assert zjj["score"] == 100 + 2 + 1  # 按时办结并按时反馈 +2, 提前办结 +1
    assert [ln["rule"] for ln in zjj["breakdown"]][:3] == ["base", "on_time", "early"]
