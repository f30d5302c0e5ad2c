"""安全设置: the 安全保密管理员 tightens the password policy; every password set afterwards meets it."""

from __future__ import annotations

from duban_archive.testing import api, login


def test_secadmin_tightens_the_policy_and_new_passwords_follow_it(testapp, site):
    sec = api(testapp, "secadmin")
    assert sec.get("/api/v1/security/password-policy").json == {"min_length": 8, "classes": 2}
    for who in ("admin", "secauditor", "supervisor"):
        res = testapp.put_json("/api/v1/security/password-policy", {"min_length": 12, "classes": 3},
                               headers=api(testapp, who).headers, status=403)
        assert res.json["error"] == "forbidden"
    res = testapp.put_json("/api/v1/security/password-policy", {"min_length": 4, "classes": 5},
                           headers=sec.headers, status=400)
    assert set(res.json["fields"]) == {"min_length", "classes"}
    res = testapp.put_json("/api/v1/security/password-policy", {"min_length": 12, "classes": 3},
                           headers=sec.headers)
    assert res.json == {"min_length": 12, "classes": 3}

    sys = api(testapp, "admin")
    res = sys.post("/api/v1/users", {"username": "wu", "title": "吴", "password": "abcdefgh1"}, status=400)
    assert "密码至少 12 位" in res.json["fields"]["password"] and "三类" in res.json["fields"]["password"]
    sys.post("/api/v1/users", {"username": "wu", "title": "吴", "password": "abc-def-ghi-1"}, status=201)
    temporary = sys.post("/api/v1/users/handler/password-reset", {}).json["temporary_password"]
    assert len(temporary) >= 12
    handler = api(testapp, "handler", temporary)
    res = handler.post("/api/v1/me/password", {"old_password": temporary, "new_password": "shorter-1"},
                       status=400)
    assert "密码至少 12 位" in res.json["fields"]["new_password"]
    handler.post("/api/v1/me/password", {"old_password": temporary, "new_password": "a-much-longer-1"})

    entries = api(testapp, "secauditor").get("/api/v1/audit?action=user").json
    change = next(e for e in entries if e.get("op") == "password_policy")
    assert change["actor"] == "secadmin"
    assert change["text"].startswith("修改密码策略：最短 8 位、至少 2 类字符 → 最短 12 位、至少 3 类字符")


def test_security_settings_page(testapp, site):
    login(testapp, "admin")
    testapp.get("/@@security-settings", status=403)
    testapp.reset()
    page = login(testapp, "secadmin")
    assert 'href="/@@security-settings"' in page.text
    form = testapp.get("/@@security-settings").forms["password-policy"]
    assert form["min_length"].value == "8"
    form["min_length"] = "100"
    res = form.submit(status=400)
    assert "不能超过 64 位" in res.text and res.forms["password-policy"]["min_length"].value == "100"
    site._p_jar.sync()
    assert "password_policy" not in site.settings  # refused: nothing stored
    form = res.forms["password-policy"]
    form["min_length"] = "10"
    assert "已保存密码策略" in form.submit(status=303).follow().text
    site._p_jar.sync()
    assert site.settings["password_policy"] == {"min_length": 10, "classes": 2}
