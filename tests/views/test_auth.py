"""Login, logout (server-side), throttling, failed-login audit, CSRF and the 403/404 pages."""

from __future__ import annotations

from duban_archive.testing import login


def test_anonymous_is_sent_to_login_and_back(testapp):
    res = testapp.get("/boards/zdgz?page=2", status=303)
    assert res.location.endswith("/login?came_from=/boards/zdgz%3Fpage%3D2")
    form = res.follow().forms["login-form"]
    form["username"] = "supervisor"
    form["password"] = "duban-demo"
    res = form.submit(status=303)
    assert res.location.endswith("/boards/zdgz?page=2")
    page = res.follow()
    assert "督查室 王督查" in page.text
    assert "重点工作任务" in page.text


def test_login_refuses_bad_password_in_chinese_and_keeps_username(testapp):
    form = testapp.get("/login").forms["login-form"]
    form["username"] = "handler"
    form["password"] = "wrong-password"
    res = form.submit()
    assert "用户名或密码错误" in res.text
    assert res.forms["login-form"]["username"].value == "handler"
    testapp.get("/", status=303)  # still logged out


def _submit_login(testapp, username, password, status=None, client="127.0.0.1"):
    form = testapp.get("/login").forms["login-form"]
    form["username"], form["password"] = username, password
    return form.submit(status=status, extra_environ={"REMOTE_ADDR": client})


def test_login_is_delayed_progressively_never_locked(testapp, fake_clock):
    for _ in range(3):  # three free failures
        assert "用户名或密码错误" in _submit_login(testapp, "handler", "nope-nope").text
    res = _submit_login(testapp, "handler", "duban-demo", status=429)  # right password, but too soon
    assert "登录尝试过于频繁" in res.text and "2 秒后再试" in res.text
    assert res.headers["Retry-After"] == "2"
    testapp.get("/", status=303)  # not logged in
    fake_clock.advance(2)
    res = _submit_login(testapp, "handler", "duban-demo", status=303)  # after the short wait: in
    testapp.get("/", status=200)


def test_failed_form_login_is_audit_logged_with_username_and_client(testapp, site):
    _submit_login(testapp, "handler", "wrong-password", client="10.1.2.3")
    _submit_login(testapp, "no-such-user", "wrong-password", client="10.1.2.4")
    site._p_jar.sync()
    failed = [e for e in site["audit"].entries.values() if e["action"] == "login_failed"]
    assert [(e["actor"], e["client"], e["via"]) for e in failed] == [
        ("handler", "10.1.2.3", "form"), ("no-such-user", "10.1.2.4", "form")]


def test_session_cookie_replayed_after_logout_is_anonymous(app, testapp):
    from webtest import TestApp

    other = TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "10.0.0.9"})
    login(other, "handler")  # the same user on another device
    page = login(testapp, "handler")
    cookie = testapp.cookies["duban_session"]
    page.forms["logout-form"].submit(status=303)
    testapp.set_cookie("duban_session", cookie)  # an attacker replays the old cookie
    assert testapp.get("/", status=303).location.endswith("/login?came_from=/")
    assert testapp.get("/api/v1/me", status=401).json["error"] == "unauthorized"
    other.get("/", status=200)  # the other device is still logged in


def test_offsite_came_from_is_ignored(testapp):
    form = testapp.get("/login?came_from=//evil.example/x").forms["login-form"]
    form["username"], form["password"] = "supervisor", "duban-demo"
    res = form.submit(status=303)
    assert res.location == "http://127.0.0.1:6543/"


def test_logout_needs_post_with_token(testapp):
    page = login(testapp, "handler")
    testapp.post("/logout", {}, status=400)  # no token: refused, still logged in
    testapp.get("/", status=200)
    res = page.forms["logout-form"].submit(status=303)
    assert res.location.endswith("/login")
    assert "您已退出登录" in res.follow().text
    testapp.get("/", status=303)


def test_post_without_csrf_token_changes_nothing(testapp, site):
    login(testapp, "supervisor")
    form = testapp.get("/boards/zdgz/@@add").forms["add-item"]
    form["title"] = "无令牌的立项"
    form["csrf_token"] = "forged"
    res = form.submit(status=400)
    assert "CSRF" in res.text and "未做任何更改" in res.text
    site._p_jar.sync()
    assert len(site.boards["zdgz"]) == 0


def test_forbidden_page_for_logged_in_user_and_404(testapp):
    login(testapp, "handler")
    res = testapp.get("/boards/zdgz/@@add", status=403)
    assert "无权访问" in res.text
    res = testapp.get("/boards/no-such-board", status=404)
    assert "页面不存在" in res.text


def test_api_errors_are_not_rendered_as_html(testapp):
    res = testapp.get("/api/v1/no-such-thing", status=404, expect_errors=True)
    assert "页面不存在" not in res.text
