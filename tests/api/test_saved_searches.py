"""/api/v1/saved-searches: the caller's saved searches, the same store as the search page's."""

from __future__ import annotations

from urllib.parse import quote

import transaction

from duban_archive.catalog.saved_searches import SAVED_MAX, save_search
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

from .conftest import snapshot

URL = "/api/v1/saved-searches"


def test_save_list_run_replace_and_delete(app, testapp, make_item):
    hit = make_item(title="秸秆禁烧巡查", lead_unit="zjj")
    make_item(title="秸秆综合利用", lead_unit="jtj", assist_units=set())
    client = api(testapp, "supervisor")
    res = client.post(URL, {"name": "秸秆禁烧", "q": "秸秆", "unit": "zjj", "year": 2026}, status=201)
    saved = res.json
    assert res.headers["Location"].endswith(f"{URL}/{quote('秸秆禁烧')}")
    assert {k: saved[k] for k in ("name", "q", "unit", "year")} == {
        "name": "秸秆禁烧", "q": "秸秆", "unit": "zjj", "year": 2026}
    assert "sort" not in saved and "board" not in saved  # only the criteria that were set
    assert saved["created"].endswith("+08:00")
    # running it gives exactly that search
    ran = client.get(saved["search_url"]).json
    assert [r["id"] for r in ran["results"]] == [hit]
    assert client.get(URL).json == [saved]
    assert client.get(f"{URL}/{quote('秸秆禁烧')}").json == saved
    # the same name again replaces it (200, not a second entry)
    res = client.post(URL, {"name": "秸秆禁烧", "q": "秸秆", "sort": "registered_on"}, status=200)
    assert res.json["sort"] == "registered_on" and "unit" not in res.json
    assert [s["name"] for s in client.get(URL).json] == ["秸秆禁烧"]
    # delete, then it is gone
    res = client.testapp.delete(f"{URL}/{quote('秸秆禁烧')}", headers=client.headers, status=204)
    assert res.body == b""
    assert client.get(URL).json == []
    gone = client.testapp.delete(f"{URL}/{quote('秸秆禁烧')}", headers=client.headers, status=404).json
    assert "秸秆禁烧" in gone["message"]
    client.get(f"{URL}/{quote('秸秆禁烧')}", status=404)


def test_saved_searches_are_per_user(testapp):
    api(testapp, "supervisor").post(URL, {"name": "我的检索", "q": "河长制"}, status=201)
    other = api(testapp, "handler")
    assert other.get(URL).json == []
    other.get(f"{URL}/{quote('我的检索')}", status=404)
    other.testapp.delete(f"{URL}/{quote('我的检索')}", headers=other.headers, status=404)
    # the same name is free for another user, and does not touch the first one
    other.post(URL, {"name": "我的检索", "q": "燃气"}, status=201)
    assert [s["q"] for s in api(testapp, "supervisor").get(URL).json] == ["河长制"]


def test_one_store_for_the_page_and_the_api(app, testapp, make_item):
    make_item(title="黑臭水体整治")
    client = api(testapp, "supervisor")
    client.post(URL, {"name": "水体", "q": "黑臭水体", "overdue": False}, status=201)
    login(testapp, "supervisor")
    page = testapp.get("/search")
    link = page.html.select_one("#saved-searches a")
    assert link.text == "水体" and "overdue=false" in link["href"]
    assert "共找到 1 件" in testapp.get(link["href"]).text
    # saved on the page -> listed by the API, criteria parsed
    form = testapp.get("/search", params={"q": "黑臭水体", "state": "registered"}).forms["save-search-form"]
    form["name"] = "登记中的水体"
    form.submit().follow()
    listed = {s["name"]: s for s in client.get(URL).json}
    assert listed["登记中的水体"]["q"] == "黑臭水体" and listed["登记中的水体"]["state"] == "registered"
    # deleted through the API -> gone from the page
    client.testapp.delete(f"{URL}/{quote('水体')}", headers=client.headers, status=204)
    names = [a.text for a in testapp.get("/search").html.select("#saved-searches a")]
    assert names == ["登记中的水体"]


def test_invalid_saves_are_refused_field_by_field_in_chinese_and_change_nothing(app, testapp):
    client = api(testapp, "supervisor")
    before = snapshot(app)
    res = client.post(URL, {"q": "x" * 501, "year": "20x5", "sort": "magic", "retention": "forever",
                            "overdue": "maybe", "colour": "red"}, status=400).json
    assert res["error"] == "invalid"
    assert res["fields"] == {
        "name": "请填写检索名称", "q": "检索式不能超过 500 个字符", "year": "年度应为四位数字，如 2025",
        "sort": "排序方式应为 relevance、registered_on、modified、deadline", "retention": "保管期限应为 Y、D30、D10",
        "overdue": "是否逾期应为 true 或 false", "colour": "不允许的字段（未知字段）"}
    fields = client.post(URL, {"name": "a/b", "q": "河长制"}, status=400).json["fields"]
    assert set(fields) == {"name"} and "/" in fields["name"]
    assert "60" in client.post(URL, {"name": "长" * 61, "q": "河长制"}, status=400).json["fields"]["name"]
    assert client.post(URL, {"name": "空的"}, status=400).json["fields"] == {"q": "请至少填写检索式或一个筛选条件"}
    assert client.post(URL, {"name": ["x"], "q": "河长制"}, status=400).json["fields"] == {"name": "应为文本"}
    bad_json = testapp.post(URL, "{", headers={**client.headers, "Content-Type": "application/json"}, status=400)
    assert bad_json.json["error"] == "invalid"
    assert snapshot(app) == before
    assert client.get(URL).json == []


def test_at_most_so_many_per_user(app, testapp):
    with open_site(app.registry) as site:
        for i in range(SAVED_MAX):
            save_search(site, "supervisor", {"name": f"检索{i:03d}", "q": f"关键词{i}"})
        transaction.commit()
    client = api(testapp, "supervisor")
    res = client.post(URL, {"name": "再多一个", "q": "河长制"}, status=400).json
    assert str(SAVED_MAX) in res["fields"]["name"]
    client.post(URL, {"name": "检索000", "q": "替换不算新增"}, status=200)  # replacing still works
    assert len(client.get(URL).json) == SAVED_MAX


def test_auth_and_csrf_like_the_rest_of_the_api(testapp):
    testapp.get(URL, status=401)
    testapp.post_json(URL, {"name": "x", "q": "y"}, status=401)  # no token, no session: refused before the body is read
    # a browser session must send the CSRF token, as every other unsafe API call
    login(testapp, "supervisor")
    refused = testapp.post_json(URL, {"name": "会话检索", "q": "河长制"}, status=403).json
    assert refused["error"] == "csrf_failed"
    token = testapp.get("/api/v1/me").json["csrf_token"]
    testapp.post_json(URL, {"name": "会话检索", "q": "河长制"}, headers={"X-CSRF-Token": token}, status=201)
    testapp.delete(f"{URL}/{quote('会话检索')}", status=403)
    testapp.delete(f"{URL}/{quote('会话检索')}", headers={"X-CSRF-Token": token}, status=204)


def test_documented_in_openapi(testapp):
    paths = testapp.get("/api/v1/openapi.json").json["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert set(paths[URL + "/{name}"]) == {"get", "delete"}
    post = paths[URL]["post"]
    props = post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"name", "q", "board", "state", "unit", "year", "retention", "overdue", "sort"} <= set(props)
    assert {"200", "201", "400", "401"} <= set(post["responses"])
    assert "content" not in paths[URL + "/{name}"]["delete"]["responses"]["204"]
