"""The search page, GET /api/v1/search, export to Excel, saved searches, audit of auditors."""

import io

import transaction
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

from .test_fulltext_search import assign


def audit_entries(app, action):
    with open_site(app.registry) as site:
        return [dict(e) for e in site["audit"] if e["action"] == action]


def test_api_search_shape_permissions_and_facets(app, testapp, make_item):
    zjj = make_item(title="住建局：城市燃气管道老化更新改造", lead_unit="zjj", assist_units=set())
    jtj = make_item(title="交通局：燃气管道沿线道路修复", lead_unit="jtj", assist_units=set())
    assign(app, zjj)
    assign(app, jtj)
    body = api(testapp, "handler").get("/api/v1/search", params={"q": "燃气管道"}).json
    assert body["total"] == 1
    assert [r["id"] for r in body["results"]] == [zjj]
    hit = body["results"][0]
    assert set(hit) >= {"id", "number", "title", "snippet", "score", "state"}
    assert hit["state"] == "assigned" and "<mark>" in hit["snippet"]
    assert body["facets"]["unit"] == [{"value": "zjj", "title": "市住建局", "count": 1}]
    other = api(testapp, "handler2").get("/api/v1/search", params={"q": "燃气管道"}).json
    assert [r["id"] for r in other["results"]] == [jtj]
    sup = api(testapp, "supervisor").get("/api/v1/search", params={"q": "燃气管道", "unit": "jtj"}).json
    assert [r["id"] for r in sup["results"]] == [jtj]
    assert {f["value"] for f in sup["facets"]["board"]} == {"zdgz"}


def test_api_search_refuses_bad_parameters_field_by_field(testapp):
    client = api(testapp, "supervisor")
    res = client.get("/api/v1/search?q=x&year=abc&per_page=1000&sort=magic", status=400).json
    assert res["error"] == "invalid"
    assert set(res["fields"]) == {"year", "per_page", "sort"}
    assert "四位数字" in res["fields"]["year"]
    testapp.get("/api/v1/search?q=x", status=401)


def test_auditor_queries_and_opened_results_are_audit_logged(app, testapp, make_item):
    item_id = make_item(title="审计抽查：扶贫资金使用情况")
    before = len(audit_entries(app, "search"))
    body = api(testapp, "auditor").get("/api/v1/search", params={"q": "扶贫资金"}).json
    assert [r["id"] for r in body["results"]] == [item_id]
    logged = audit_entries(app, "search")
    assert len(logged) == before + 1
    assert logged[-1]["actor"] == "auditor" and logged[-1]["q"] == "扶贫资金" and logged[-1]["total"] == 1
    # a supervisor's search is not an audit event
    api(testapp, "supervisor").get("/api/v1/search", params={"q": "扶贫资金"})
    assert len(audit_entries(app, "search")) == before + 1
    # opening a result from the search page is logged for the auditor
    login(testapp, "auditor")
    page = testapp.get("/search", params={"q": "扶贫资金"})
    link = page.html.select_one("#results a")
    assert "扶贫资金" in link.text
    res = testapp.get(link["href"])
    assert res.status_int == 302 and res.location.endswith(f"/{item_id}/")
    views = [e for e in audit_entries(app, "view") if e.get("via") == "search"]
    assert views[-1]["target"] == item_id and views[-1]["actor"] == "auditor"


def test_search_page_facets_snippets_paging_and_export(app, testapp, make_item):
    for i in range(23):
        make_item("zdgz" if i % 2 else "rcgl", title=f"第{i}号：河长制巡河工作",
                  content=f"开展河湖“清四乱”专项行动。第{i}次巡河发现问题！")
    login(testapp, "supervisor")
    page = testapp.get("/search", params={"q": "巡河"})
    assert "共找到 23 件" in page.text
    assert len(page.html.select("#results li")) == 20
    assert page.html.select_one(".snippet mark").text == "巡河"
    boards = {a.text.strip(): a.find_next("span").text for a in page.html.select("#facet-board a")}
    assert boards == {"日常管理事项": "12", "重点工作任务": "11"}
    second = testapp.get(page.html.select_one("a[rel=next]")["href"])
    assert len(second.html.select("#results li")) == 3
    narrowed = testapp.get(page.html.select("#facet-board a")[1]["href"])
    assert "共找到 11 件" in narrowed.text
    # 导出 Excel: every result, not just the page
    xlsx = testapp.get(page.html.select_one("#export-xlsx")["href"])
    assert xlsx.content_type.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(xlsx.body)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 23 and all("河长制" in r[2] for r in rows)
    assert ws["B2"].value == "事项编号"


