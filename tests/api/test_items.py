"""Items through the JSON API: the happy path, every validation rule, refusals that change nothing."""

from __future__ import annotations

from duban_archive.testing import api
from duban_archive.timeutil import today

from .conftest import NEW_ITEM, advance, snapshot

YEAR = today().year  # 事项编号 carry the year of 立项


def test_create_read_patch_list_happy_path(testapp):
    sup = api(testapp, "supervisor")
    res = sup.post("/api/v1/boards/zdgz/items", NEW_ITEM, status=201)
    created = res.json
    assert created["number"] == f"ZDGZ-{YEAR}-0001" and created["state"] == "registered"
    assert res.headers["Location"] == created["url"]
    item = sup.get(created["url"]).json
    assert item["title"] == NEW_ITEM["title"] and item["board"] == "zdgz"
    assert item["deadline"] == "2026-12-31" and item["assist_units"] == ["jtj"]
    assert item["state_title"] == "已立项" and item["urgency"] == "normal"
    assert item["history"][0]["title"] == "创建" and item["history"][0]["actor"] == "supervisor"
    assert item["attachments"] == [] and item["feedback"] == [] and isinstance(item["deadlines"], list)
    assert item["can"]["edit"] is True

    patched = sup.patch(created["url"], {"title": "推进老旧小区改造（二期）", "urgency": "urgent"}).json
    assert patched["title"] == "推进老旧小区改造（二期）" and patched["urgency"] == "urgent"
    trail = sup.get(created["url"] + "/audit").json
    edits = {e["field"]: (e["old"], e["new"]) for e in trail if e["action"] == "edit"}
    assert edits["title"] == ("推进老旧小区改造", "推进老旧小区改造（二期）")
    assert edits["urgency"] == ("normal", "urgent")
    assert [e["action"] for e in trail][:1] == ["create"]

    sup.post("/api/v1/boards/rcgl/items", {**NEW_ITEM, "lead_unit": "jtj", "assist_units": []}, status=201)
    everything = sup.get("/api/v1/items").json
    assert everything["total"] == 2
    assert sup.get("/api/v1/items?board=zdgz").json["total"] == 1
    only = sup.get("/api/v1/items?unit=jtj&board=rcgl").json
    assert [i["number"] for i in only["items"]] == [f"RCGL-{YEAR}-0001"]
    assert sup.get("/api/v1/items?state=in_progress").json["total"] == 0
    assert sup.get("/api/v1/items?overdue=true").json["total"] == 0
    assert "history" not in everything["items"][0]  # list entries are the short form


def test_listing_only_shows_what_the_caller_may_view(testapp, app, make_item):
    make_item()  # registered: units do not see it yet
    seen = make_item()
    advance(app, seen, ("approve", "leader"), ("assign", "supervisor"))
    assert api(testapp, "supervisor").get("/api/v1/items").json["total"] == 2
    handler_view = api(testapp, "handler").get("/api/v1/items").json
    assert [i["id"] for i in handler_view["items"]] == [seen]
    assert api(testapp, "handler").get(f"/api/v1/items/{make_item()}", status=403).json["error"] == "forbidden"


BAD_QUERIES = [
    ("page=0", "page"), ("page=x", "page"), ("per_page=1000", "per_page"), ("overdue=maybe", "overdue"),
    ("board=nope", "board"), ("unit=nope", "unit"), ("sort=title", "sort"), ("colour=red", "colour"),
]


def test_listing_parameters_are_validated(testapp):
    sup = api(testapp, "supervisor")
    for query, field in BAD_QUERIES:
        res = sup.get(f"/api/v1/items?{query}", status=400)
        assert set(res.json["fields"]) == {field}, query


# -- validation: every rule of the item type, one field at a time -----------------

INVALID = [
    ("title", "", "请填写标题"),
    ("title", "   ", "请填写标题"),
    ("title", "长" * 201, "不能超过 200 个字符"),
    ("title", 123, "应为文本"),
    ("source", "", "请填写任务来源"),
    ("source", "来" * 301, "不能超过 300 个字符"),
    ("content", "", "请填写督办内容"),
    ("content", "x" * 10001, "不能超过 10000 个字符"),
    ("requirement", "", "请填写办理要求"),
    ("standard", "x" * 5001, "不能超过 5000 个字符"),
    ("deadline", "2026-13-01", None),
    ("deadline", "明天", None),
    ("registered_on", "2026-02-30", None),
    ("leader", "x" * 51, "不能超过 50 个字符"),
    ("lead_unit", "", "请选择主办单位"),
    ("lead_unit", "nowhere", "承办单位“nowhere”不存在"),
    ("assist_units", ["jtj", "nowhere"], "承办单位不存在：nowhere"),
    ("assist_units", "jtj", None),
    ("responsible", "x" * 51, "不能超过 50 个字符"),
    ("overseer", "x" * 51, "不能超过 50 个字符"),
    ("contact", "x" * 101, "不能超过 100 个字符"),
    ("urgency", "whenever", "取值无效"),
    ("classification", "top", "取值无效"),
    ("classification", "secret", "严禁纳入涉密事项"),
    ("no_such_field", "x", "不允许的字段（未知字段）"),
]


