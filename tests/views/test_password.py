"""修改密码 (``/@@password``) and the admin's password reset (``/@@reset-password``)."""

from __future__ import annotations

from webtest import TestApp

from duban_archive.testing import api, login

NEW = "Qiang-mima-2026"


def other_browser(app) -> TestApp:
    return TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "10.0.0.8"})


def fill(form, old, new, repeat=None):
    form["old_password"] = old
    form["new_password"] = new
    form["new_password_repeat"] = new if repeat is None else repeat
    return form


def test_change_password_from_the_nav_revokes_other_sessions_and_tokens(app, testapp, site):
    elsewhere = other_browser(app)
    login(elsewhere, "handler")
    client = api(testapp, "handler")
    page = login(testapp, "handler")
    assert 'href="/@@password"' in page.text  # in the nav bar for every logged-in user
    form = fill(testapp.get("/@@password").forms["password-form"], "duban-demo", NEW)
    page = form.submit(status=303).follow()
    assert "密码已修改" in page.text
    testapp.get("/", status=200)  # this browser stays logged in
    elsewhere.get("/", status=303)  # the other device is logged out
    client.get("/api/v1/me", status=401)  # the old token is revoked
    site._p_jar.sync()
    user = site["users"]["handler"]
    assert user.check_password(NEW) and not user.check_password("duban-demo")
    entry = [e for e in site["audit"].entries.values() if e["action"] == "user"][-1]
    assert entry["op"] == "change_password" and entry["target"] == "user:handler"
    testapp.reset()
    login(testapp, "handler", NEW)
    testapp.get("/", status=200)


def test_policy_violations_are_chinese_field_errors_and_change_nothing(testapp, site, app):
    login(testapp, "handler")
    before = site["users"]["handler"].password_hash
    db = site._p_jar.db()
    last = db.lastTransaction()
    cases = [
        (("wrong-old-1", NEW, None), "原密码不正确"),
        (("duban-demo", "short1", None), "密码至少 8 位"),
        (("duban-demo", "onlyletters", None), "密码须包含字母、数字、符号中的至少两类"),
        (("duban-demo", "handler-2026", None), "不能包含用户名"),
        (("duban-demo", NEW, NEW + "x"), "两次输入的新密码不一致"),
        (("duban-demo", "duban-demo", None), "不能使用演示密码"),
        (("", "", ""), "请填写"),
    ]
    for (old, new, repeat), message in cases:
        form = fill(testapp.get("/@@password").forms["password-form"], old, new, repeat)
        res = form.submit(status=400)
        assert message in res.text, message
        assert "Required" not in res.text
    assert db.lastTransaction() == last  # nothing written
    site._p_jar.sync()
    assert site["users"]["handler"].password_hash == before
    testapp.get("/", status=200)  # still logged in


def test_guessing_the_old_password_is_throttled(testapp):
    login(testapp, "handler")
    for i in range(3):
        fill(testapp.get("/@@password").forms["password-form"], f"guess-{i}-x", NEW).submit(status=400)
    res = fill(testapp.get("/@@password").forms["password-form"], "duban-demo", NEW).submit(status=429)
    assert "登录尝试过于频繁" in res.text and res.headers["Retry-After"] == "2"


def test_password_page_needs_a_login(testapp):
    assert "/login?came_from=/%40%40password" in testapp.get("/@@password", status=303).location


def test_admin_reset_forces_a_change_at_next_login(app, testapp, site):
    victim = other_browser(app)
    login(victim, "handler")
    token = api(victim, "handler")
    admin = login(testapp, "admin")
    page = testapp.get("/@@users")
    assert 'href="/@@reset-password?username=handler"' in page.text
    page = testapp.get("/@@reset-password?username=handler").forms["reset-password"].submit(status=200)
    temporary = page.html.find(id="temporary-password").text.strip()  # shown once, to the admin
    assert "已重置密码" in page.text and page.headers["Cache-Control"] == "no-store"
    assert temporary not in testapp.get("/@@users").text
    victim.get("/", status=303)  # sessions and tokens of the user end at once
    token.get("/api/v1/me", status=401)
    site._p_jar.sync()
    assert site["users"]["handler"].must_change_password
    assert admin.status_int == 200

    victim.reset()
    res = login(victim, "handler", temporary)  # lands on 修改密码
    assert res.request.path == "/@@password" and "管理员已重置您的密码" in res.text
    assert victim.get("/boards/zdgz", status=303).location.endswith("/@@password")
    victim.get("/api/v1/me", status=200)
    res = victim.get("/api/v1/worklist", status=403)
    assert res.json["error"] == "password_change_required"
    victim.get("/static/duban.css", status=200)
    form = fill(victim.get("/@@password").forms["password-form"], temporary, NEW)
    form.submit(status=303)
    victim.get("/boards/zdgz", status=200)
    site._p_jar.sync()
    assert not site["users"]["handler"].must_change_password


def test_admin_cannot_reset_via_others_and_own_goes_to_password_page(testapp):
    login(testapp, "admin")
    assert testapp.get("/@@reset-password?username=admin", status=302).location.endswith("/@@password")
    assert "用户不存在" in testapp.get("/@@reset-password?username=nobody", status=303).follow().text
    testapp.reset()
    login(testapp, "supervisor")
    testapp.get("/@@reset-password?username=handler", status=403)
