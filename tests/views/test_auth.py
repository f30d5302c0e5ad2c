"""Login, logout, throttling, CSRF and the 403/404 pages."""

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


def test_login_throttled_after_five_failures(testapp):
    for _ in range(5):
        form = testapp.get("/login").forms["login-form"]
        form["username"], form["password"] = "handler", "nope-nope"
        form.submit()
    form = testapp.get("/login").forms["login-form"]
    form["username"], form["password"] = "handler", "duban-demo"  # right password, still locked
    res = form.submit()
    assert "登录失败次数过多" in res.text
    testapp.get("/", status=303)


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
