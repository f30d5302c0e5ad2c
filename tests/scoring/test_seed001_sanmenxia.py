"""Seed 001 (三门峡 三政办〔2019〕21号): levels, kinds, 月排名 +10, the 整改阶梯 and the honour lists,
every number computed by hand from the seed's text."""

from datetime import date

import pytest

from duban_archive.scoring.engine import Adjustment, ItemFact, parse_period, score_units
from duban_archive.scoring.ladder import ladder
from duban_archive.scoring.rules import load_scoring_rules
from duban_archive.testing import api
from duban_archive.workflows.calendar import WorkCalendar

SMX = load_scoring_rules()["sanmenxia"]
UNITS = {"zjj": "市住建局", "jtj": "市交通运输局", "cgj": "市城管局", "hbj": "市环保局"}
MAY = parse_period("2026-05")


def fact(item_id, units=("zjj",), deadline=None, closed=None):
    return ItemFact(item_id, item_id.upper(), item_id, tuple(units), deadline=deadline, closed_on=closed)


def test_seed001_att2_1_1_9_praised_at_several_levels_counts_the_highest():
    # two items, one done: 督查事项得分 = 20/40 × 100 × (0.5 + 2/2 × 0.5) = 50
    facts = [fact("a", deadline=date(2026, 5, 10), closed=date(2026, 5, 9)), fact("b", deadline=date(2026, 5, 20))]
    # item a 通报表扬 by 国务院大督查 (一（一）1: 20) and by 市委、市政府 (一（一）6: 10) at once:
    # 「同一事项同时被国家、省、市表彰或通报表扬的按最高等级认定分值」 -> 20, not 20 + 10
    adjustments = [Adjustment("zjj", "national_praise", 20, date(2026, 5, 12), item_id="a"),
                   Adjustment("zjj", "city_praise", 10, date(2026, 5, 13), item_id="a")]
    got = score_units(SMX, MAY, facts, adjustments, UNITS, as_of=date(2026, 5, 31))[0]
    assert got.score == pytest.approx(20 / 40 * 100 * (0.5 + 2 / 2 * 0.5) + 20) == 70
    city = [ln for ln in got.lines if ln.rule == "adj:city_praise"][0]
    assert city.points == 0 and "按最高等级认定" in city.title
    # a praise of ANOTHER item counts on its own
    other = adjustments + [Adjustment("zjj", "city_praise", 10, date(2026, 5, 14), item_id="b")]
    assert score_units(SMX, MAY, facts, other, UNITS, as_of=date(2026, 5, 31))[0].score == pytest.approx(80)
    # 二（一）9 the same for 通报批评: 省委省政府 -15 and 市政府督查室 -5 for one item -> -15
    crit = [Adjustment("zjj", "province_criticism", -15, date(2026, 5, 12), item_id="a"),
            Adjustment("zjj", "supervision_office_criticism", -5, date(2026, 5, 13), item_id="a")]
    assert score_units(SMX, MAY, facts, crit, UNITS, as_of=date(2026, 5, 31))[0].score == pytest.approx(50 - 15)


def test_seed001_att2_kinds_publicity_leader_criticism_interview_onsite():
    k = SMX.adjustments
    # 一（三）信息宣传类 20 / 15 / 5
    assert (k["publicity_central"].points, k["publicity_province"].points, k["publicity_city"].points) == (20, 15, 5)
    # 二（二）领导批示类: 批评 -20 / -15 / -10, 约谈 -15 / -10
    assert (k["leader_criticism_top"].points, k["leader_criticism_province"].points,
            k["leader_criticism_city"].points) == (-20, -15, -10)
    assert (k["interview_province"].points, k["interview_city"].points) == (-15, -10)
    # 三、1 现场会 30 / 20 / 10
    assert (k["onsite_state_council"].points, k["onsite_province"].points, k["onsite_city"].points) == (30, 20, 10)


def test_seed001_att2_1_1_10_monthly_top_refused_with_deductions(app, testapp, make_item):
    item_id = make_item("zdgz")
    sup = api(testapp, "supervisor")
    app.registry.duban_scoring_rules = app.registry.duban_scoring_rules_all["sanmenxia"]
    try:
        # 「与督查事项无关的不加（减）分」: an adjustment names its item
        bad = sup.post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "late_report", "date": "2026-05-06"},
                       status=400).json
        assert "督查事项" in bad["fields"]["item"]
        sup.post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "late_report", "date": "2026-05-06",
                                                "item": item_id}, status=201)
        # 「月排名通报，…且无减分事项的加10分」: 住建局 has a 减分 in May -> refused, nothing stored
        refused = sup.post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "monthly_top",
                                                          "date": "2026-05-31", "item": item_id}, status=400).json
        assert "须无减分事项" in refused["fields"]["kind"] and "逾期上报" in refused["fields"]["kind"]
        # 「县（市、区）前三名、市直单位前六名」: a 街道 is neither
        street = sup.post("/api/v1/scores/adjustments", {"unit": "dcz", "kind": "monthly_top", "date": "2026-05-31",
                                                         "item": item_id}, status=400).json
        assert "仅限县（市、区）前3名、市直单位前6名" in street["fields"]["kind"]
        # 交通局 has none and, with a 督查室通报表扬 (+5), is the first 市直单位 of May: accepted (+10)
        sup.post("/api/v1/scores/adjustments", {"unit": "jtj", "kind": "supervision_office_praise",
                                                "date": "2026-05-20", "item": item_id}, status=201)
        sup.post("/api/v1/scores/adjustments", {"unit": "jtj", "kind": "monthly_top", "date": "2026-05-31",
                                                "item": item_id}, status=201)
        month = sup.get("/api/v1/scores?period=2026-05&rules=sanmenxia").json
        kinds = {u["unit"]: [ln["rule"] for ln in u["breakdown"]] for u in month["ranking"]}
        assert "adj:monthly_top" not in kinds["zjj"] and "adj:monthly_top" in kinds["jtj"]
        # the scores page shows the 年中 list for 2026-H1 (no unit has all its items done: none listed)
        from duban_archive.testing import login

        login(testapp, "supervisor")
        page = testapp.get("/scores?period=2026-H1")
        assert "年中考核通报表扬（前3名）" in page.html.find(id="honours-midyear").text
    finally:
        app.registry.duban_scoring_rules = app.registry.duban_scoring_rules_all["yunhe"]


