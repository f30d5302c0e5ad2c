"""Administrators' acts on accounts read as one Chinese sentence each (the 安全审计员 reads these)."""

from __future__ import annotations

from duban_archive.audit.describe import describe


def _user(op, target="user:wu", **detail):
    return describe({"action": "user", "actor": "admin", "target": target, "op": op, **detail})


def test_user_administration_sentences():
    assert _user("edit", changes=(("title", "吴", "吴承办"), ("unit", "", "cgj")), via="ui") == (
        "修改账号信息 wu：姓名：吴 → 吴承办；所属单位：（空） → cgj；途径：网页")
    assert _user("roles", old=("handler",), new=("handler", "supervisor"), via="api") == (
        "授权 wu：承办人 → 承办人、督查室；途径：接口")
    assert _user("roles", old=("admin",), new=("sysadmin",)) == "授权 wu：原系统管理员（admin） → 系统管理员"
    assert _user("reset_password", via="api") == "重置密码 wu（临时密码，下次登录须修改）；途径：接口"
    assert _user("deactivate") == "停用账号 wu（登录会话和令牌随即失效）"
    assert _user("reactivate") == "启用账号 wu"
    assert _user("add", title="吴", unit="cgj", must_change_password=True) == (
        "新建账号 wu（吴）；单位：cgj；须修改密码：是")
    assert _user("password_policy", target="site:password_policy",
                 old=(("classes", 2), ("min_length", 8)), new=(("classes", 3), ("min_length", 12))) == (
        "修改密码策略：最短 8 位、至少 2 类字符 → 最短 12 位、至少 3 类字符")
    assert describe({"action": "audit_read", "actor": "secauditor", "via": "ui", "count": 3, "scope": "admins"}) == (
        "途径：网页；数量：3；范围：三员与命令行的操作")