def test_saved_searches_are_per_user(app, testapp, make_item):
    make_item(title="秸秆禁烧巡查")
    login(testapp, "supervisor")
    page = testapp.get("/search", params={"q": "秸秆", "year": "2026"})
    form = page.forms["save-search-form"]
    form["name"] = "秸秆禁烧"
    back = form.submit().follow()
    saved = back.html.select_one("#saved-searches a")
    assert saved.text == "秸秆禁烧" and "q=%E7%A7%B8%E7%A7%86" in saved["href"] and "year=2026" in saved["href"]
    assert "共找到 1 件" in testapp.get(saved["href"]).text
    testapp.reset()  # another browser
    login(testapp, "leader")
    assert testapp.get("/search").html.select_one("#saved-searches") is None


def test_search_page_reports_a_bad_query_in_chinese(testapp):
    login(testapp, "supervisor")
    res = testapp.get("/search", params={"q": "x", "year": "20x5"}, status=400)
    assert "年度应为四位数字" in res.text


def test_api_exports_the_callers_results_to_excel(app, testapp, make_item):
    mine = [make_item(title=f"住建局：燃气安全排查第{i}批", lead_unit="zjj", assist_units=set()) for i in range(3)]
    theirs = make_item(title="交通局：燃气安全排查", lead_unit="jtj", assist_units=set())
    for item_id in mine + [theirs]:
        assign(app, item_id)
    before = len(audit_entries(app, "export"))
    res = api(testapp, "handler").get("/api/v1/search", params={"q": "燃气安全", "format": "xlsx", "per_page": 1})
    assert res.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = load_workbook(io.BytesIO(res.body)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    # every result the handler may view (not just one page), none of the other unit's
    assert sorted(r[1] for r in rows) == sorted(_numbers(app, mine))
    assert all("住建局" in r[2] for r in rows)
    logged = audit_entries(app, "export")
    assert len(logged) == before + 1 and logged[-1]["actor"] == "handler" and logged[-1]["count"] == 3
    bad = api(testapp, "handler").get("/api/v1/search?q=x&format=pdf&year=abc", status=400).json
    assert set(bad["fields"]) == {"format", "year"} and "xlsx" in bad["fields"]["format"]


def _numbers(app, item_ids):
    with open_site(app.registry) as site:
        return [site.get_item(i).number for i in item_ids]


def test_auditor_opening_a_result_through_the_api_is_audit_logged(app, testapp, make_item):
    item_id = make_item(title="审计抽查：专项资金拨付")
    auditor = api(testapp, "auditor")
    result = auditor.get("/api/v1/search", params={"q": "专项资金"}).json["results"][0]
    before = len(audit_entries(app, "view"))
    opened = auditor.get(result["url"]).json
    assert opened["id"] == item_id
    views = audit_entries(app, "view")
    assert len(views) == before + 1
    assert views[-1]["actor"] == "auditor" and views[-1]["target"] == item_id and views[-1]["via"] == "api"
    # the trail of the item shows it too
    trail = api(testapp, "supervisor").get(f"/api/v1/items/{item_id}/audit").json
    assert any(e["action"] == "view" and e["actor"] == "auditor" for e in trail)
    # an officer's look is not an audit event
    api(testapp, "supervisor").get(result["url"])
    assert len(audit_entries(app, "view")) == before + 1


def test_saving_an_unreadable_search_on_the_page_is_refused_in_chinese(app, testapp):
    login(testapp, "supervisor")
    form = testapp.get("/search", params={"q": "河长制"}).forms["save-search-form"]
    form["name"] = "a/b"
    page = form.submit().follow()
    assert "名称不能包含" in page.text
    assert page.html.select_one("#saved-searches") is None


def test_searches_saved_as_query_strings_by_the_earlier_page_still_work(app, testapp, make_item):
    from persistent.mapping import PersistentMapping

    from duban_archive.catalog.queue import get_state
    from duban_archive.timeutil import now

    make_item(title="秸秆禁烧巡查")
    with open_site(app.registry) as site:
        get_state(site).saved["supervisor"] = PersistentMapping(
            {"旧的检索": {"query": "q=%E7%A7%B8%E7%A7%86&year=2026", "created": now()}})
        transaction.commit()
    [entry] = api(testapp, "supervisor").get("/api/v1/saved-searches").json
    assert entry["name"] == "旧的检索" and entry["q"] == "秸秆" and entry["year"] == 2026
    login(testapp, "supervisor")
    link = testapp.get("/search").html.select_one("#saved-searches a")
    assert "共找到 1 件" in testapp.get(link["href"]).text
