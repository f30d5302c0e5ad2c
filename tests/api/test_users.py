"""``/api/v1/users…`` and ``/api/v1/audit``: every administrator action by API, 三员分立 enforced,
refusals that change nothing."""

from __future__ import annotations

from duban_archive.testing import api


def _user(site, name):
    site._p_jar.sync()
    return site["users"][name]


def test_sysadmin_creates_edits_and_the_secadmin_grants(testapp, site):
    sys = api(testapp, "admin")
    res = sys.post("/api/v1/users", {"username": "wu", "title": "城管局 吴承办", "unit": "cgj",
                                     "phone": "13900001234", "password": "x"}, status=400)
    assert set(res.json["fields"]) == {"password"} and "密码至少 8 位" in res.json["fields"]["password"]
    res = sys.post("/api/v1/users", {"username": "wu", "title": "吴", "password": "a-long-pass1",
                                     "roles": ["handler"]}, status=403)
    assert "安全保密管理员" in res.json["message"]
    res = sys.post("/api/v1/users", {"username": "wu", "title": "城管局 吴承办", "unit": "cgj",
                                     "phone": "13900001234", "password": "a-long-pass1"}, status=201)
    assert res.json["roles"] == [] and res.json["unit_title"] == "市城管局" and res.json["must_change_password"]
    assert res.headers["Location"].endswith("/api/v1/users/wu")
    rev = res.json["revision"]
    res = sys.patch("/api/v1/users/wu", {"email": "wu@", "revision": rev}, status=400)
    assert res.json["fields"] == {"email": "邮箱地址格式不正确"}
    res = sys.patch("/api/v1/users/wu", {"email": "wu@cgj.example.cn", "revision": rev})
    assert res.json["email"] == "wu@cgj.example.cn" and res.json["title"] == "城管局 吴承办"
    sys.patch("/api/v1/users/wu", {"roles": ["sysadmin"]}, status=403)
    res = testapp.put_json("/api/v1/users/wu/roles", {"roles": ["handler"]}, headers=sys.headers, status=403)
    assert "安全保密管理员" in res.json["message"]

    sec = api(testapp, "secadmin")
    put = lambda body, status=200: testapp.put_json("/api/v1/users/wu/roles", body,  # noqa: E731
                                                    headers=sec.headers, status=status)
    res = put({"roles": ["secadmin", "sysadmin"]}, 400)
    assert res.json["error"] == "separation_of_duties" or "三员分立" in res.json["fields"]["roles"]
    put({"roles": ["king"]}, 400)
    res = put({"roles": ["handler", "unit_head"]})
    assert res.json["roles"] == ["handler", "unit_head"] and res.json["role_titles"] == ["承办人", "承办单位负责人"]
    assert _user(site, "wu").roles == ("handler", "unit_head")
    sec.post("/api/v1/users", {"username": "x", "title": "x", "password": "a-long-pass1"}, status=403)
    sec.patch("/api/v1/users/wu", {"title": "改名"}, status=403)
    sec.post("/api/v1/users/wu/deactivate", {}, status=403)
    sec.post("/api/v1/users/wu/password-reset", {}, status=403)
    assert _user(site, "wu").title == "城管局 吴承办" and _user(site, "wu").active


def test_secadmin_cannot_change_own_roles_nor_strip_the_last_administrator(testapp, site):
    sec = api(testapp, "secadmin")
    res = testapp.put_json("/api/v1/users/secadmin/roles", {"roles": ["secadmin", "supervisor"]},
                           headers=sec.headers, status=403)
    assert "不能修改自己的角色" in res.json["message"]
    res = testapp.put_json("/api/v1/users/admin/roles", {"roles": ["supervisor"]}, headers=sec.headers, status=409)
    assert res.json["error"] == "last_administrator" and "唯一在用的系统管理员" in res.json["message"]
    # a second sysadmin first, then the first one may lose the role
    testapp.put_json("/api/v1/users/leader/roles", {"roles": ["leader", "sysadmin"]}, headers=sec.headers)
    testapp.put_json("/api/v1/users/admin/roles", {"roles": []}, headers=sec.headers)
    assert _user(site, "admin").roles == () and _user(site, "leader").roles == ("leader", "sysadmin")


def test_reset_gives_a_one_time_password_and_ends_sessions_and_tokens(testapp, site):
    victim = api(testapp, "handler")
    sys = api(testapp, "admin")
    res = sys.post("/api/v1/users/handler/password-reset", {})
    temporary = res.json["temporary_password"]
    assert res.headers["Cache-Control"] == "no-store" and res.json["user"]["must_change_password"]
    victim.get("/api/v1/me", status=401)
    assert temporary not in str(list(site["audit"]))  # never stored in clear
    new = api(testapp, "handler", temporary)
    assert new.get("/api/v1/worklist", status=403).json["error"] == "password_change_required"
    # administrators' passwords are not reset by another administrator
    res = sys.post("/api/v1/users/secauditor/password-reset", {}, status=403)
    assert "三员分立" in res.json["message"]
    sys.post("/api/v1/users/admin/password-reset", {}, status=400)
    api(testapp, "secauditor").get("/api/v1/me")  # still logs in with its own password


