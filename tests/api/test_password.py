"""``POST /api/v1/me/password``: change one's own password; resets force it first."""

from __future__ import annotations

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

URL = "/api/v1/me/password"
NEW = "Qiang-mima-2026"


def test_change_with_a_token_revokes_old_tokens_and_returns_a_new_one(app, testapp, site):
    old = api(testapp, "handler")
    other = api(testapp, "handler")
    res = old.post(URL, {"old_password": "duban-demo", "new_password": NEW})
    assert res.json["message"].startswith("密码已修改") and res.json["expires"].endswith("+08:00")
    old.get("/api/v1/me", status=401)
    other.get("/api/v1/me", status=401)
    testapp.get("/api/v1/me", headers={"Authorization": f"Bearer {res.json['token']}"}, status=200)
    testapp.post_json("/api/v1/auth/token", {"username": "handler", "password": "duban-demo"}, status=401)
    api(testapp, "handler", NEW).get("/api/v1/me")
    site._p_jar.sync()
    entry = [e for e in site["audit"].entries.values() if e["action"] == "user"][-1]
    assert (entry["op"], entry["actor"], entry["via"]) == ("change_password", "handler", "api")


def test_cookie_session_needs_csrf_and_stays_logged_in(testapp):
    login(testapp, "leader")
    body = {"old_password": "duban-demo", "new_password": NEW}
    assert testapp.post_json(URL, body, status=403).json["error"] == "csrf_failed"
    csrf = testapp.get("/api/v1/me").json["csrf_token"]
    res = testapp.post_json(URL, body, headers={"X-CSRF-Token": csrf})
    assert "token" not in res.json
    me = testapp.get("/api/v1/me", status=200).json  # this session was renewed
    assert me["csrf_token"] == res.json["csrf_token"] != csrf


def test_field_errors_in_chinese_and_nothing_changes(app, testapp):
    client = api(testapp, "handler")
    with open_site(app.registry) as site:
        db = site._p_jar.db()
        before = site["users"]["handler"].password_hash
    last = db.lastTransaction()
    res = client.post(URL, {"old_password": "duban-demo", "new_password": "abcdefgh", "extra": 1}, status=400)
    assert res.json["error"] == "invalid"
    assert res.json["fields"] == {"new_password": "密码须包含字母、数字、符号中的至少两类",
                                  "extra": "不允许的字段（未知字段）"}
    res = client.post(URL, {"old_password": "wrong-old", "new_password": "handler123"}, status=400)
    assert res.json["fields"] == {"old_password": "原密码不正确",
                                  "new_password": "密码不能与用户名相同，也不能包含用户名"}
    res = client.post(URL, {"old_password": "duban-demo", "new_password": "duban-demo"}, status=400)
    assert "不能使用演示密码" in res.json["fields"]["new_password"]
    res = client.post(URL, {}, status=400)
    assert set(res.json["fields"]) == {"old_password", "new_password"}
    assert db.lastTransaction() == last
    with open_site(app.registry) as site:
        assert site["users"]["handler"].password_hash == before
    client.get("/api/v1/me")  # the token still works
    testapp.post_json(URL, {"old_password": "duban-demo", "new_password": NEW}, status=401)  # anonymous


def test_wrong_old_passwords_are_throttled(testapp):
    client = api(testapp, "handler")
    for i in range(3):
        client.post(URL, {"old_password": f"guess-{i}", "new_password": NEW}, status=400)
    res = client.post(URL, {"old_password": "duban-demo", "new_password": NEW}, status=429)
    assert res.json["error"] == "too_many_requests" and res.headers["Retry-After"] == "2"


def test_after_an_admin_reset_only_the_change_is_open(app, testapp):
    from duban_archive.security.passwords import reset_password

    with open_site(app.registry) as site:
        reset_password(site, site["users"]["handler2"], "Linshi-mima-1", "admin")
        transaction.commit()
    res = testapp.post_json("/api/v1/auth/token", {"username": "handler2", "password": "Linshi-mima-1"})
    assert res.json["must_change_password"] is True
    client = api(testapp, "handler2", "Linshi-mima-1")
    assert client.get("/api/v1/me").json["must_change_password"] is True
    res = client.get("/api/v1/worklist", status=403)
    assert res.json["error"] == "password_change_required" and "修改密码" in res.json["message"]
    client.get("/api/v1/items", status=403)
    res = client.post(URL, {"old_password": "Linshi-mima-1", "new_password": NEW})
    fresh = testapp.get("/api/v1/me", headers={"Authorization": f"Bearer {res.json['token']}"}).json
    assert fresh["must_change_password"] is False
    testapp.get("/api/v1/worklist", headers={"Authorization": f"Bearer {res.json['token']}"}, status=200)


def test_documented_in_openapi(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/me/password"]["post"]
    assert set(op["requestBody"]["content"]["application/json"]["schema"]["required"]) == {
        "old_password", "new_password"}
    assert {"200", "400", "401", "429"} <= set(op["responses"])
