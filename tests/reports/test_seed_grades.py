"""Issue 14 item 5: grades in the 通报 and in scores (seeds 000 五, 002 第十六条 and 重点工作督办制度 五（二））."""

from datetime import date, datetime

import pytest
import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.scoring.engine import ItemFact, parse_period, score_units
from duban_archive.scoring.rules import load_scoring_rules
from duban_archive.security.roles import user_principals
from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now
from duban_archive.workflows.engine import WorkflowError


def at(*a):
    return datetime(*a, tzinfo=CST)


def _reviewed(app, make_item, board, deadline=date(2026, 5, 29)):
    with frozen_now(at(2026, 5, 4, 9, 0)):
        item_id = make_item(board, deadline=deadline, registered_on=date(2026, 5, 4))
    with frozen_now(at(2026, 5, 6, 9, 0)), open_site(app.registry) as site:
        item = site.get_item(item_id)
        item.state = "reviewed"  # the closure path itself belongs to the workflow tests
        transaction.commit()
    return item_id


def _close(app, item_id, grade, moment=at(2026, 5, 10, 9, 0)):
    with frozen_now(moment), open_site(app.registry) as site:
        item = site.get_item(item_id)
        u = site["users"]["leader"]
        app.registry.duban_workflows[item.workflow].fire(
            item, "close", "leader", user_principals(u.username, u.roles, u.unit), {"grade": grade}, site=site)
        transaction.commit()


def test_seed002_art16_d_grade_returns_the_item_not_closes_it(app, make_item):
    # 第十六条「经评估为不合格的事项，由立项主体退回承办单位继续办理落实」 (switch [d_grade] duban = "return")
    item_id = _reviewed(app, make_item, "zdgz")
    with pytest.raises(WorkflowError) as exc:
        _close(app, item_id, "D")
    assert "退回承办单位继续办理落实" in str(exc.value) and "不同意办结" in exc.value.fields["grade"]
    with open_site(app.registry) as site:
        assert site.get_item(item_id).state == "reviewed"
    _close(app, item_id, "C")
    with open_site(app.registry) as site:
        assert site.get_item(item_id).state == "closed"


def test_seed000_5_d_grade_is_kept_criticised_and_no_highlight(app, testapp, make_item):
    # seed 000 五「一事一评」: D is a final grade (internet_plus: [d_grade] = "keep"), and
    # 「对于任务评级为D级的承办单位，市政府将进行通报批评」; closed early (05-10 < 05-29) it is no 工作亮点
    d_item = _reviewed(app, make_item, "internet_plus")
    _close(app, d_item, "D")
    early_c = _reviewed(app, make_item, "zdgz")
    _close(app, early_c, "C")
    with frozen_now(at(2026, 5, 31, 20)):
        data = api(testapp, "supervisor").get("/api/v1/reports/bulletin?month=2026-05").json
    with open_site(app.registry) as site:
        d_number, c_number = site.get_item(d_item).number, site.get_item(early_c).number
    assert not any(d_number in h for h in data["highlights"])
    assert any(c_number in h and "提前办结" in h for h in data["highlights"])
    assert [c for c in data["criticisms"] if d_number in c and "通报批评" in c and "不合格（D）" in c]


def test_seed002_zdgz_5_2_excellent_and_good_earn_reward_points():
    # 「督办系统管理事项清零后，经区政府分管副区长审定为优秀、良好的，对承办单位给予奖励积分」:
    # yaodu.toml's switch: A +2, B +1 (the seed names no number); base 100; the lead unit only
    yaodu = load_scoring_rules()["yaodu"]
    may = parse_period("2026-05")
    facts = [ItemFact("a", "A", "a", ("zjj", "jtj"), deadline=date(2026, 5, 29), closed_on=date(2026, 5, 10),
                      grade="A"),
             ItemFact("b", "B", "b", ("zjj",), deadline=date(2026, 5, 29), closed_on=date(2026, 5, 12), grade="B"),
             ItemFact("c", "C", "c", ("zjj",), deadline=date(2026, 5, 29), closed_on=date(2026, 5, 12), grade="C")]
    got = {u.unit: u for u in score_units(yaodu, may, facts, [], {}, as_of=date(2026, 5, 31))}
    assert got["zjj"].score == 100 + 2 + 1
    assert [ln.rule for ln in got["zjj"].lines] == ["base", "grade:A", "grade:B"]
    assert got["jtj"].score == 100  # 协办 is not the graded 承办单位