def test_every_invalid_field_is_refused_in_chinese_and_changes_nothing(testapp, app):
    """One app for all cases (fast); each case is checked on its own and reported by name."""
    sup = api(testapp, "supervisor")
    before = snapshot(app)
    problems = []
    for field, value, message in INVALID:
        body = {**NEW_ITEM, field: value}
        if value == "" and field != "title":
            del body[field]  # missing and blank are the same refusal
        res = sup.post("/api/v1/boards/zdgz/items", body, status=400)
        fields = res.json["fields"]
        text = fields.get(field, "")
        if res.json["error"] != "invalid" or set(fields) != {field}:
            problems.append((field, value, fields))
        elif not any("\u4e00" <= ch <= "\u9fff" for ch in text) or (message and message not in text):
            problems.append((field, value, text))
    assert not problems
    assert snapshot(app) == before


def test_several_errors_come_back_together(testapp):
    res = api(testapp, "supervisor").post("/api/v1/boards/zdgz/items", {"title": 1, "colour": "red"}, status=400)
    assert {"title", "colour", "source", "content", "requirement", "lead_unit"} <= set(res.json["fields"])


def test_body_must_be_a_json_object(testapp):
    sup = api(testapp, "supervisor")
    res = testapp.post("/api/v1/boards/zdgz/items", "\"text\"", content_type="application/json",
                       headers=sup.headers, status=400)
    assert res.json["fields"] == {"_": "请求体应为 JSON 对象或对象数组"}
    testapp.post("/api/v1/boards/zdgz/items", b"\xff\xfe", content_type="application/json",
                 headers=sup.headers, status=400)


def test_unknown_board_is_404_and_non_supervisor_may_not_register(testapp):
    res = api(testapp, "supervisor").post("/api/v1/boards/nope/items", NEW_ITEM, status=404)
    assert res.json["error"] == "not_found"
    res = api(testapp, "handler").post("/api/v1/boards/zdgz/items", NEW_ITEM, status=403)
    assert res.json["error"] == "forbidden"


def test_html_in_text_is_stored_verbatim_and_returned_as_data(testapp):
    sup = api(testapp, "supervisor")
    body = {**NEW_ITEM, "title": "<script>alert(1)</script>"}
    url = sup.post("/api/v1/boards/zdgz/items", body, status=201).json["url"]
    res = sup.get(url)
    assert res.content_type == "application/json"
    assert res.json["title"] == "<script>alert(1)</script>"


# -- PATCH -----------------------------------------------------------------------

def test_patch_validates_like_create(testapp, app, make_item):
    item_id = make_item()
    sup = api(testapp, "supervisor")
    before = snapshot(app, item_id)
    cases = [
        ({"title": ""}, "title", "必填，不能清空"),
        ({"lead_unit": None}, "lead_unit", "必填，不能清空"),
        ({"registered_on": "2026-01-01"}, "registered_on", "立项后不可修改"),
        ({"classification": "secret"}, "classification", "严禁纳入涉密事项"),
        ({"deadline": "soon"}, "deadline", None),
        ({"number": "X-1"}, "number", "不允许的字段（未知字段）"),
    ]
    for body, field, message in cases:
        res = sup.patch(f"/api/v1/items/{item_id}", {"title": "仍然有效的新标题", **body}, status=400)
        assert set(res.json["fields"]) == {field}, body
        if message:
            assert message in res.json["fields"][field]
    sup.patch(f"/api/v1/items/{item_id}", {}, status=400)
    assert snapshot(app, item_id) == before


def test_patch_is_403_where_the_state_forbids_editing(testapp, app, in_progress):
    before = snapshot(app, in_progress)
    res = api(testapp, "handler").patch(f"/api/v1/items/{in_progress}", {"title": "改个标题"}, status=403)
    assert res.json["error"] == "forbidden" and res.json["message"] == "当前状态下您不能修改此事项"
    advance(app, in_progress, ("request_closure", "handler"))
    res = api(testapp, "supervisor").patch(f"/api/v1/items/{in_progress}", {"title": "改个标题"}, status=403)
    assert res.json["error"] == "forbidden"
    after = snapshot(app, in_progress)
    assert after["item"] == before["item"]


