"""系统管理: users and units, for admins only."""

from __future__ import annotations

from duban_archive.testing import login


def test_admin_adds_and_deactivates_a_user(testapp, site):
    page = login(testapp, "admin")
    assert 'href="/@@users"' in page.text  # nav entry for holders of "manage"
    form = testapp.get("/@@users").forms["add-user"]
    form["username"] = "Bad Name"
    form["password"] = "short"
    form["password-confirm"] = "short"
    res = form.submit(status=400)
    assert "用户名只能包含小写字母" in res.text and "密码至少 8 位" in res.text and "至少选择一个角色" in res.text
    form = res.forms["add-user"]
    form["username"] = "handler3"
    form["title"] = "城管局 吴承办"
    form.get("checkbox", index=3).checked = True  # 承办人 (handler)
    form["unit"] = "cgj"
    form["password"] = form["password-confirm"] = "a-long-password"
    page = form.submit(status=303).follow()
    assert "已添加用户：handler3" in page.text and "城管局 吴承办" in page.text
    site._p_jar.sync()
    user = site["users"]["handler3"]
    assert user.roles == ("handler",) and user.unit == "cgj" and user.check_password("a-long-password")

    deactivate = [f for f in page.forms.values() if f.fields.get("username") and f["username"].value == "handler3"]
    page = deactivate[0].submit(status=303).follow()
    assert "已停用用户：handler3" in page.text
    testapp.reset()
    form = testapp.get("/login").forms["login-form"]
    form["username"], form["password"] = "handler3", "a-long-password"
    assert "用户名或密码错误" in form.submit().text


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
