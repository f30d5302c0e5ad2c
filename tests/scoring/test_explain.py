"""规则核对 (issue 14 item 7): the page, the JSON API and ``duban-archive explain-score`` show every point
of a unit's score with its rule and item; the arithmetic is seed 004 三（二）, by hand."""

import json
from datetime import date, datetime

import transaction

from duban_archive.content_types.actions import add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.testing import api, http_call, login
from duban_archive.timeutil import CST, frozen_now


def at(*a):
    return datetime(*a, tzinfo=CST)


def _fire(app, site, item, steps, data=None):
    wf = app.registry.duban_workflows[item.workflow]
    for name, who in steps:
        u = site["users"][who]
        wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), (data or {}).get(name), site=site)


def _closed_early(app, make_item):
    """交办 05-04, reported 05-11, closed 05-20, 办结时限 05-29 (住建局 主办, 交通局 协办)."""
    with frozen_now(at(2026, 5, 4, 9, 0)):
        item_id = make_item("zdgz", deadline=date(2026, 5, 29), registered_on=date(2026, 5, 4))
    with frozen_now(at(2026, 5, 4, 9, 30)), open_site(app.registry) as site:
        _fire(app, site, site.get_item(item_id), [("approve", "leader"), ("assign", "supervisor"),
                                                  ("accept", "unit_head")])
        transaction.commit()
    with frozen_now(at(2026, 5, 11, 10, 0)), open_site(app.registry) as site:
        add_feedback(site, site.get_item(item_id), {"done": "已完成", "progress": "完成", "next_steps": "无"},
                     "handler", app.registry)
        transaction.commit()
    with frozen_now(at(2026, 5, 20, 10, 0)), open_site(app.registry) as site:
        _fire(app, site, site.get_item(item_id), [("request_closure", "handler"), ("review", "supervisor"),
                                                  ("close", "leader")], {"close": {"grade": "B"}})
        transaction.commit()
    with open_site(app.registry) as site:
        return item_id, site.get_item(item_id).number


def test_seed004_art3_api_explains_every_point_with_rule_and_item(app, testapp, make_item):
    item_id, number = _closed_early(app, make_item)
    sup = api(testapp, "supervisor")
    sup.post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "county_criticism", "date": "2026-05-25",
                                            "item": item_id, "note": "进度通报"}, status=201)
    data = sup.get("/api/v1/scores/explain?unit=zjj&period=2026-05").json
    # 三「基准分100分」; 三（二）按时办结并按时反馈 +2、提前办结 +1; 三（四）被县政府通报批评 -3
    assert data["score"] == 100 + 2 + 1 - 3 == data["total"] and data["balanced"] is True
    got = [(ln["points"], ln["rule_ref"], ln["number"]) for ln in data["lines"]]
    assert got == [(100, "ruleset.base", None), (2, "events.on_time", number), (1, "events.early", number),
                   (-3, "adjustments.county_criticism", number)]
    assert data["lines"][1]["item_title"] == "推进老旧小区改造" and data["lines"][1]["date"] == "2026-05-20"
    assert [(i["number"], i["role"], i["points"]) for i in data["items"]] == [(number, "主办", 2 + 1 - 3)]
    # 交通局 协办: 「一项交办任务涉及多家责任单位的，均实行一样的加分或扣分」
    assert api(testapp, "supervisor").get("/api/v1/scores/explain?unit=jtj&period=2026-05").json["score"] == 103
    bad = sup.get("/api/v1/scores/explain?unit=nope&period=2026-05", status=404).json
    assert bad["fields"] == {"unit": "承办单位不存在"}
    assert sup.get("/api/v1/scores/explain?unit=zjj&period=2026-13", status=400).json["fields"]["period"]
    api(testapp, "handler").get("/api/v1/scores/explain?unit=zjj&period=2026-05", status=403)


def test_seed004_art3_explain_page_linked_from_the_scores_page(app, testapp, make_item):
    item_id, number = _closed_early(app, make_item)
    login(testapp, "supervisor")
    scores = testapp.get("/scores?period=2026-05")
    page = scores.click(href="/scores/explain\\?unit=zjj", index=0)
    assert "规则核对" in page.text and "events.on_time" in page.text and number in page.text
    assert "103" in page.html.find(id="explain-score").text
    assert page.html.find(id="explain-lines").find("a")["href"].endswith(f"/{item_id}/")
    refused = testapp.get("/scores/explain?unit=zjj&period=2026-5x", status=400)
    assert "考核期间格式应为" in refused.text


def test_explain_score_command_beside_a_running_site(live_server):
    server = live_server(storage="zeo", workers=False)
    token = server.token("supervisor")
    status, body = http_call(server.base, token, "POST", "/api/v1/scores/adjustments",
                             {"unit": "zjj", "kind": "county_praise", "date": "2026-05-06", "note": "经验交流"})
    assert status == 201, body
    res = server.cli("explain-score", str(server.ini), "zjj", "2026-05")
    assert res.returncode == 0, res.stderr
    assert "adjustments.county_praise" in res.stdout and "+3" in res.stdout and "合计" in res.stdout
    res = server.cli("explain-score", str(server.ini), "zjj", "2026-05", "--json")
    data = json.loads(res.stdout)
    assert data["balanced"] and any(ln["rule_ref"] == "adjustments.county_praise" for ln in data["lines"])
    res = server.cli("explain-score", str(server.ini), "nope", "2026-05")
    assert res.returncode == 2 and "承办单位不存在" in res.stderr
