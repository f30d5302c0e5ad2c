"""用户管理 in the browser, by each of the three administrators (三员分立)."""

from __future__ import annotations

from duban_archive.testing import api, login


def _switch_form(page, username):
    return page.forms[f"switch-{username}"]


def test_sysadmin_adds_an_account_without_roles_and_the_secadmin_grants_them(testapp, site):
    page = login(testapp, "admin")
    assert 'href="/@@users"' in page.text and 'href="/@@audit-log"' not in page.text
    form = testapp.get("/@@users").forms["add-user"]
    assert "roles" not in form.fields  # granting is not the system administrator's
    form["username"] = "Bad Name"
    form["title"] = "城管局 吴承办"
    form["phone"] = "call me"
    form["password"] = "short"
    form["password-confirm"] = "short"
    res = form.submit(status=400)
    assert "用户名只能包含小写字母" in res.text and "密码至少 8 位" in res.text and "手机号码格式不正确" in res.text
    form = res.forms["add-user"]
    assert form["title"].value == "城管局 吴承办"  # typed input kept
    form["username"] = "handler3"
    form["unit"] = "cgj"
    form["phone"] = "139 0000 1234"
    form["email"] = "wu@example.cn"
    form["password"] = form["password-confirm"] = "a-long-password1"
    page = form.submit(status=303).follow()
    assert "已添加用户：handler3" in page.text and "未授权" in page.text
    site._p_jar.sync()
    user = site["users"]["handler3"]
    assert user.roles == () and user.unit == "cgj" and user.phone == "139 0000 1234" and user.must_change_password
    assert 'id="roles-handler3"' not in page.text  # no 授权 button for the sysadmin

    testapp.reset()
    page = login(testapp, "secadmin").click(href="/@@users")
    assert "add-user" not in page.forms and 'id="edit-handler3"' not in page.text
    form = testapp.get("/@@user-roles?username=handler3").forms["user-roles"]
    for box in form.fields["checkbox"]:
        box.checked = box._value in ("sysadmin", "secauditor")
    res = form.submit(status=400)
    assert "三员分立：同一账号不能兼任系统管理员、安全审计员" in res.text
    form = res.forms["user-roles"]
    for box in form.fields["checkbox"]:
        box.checked = box._value == "handler"
    page = form.submit(status=303).follow()
    assert "已更新用户 handler3 的角色：承办人" in page.text
    site._p_jar.sync()
    assert site["users"]["handler3"].roles == ("handler",)


def test_sysadmin_edits_a_user_and_a_stale_form_changes_nothing(testapp, site):
    login(testapp, "admin")
    form = testapp.get("/@@user-edit?username=handler").forms["edit-user"]
    assert form["title"].value == "住建局 刘承办"
    stale = testapp.get("/@@user-edit?username=handler").forms["edit-user"]
    form["title"] = "住建局 刘小承"
    form["email"] = "not an address"
    res = form.submit(status=400)
    assert "邮箱地址格式不正确" in res.text
    form = res.forms["edit-user"]
    assert form["title"].value == "住建局 刘小承"
    form["email"] = "liu@zjj.example.cn"
    page = form.submit(status=303).follow()
    assert "已保存用户 handler 的信息" in page.text and "住建局 刘小承" in page.text

    stale["phone"] = "13800000000"  # the form was read before the change above
    res = stale.submit(status=409)
    assert "该用户刚被其他管理员修改" in res.text
    assert res.forms["edit-user"]["phone"].value == "13800000000"  # what they typed is kept
    site._p_jar.sync()
    user = site["users"]["handler"]
    assert (user.title, user.email, user.phone) == ("住建局 刘小承", "liu@zjj.example.cn", "")