def test_deactivated_token_refused_at_once_and_reactivation(testapp, site):
    victim = api(testapp, "handler2")
    sys = api(testapp, "admin")
    rev = sys.get("/api/v1/users/handler2").json["revision"]
    res = sys.post("/api/v1/users/handler2/deactivate", {"revision": rev})
    assert res.json["active"] is False
    victim.get("/api/v1/me", status=401)
    res = testapp.post_json("/api/v1/auth/token", {"username": "handler2", "password": "duban-demo"}, status=401)
    assert res.json["message"] == "用户名或密码错误"
    sys.post("/api/v1/users/handler2/deactivate", {}, status=409)
    sys.post("/api/v1/users/handler2/reactivate", {"revision": rev}, status=409)  # stale: nothing written
    assert not _user(site, "handler2").active
    sys.post("/api/v1/users/handler2/reactivate", {})
    api(testapp, "handler2").get("/api/v1/me")
    victim.get("/api/v1/me", status=401)  # the old token stays void


def test_lockout_guards(testapp, site):
    sys = api(testapp, "admin")
    assert "不能停用自己" in sys.post("/api/v1/users/admin/deactivate", {}, status=400).json["message"]
    for name, title in (("secadmin", "安全保密管理员"), ("secauditor", "安全审计员")):
        res = sys.post(f"/api/v1/users/{name}/deactivate", {}, status=409)
        assert res.json["error"] == "last_administrator" and title in res.json["message"]
    res = sys.post("/api/v1/users/handler/deactivate", {"why": "离职"}, status=400)
    assert res.json["fields"] == {"why": "不允许的字段（未知字段）"}
    sys.post("/api/v1/users/handler/deactivate", {"revision": "1"}, status=400)
    assert all(_user(site, n).active for n in ("admin", "secadmin", "secauditor", "handler"))


def test_stale_revision_is_a_409_and_keeps_the_other_edit(testapp, site):
    sys = api(testapp, "admin")
    sec = api(testapp, "secadmin")
    rev = sys.get("/api/v1/users/unit_head").json["revision"]
    testapp.put_json("/api/v1/users/unit_head/roles", {"roles": ["unit_head", "supervisor"], "revision": rev},
                     headers=sec.headers)
    res = sys.patch("/api/v1/users/unit_head", {"title": "张局", "revision": rev}, status=409)
    assert res.json["error"] == "stale"
    user = _user(site, "unit_head")
    assert user.title == "住建局 张局长" and user.roles == ("supervisor", "unit_head")
    sys.patch("/api/v1/users/unit_head", {"title": "张局"})  # without a revision: last one applies its field
    user = _user(site, "unit_head")
    assert user.title == "张局" and user.roles == ("supervisor", "unit_head")


def test_only_the_secauditor_reads_the_audit_log(testapp):
    sys = api(testapp, "admin")
    sys.patch("/api/v1/users/leader", {"phone": "13900000000"})
    res = sys.get("/api/v1/audit", status=403)
    assert "安全审计员" in res.json["message"]
    api(testapp, "secadmin").get("/api/v1/audit", status=403)
    api(testapp, "auditor").get("/api/v1/audit", status=403)  # the business auditor neither
    testapp.get("/api/v1/audit", status=401)
    aud = api(testapp, "secauditor")
    entries = aud.get("/api/v1/audit").json
    edit = next(e for e in entries if e["action"] == "user" and e.get("op") == "edit")
    assert edit["actor"] == "admin" and edit["text"] == "修改账号信息 leader：手机：（空） → 13900000000；途径：接口"
    assert all(e["actor"] in ("admin", "secadmin", "secauditor", "cli", "system:evolve") for e in entries)
    aud.get("/api/v1/audit?scope=nope", status=400)
    aud.get("/api/v1/audit?days=0", status=400)
    # reading is itself on the record
    again = aud.get("/api/v1/audit?action=audit_read").json
    assert again and again[0]["actor"] == "secauditor" and again[0]["action_title"] == "查阅审计日志"
    # the secauditor changes nothing
    aud.patch("/api/v1/users/leader", {"title": "x"}, status=403)
    testapp.put_json("/api/v1/users/leader/roles", {"roles": []}, headers=aud.headers, status=403)
    assert [u["username"] for u in aud.get("/api/v1/users").json]


def test_unknown_user_is_404_and_others_are_403(testapp):
    api(testapp, "admin").get("/api/v1/users/nobody", status=404)
    api(testapp, "supervisor").get("/api/v1/users", status=403)
    api(testapp, "handler").get("/api/v1/users/handler", status=403)


def test_an_account_without_roles_logs_in_and_sees_nothing_it_should_not(testapp, make_item):
    make_item(title="不该看到的事项")
    api(testapp, "admin").post("/api/v1/users", {"username": "newbie", "title": "新人", "password": "a-long-pass1",
                                                 "must_change_password": False}, status=201)
    newbie = api(testapp, "newbie", "a-long-pass1")
    assert newbie.get("/api/v1/me").json["roles"] == []
    assert newbie.get("/api/v1/items").json["items"] == []
    newbie.get("/api/v1/worklist")
    newbie.get("/api/v1/users", status=403)
    from duban_archive.testing import login

    page = login(testapp, "newbie", "a-long-pass1")
    assert page.status_int == 200 and "不该看到的事项" not in page.text
