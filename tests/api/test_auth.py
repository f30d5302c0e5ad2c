"""Auth and directory endpoints: tokens, throttling, /me, units, boards, CSRF on cookie calls."""

from __future__ import annotations

from duban_archive.testing import api, login


def test_token_then_me_shows_who_i_am(testapp):
    res = testapp.post_json("/api/v1/auth/token", {"username": "handler", "password": "duban-demo"})
    assert res.json["expires"].endswith("+08:00")
    me = testapp.get("/api/v1/me", headers={"Authorization": f"Bearer {res.json['token']}"}).json
    assert me["username"] == "handler" and me["roles"] == ["handler"] and me["unit"] == "zjj"
    assert me["unit_title"] == "市住建局"


def test_wrong_password_is_401_and_lockout_is_429(testapp):
    for _ in range(5):
        res = testapp.post_json("/api/v1/auth/token", {"username": "leader", "password": "wrong-one"}, status=401)
        assert res.json["error"] == "unauthorized" and res.json["message"] == "用户名或密码错误"
    # locked now: even the right password is refused until the lock expires
    res = testapp.post_json("/api/v1/auth/token", {"username": "leader", "password": "duban-demo"}, status=429)
    assert res.json["error"] == "too_many_requests" and "分钟后再试" in res.json["message"]
    assert int(res.headers["Retry-After"]) > 0
    # other accounts are not affected
    testapp.post_json("/api/v1/auth/token", {"username": "handler", "password": "duban-demo"}, status=200)


def test_token_body_is_validated_field_by_field(testapp):
    res = testapp.post_json("/api/v1/auth/token", {"username": 7, "otp": "1"}, status=400)
    assert set(res.json["fields"]) == {"username", "password", "otp"}
    res = testapp.post("/api/v1/auth/token", "{not json", content_type="application/json", status=400)
    assert res.json["fields"] == {"_": "请求体不是有效的 JSON"}


def test_no_token_or_forged_token_is_401(testapp):
    assert testapp.get("/api/v1/me", status=401).json["error"] == "unauthorized"
    good = api(testapp, "handler").headers["Authorization"]
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    testapp.get("/api/v1/me", headers={"Authorization": forged}, status=401)


def test_password_change_revokes_issued_tokens(app, testapp):
    import transaction

    from duban_archive.content_types.site_access import open_site

    client = api(testapp, "handler")
    client.get("/api/v1/me")
    with open_site(app.registry) as site:
        site["users"]["handler"].set_password("a-new-password")
        transaction.commit()
    client.get("/api/v1/me", status=401)


def test_units_and_boards(testapp):
    client = api(testapp, "handler2")
    units = {u["id"]: u for u in client.get("/api/v1/units").json}
    assert units["zjj"]["title"] == "市住建局" and units["jtj"]["title"] == "市交通运输局"
    assert set(units["zjj"]) >= {"id", "title", "parent"}
    boards = {b["id"]: b for b in client.get("/api/v1/boards").json}
    assert len(boards) == 9
    assert {k: boards["zdgz"][k] for k in ("title", "workflow", "item_type")} == {
        "title": "重点工作任务", "workflow": "duban", "item_type": "supervision_item"}
    assert boards["hotline"]["workflow"] == "hotline" and boards["hotline"]["item_type"] == "hotline_ticket"


def test_cookie_session_calls_need_the_csrf_header(testapp, app):
    from duban_archive.content_types.site_access import open_site

    login(testapp, "supervisor")
    body = {"title": "x", "source": "s", "content": "c", "requirement": "r", "lead_unit": "zjj"}
    res = testapp.post_json("/api/v1/boards/zdgz/items", body, status=403)
    assert res.json["error"] == "csrf_failed"
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0
    token = testapp.get("/api/v1/me").json["csrf_token"]  # a browser client reads it once
    res = testapp.post_json("/api/v1/boards/zdgz/items", body, headers={"X-CSRF-Token": token}, status=201)
    assert res.json["number"].startswith("ZDGZ-")
    # bearer clients carry no ambient authority and need no CSRF token
    api(testapp, "supervisor").post("/api/v1/boards/zdgz/items", body, status=201)