def test_deactivate_ends_sessions_and_tokens_and_reactivate_restores_the_login(app, testapp, site):
    from webtest import TestApp

    victim = TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "127.0.0.2"})
    login(victim, "handler2")
    token = api(victim, "handler2")
    victim.get("/", status=200)

    page = login(testapp, "admin").click(href="/@@users")
    page = _switch_form(page, "handler2").submit(status=303).follow()
    assert "已停用用户：handler2" in page.text
    victim.get("/", status=303)  # the open session ends at once
    token.get("/api/v1/me", status=401)  # and so does the token
    victim.reset()
    form = victim.get("/login").forms["login-form"]
    form["username"], form["password"] = "handler2", "duban-demo"
    assert "用户名或密码错误" in form.submit().text
    site._p_jar.sync()
    assert "handler2" in site["users"] and not site["users"]["handler2"].active  # kept for history

    page = _switch_form(testapp.get("/@@users"), "handler2").submit(status=303).follow()
    assert "已启用用户：handler2" in page.text
    assert login(victim, "handler2").request.path == "/"
    token.get("/api/v1/me", status=401)  # tokens issued before stay void


def test_nobody_deactivates_themselves_or_the_last_administrator(testapp, site):
    page = login(testapp, "admin").click(href="/@@users")
    assert "switch-admin" not in page.forms  # no button for oneself
    res = testapp.post("/@@users", {"action": "deactivate", "username": "admin",
                                    "csrf_token": page.forms["switch-handler"]["csrf_token"].value}, status=303)
    assert "不能停用自己的账号" in res.follow().text
    page = _switch_form(testapp.get("/@@users"), "secauditor").submit(status=303).follow()
    assert "未能停用：secauditor 是唯一在用的安全审计员" in page.text
    site._p_jar.sync()
    assert site["users"]["admin"].active and site["users"]["secauditor"].active


def test_audit_log_is_the_secauditors_and_shows_the_administrators_in_chinese(testapp, site):
    login(testapp, "admin")
    form = testapp.get("/@@user-edit?username=leader").forms["edit-user"]
    form["title"] = "李市长"
    form.submit(status=303)
    testapp.get("/@@audit-log", status=403)  # the sysadmin cannot read the log of its own acts
    testapp.reset()
    login(testapp, "secadmin")
    testapp.get("/@@audit-log", status=403)
    testapp.get("/@@user-edit?username=leader", status=403)  # nor edit accounts
    testapp.reset()
    page = login(testapp, "secauditor")
    assert 'href="/@@audit-log"' in page.text
    page = testapp.get("/@@audit-log")
    text = page.html.find(id="audit-log").text
    assert "修改账号信息 leader：姓名：李副市长 → 李市长" in text and "=" not in text
    testapp.get("/@@users", status=200)  # read-only: the list, without any button
    assert "add-user" not in testapp.get("/@@users").forms
    testapp.get("/@@user-roles?username=leader", status=403)
    testapp.get("/@@reset-password?username=leader", status=403)
    testapp.get("/@@units", status=403)
    page = testapp.get("/@@users")
    token = next(f["csrf_token"].value for f in page.forms.values() if "csrf_token" in f.fields)
    testapp.post("/@@users", {"action": "deactivate", "username": "leader", "csrf_token": token}, status=403)
    site._p_jar.sync()
    assert site["users"]["leader"].active and site["users"]["leader"].title == "李市长"


def test_forms_need_csrf(testapp, site):
    login(testapp, "admin")
    testapp.post("/@@user-edit?username=handler", {"title": "x"}, status=400)
    testapp.post("/@@users", {"action": "deactivate", "username": "handler"}, status=400)
    site._p_jar.sync()
    assert site["users"]["handler"].active and site["users"]["handler"].title == "住建局 刘承办"


def test_admin_adds_unit_and_others_are_refused(testapp, site):
    login(testapp, "admin")
    form = testapp.get("/@@units").forms["add-unit"]
    form["unit_id"] = "zjj"
    form["title"] = "重复"
    res = form.submit(status=400)
    assert "已存在" in res.text
    form = res.forms["add-unit"]
    form["unit_id"] = "sjj"
    form["title"] = "市水利局"
    form["code"] = "SLJ"
    assert "市水利局" in form.submit(status=303).follow().text
    site._p_jar.sync()
    assert site["units"]["sjj"].code == "SLJ"
    testapp.reset()
    login(testapp, "supervisor")
    testapp.get("/@@users", status=403)
    testapp.get("/@@units", status=403)