def test_seed001_4_2_4_ladder_notice_criticism_interview_accountability():
    # 办结时限 2026-06-05 (Fri), not done. 首次通报 the next day: 06-06.
    # 限5个工作日: 06-08 Mon, 09, 10, 11, 12 Fri -> still not done, 通报批评+媒体曝光 on 06-13.
    # 曝光之日起5个工作日: 06-15 Mon, 16, 17, 18 Thu, [06-19 端午节 holiday, 06-20/21 weekend], 06-22 Mon
    #   -> 约谈 on 06-23.
    # 约谈后5个工作日: 06-24, 25, 26 Fri, 29 Mon, 30 Tue -> 提请问责 on 07-01.
    f = fact("late", deadline=date(2026, 6, 5))
    steps = ladder(SMX, f, WorkCalendar(), as_of=date(2026, 7, 31))
    assert [(s["step"], s["date"]) for s in steps] == [
        ("notice", date(2026, 6, 6)), ("criticism", date(2026, 6, 13)), ("interview", date(2026, 6, 23)),
        ("accountability", date(2026, 7, 1))]
    assert steps[0]["rectify_by"] == date(2026, 6, 12)
    # rectified (closed) on 06-20: the ladder stops after the 通报批评
    done = fact("late", deadline=date(2026, 6, 5), closed=date(2026, 6, 20))
    assert [s["step"] for s in ladder(SMX, done, WorkCalendar(), as_of=date(2026, 7, 31))] == ["notice", "criticism"]


def test_seed001_4_2_3_midyear_top3_and_year_end_top5_of_units_with_all_items_done():
    from duban_archive.scoring.honours import honours

    h1 = parse_period("2026-H1")
    facts = [fact("z1", ("zjj",), date(2026, 3, 10), date(2026, 3, 9)),
             fact("j1", ("jtj",), date(2026, 3, 10), date(2026, 3, 9)),
             fact("c1", ("cgj",), date(2026, 3, 10), date(2026, 3, 9)),
             fact("h1", ("hbj",), date(2026, 3, 10), date(2026, 3, 9)), fact("h2", ("hbj",), date(2026, 4, 10))]
    adjustments = [Adjustment("jtj", "city_praise", 10, date(2026, 3, 12), item_id="j1"),
                   Adjustment("cgj", "supervision_office_praise", 5, date(2026, 3, 12), item_id="c1"),
                   Adjustment("hbj", "national_praise", 20, date(2026, 3, 12), item_id="h1")]
    ranking = score_units(SMX, h1, facts, adjustments, UNITS, as_of=date(2026, 6, 30))
    # 功效系数: 住建局/交通局/城管局 1 item of the most 2 -> 0.5 + 1/2 × 0.5 = 0.75; 20/20 × 100 × 0.75 = 75
    # 交通局 75 + 10 = 85, 城管局 75 + 5 = 80, 住建局 75; 环保局 20/40 × 100 × 1 + 20 = 70 but not all done
    lists = {h["name"]: h for h in honours(SMX, h1, ranking)}
    assert [u["unit"] for u in lists["midyear"]["units"]] == ["jtj", "cgj", "zjj"]
    assert [u["score"] for u in lists["midyear"]["units"]] == [85, 80, 75]
    assert [u["unit"] for u in lists["midyear"]["left_out"]] == ["hbj"]
    assert "year_end" not in lists  # 年终 is the ranking of the year
    year = parse_period("2026")
    assert [h["name"] for h in honours(SMX, year, score_units(SMX, year, facts, adjustments, UNITS,
                                                               as_of=date(2026, 12, 31)))] == ["year_end"]


def test_seed001_4_2_4_bulletin_names_the_ladder_step_of_an_overdue_item(app, testapp, make_item):
    from datetime import datetime

    import transaction

    from duban_archive.content_types.site_access import open_site
    from duban_archive.security.roles import user_principals
    from duban_archive.timeutil import CST, frozen_now

    with frozen_now(datetime(2026, 6, 1, 9, 0, tzinfo=CST)):
        item_id = make_item("zdgz", deadline=date(2026, 6, 5), registered_on=date(2026, 6, 1))
        with open_site(app.registry) as site:
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, who in [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")]:
                u = site["users"][who]
                wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), site=site)
            transaction.commit()
    app.registry.duban_scoring_rules = app.registry.duban_scoring_rules_all["sanmenxia"]
    try:
        with frozen_now(datetime(2026, 6, 30, 20, 0, tzinfo=CST)):
            data = api(testapp, "supervisor").get("/api/v1/reports/bulletin?month=2026-06").json
    finally:
        app.registry.duban_scoring_rules = app.registry.duban_scoring_rules_all["yunhe"]
    # 06-06 通报, 06-13 通报批评, 06-23 约谈 (限 5 个工作日: 06-24, 25, 26, 29, 30 -> 06-30 前整改)
    (row,) = [o for o in data["overdue"] if o["id"] == item_id]
    assert row["step"] == "市政府领导同志约谈，责令作出书面承诺（2026-06-23，限 2026-06-30 前整改）"