def test_patching_units_moves_access(testapp, app, in_progress):
    sup = api(testapp, "supervisor")
    api(testapp, "handler2").get(f"/api/v1/items/{in_progress}")
    sup.patch(f"/api/v1/items/{in_progress}", {"assist_units": []})
    api(testapp, "handler2").get(f"/api/v1/items/{in_progress}", status=403)


def test_missing_item_is_404(testapp):
    res = api(testapp, "supervisor").get("/api/v1/items/zdgz-2026-9999", status=404)
    assert res.json == {"error": "not_found", "message": "事项不存在", "fields": {}}


# -- feedback, instructions ----------------------------------------------------------

def test_feedback_and_instruction(testapp, app, in_progress):
    handler = api(testapp, "handler")
    body = {"done": "完成 2 个小区", "progress": "第三个小区已开工", "next_steps": "月底完工"}
    fb = handler.post(f"/api/v1/items/{in_progress}/feedback", body, status=201).json
    assert fb["author"] == "handler" and fb["progress"] == "第三个小区已开工" and fb["sealed"] is False
    res = handler.post(f"/api/v1/items/{in_progress}/feedback", {"done": "", "extra": 1}, status=400)
    assert set(res.json["fields"]) == {"done", "progress", "extra"}
    handler.post(f"/api/v1/items/{in_progress}/instructions", {"text": "抓紧办理"}, status=403)

    leader = api(testapp, "leader")
    ins = leader.post(f"/api/v1/items/{in_progress}/instructions", {"text": "请加快进度"}, status=201).json
    assert ins["leader"] == "李副市长" and ins["text"] == "请加快进度"
    leader.post(f"/api/v1/items/{in_progress}/instructions", {"text": "x" * 5001}, status=400)

    item = api(testapp, "supervisor").get(f"/api/v1/items/{in_progress}").json
    assert [f["done"] for f in item["feedback"]] == ["完成 2 个小区"]
    assert [i["text"] for i in item["instructions"]] == ["请加快进度"]
    actions = [e["action"] for e in api(testapp, "auditor").get(f"/api/v1/items/{in_progress}/audit").json]
    assert "feedback" in actions and "instruction" in actions


# -- audit -------------------------------------------------------------------------

def test_every_auditor_look_is_recorded_and_audit_needs_permission(testapp, in_progress):
    auditor = api(testapp, "auditor")
    url = f"/api/v1/items/{in_progress}"
    auditor.get(url)
    auditor.get(url)
    api(testapp, "supervisor").get(url)  # only auditors' looks are logged
    trail = auditor.get(url + "/audit").json
    views = [e for e in trail if e["action"] == "view"]
    assert [(e["actor"], e["action_title"]) for e in views] == [("auditor", "查看")] * 2
    assert all(e["time"].endswith("+08:00") for e in trail)
    api(testapp, "handler").get(url + "/audit", status=403)
    api(testapp, "leader").get(url + "/audit", status=403)


def test_batch_create_is_all_or_nothing(testapp, app):
    sup = api(testapp, "supervisor")
    before = snapshot(app)
    batch = [NEW_ITEM, {**NEW_ITEM, "classification": "secret"}, {**NEW_ITEM, "title": ""}]
    res = sup.post("/api/v1/boards/zdgz/items", batch, status=400)
    assert set(res.json["fields"]) == {"1.classification", "2.title"}
    assert snapshot(app) == before
    res = sup.post("/api/v1/boards/zdgz/items", [NEW_ITEM, {**NEW_ITEM, "title": "第二件"}], status=201)
    assert [i["number"] for i in res.json["items"]] == [f"ZDGZ-{YEAR}-0001", f"ZDGZ-{YEAR}-0002"]
    assert sup.get(res.json["items"][1]["url"]).json["title"] == "第二件"
    sup.post("/api/v1/boards/zdgz/items", [], status=400)
    sup.post("/api/v1/boards/zdgz/items", [NEW_ITEM] * 501, status=400)


def test_anonymous_instruction_is_401(testapp, make_item):
    item_id = make_item()
    res = testapp.post_json(f"/api/v1/items/{item_id}/instructions", {"text": "x"},
                            headers={"Authorization": "Bearer bogus"}, status=401)
    assert res.json["error"] == "unauthorized"


def test_deeply_nested_json_and_a_non_string_item_are_400_not_500(testapp):
    from duban_archive.testing import api as api_client

    supervisor = api_client(testapp, "supervisor")
    nested = "[" * 100_000 + "]" * 100_000
    res = testapp.post("/api/v1/boards/zdgz/items", nested, headers={**supervisor.headers,
                       "Content-Type": "application/json"}, status=400)
    assert "嵌套" in res.json["message"]
    res = supervisor.post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "praise", "points": 1,
                                                          "item": {"$ne": ""}}, status=400)
    assert res.json["fields"]["item"] == "事项编号应为字符串"
