"""系统管理: users and units (permission ``manage``).

An admin adds users (roles, unit, initial password) and units, and
deactivates users; deactivation ends their sessions and API tokens at once
(the security policy refuses inactive users).  An admin may reset another
user's password to a temporary one (``/@@reset-password?username=…``): that
revokes the user's sessions and tokens and forces a change at the next login
(``must_change_password``).  Every change is audit-logged.
"""

from __future__ import annotations

import re

import colander
import deform
from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.view import view_config

from ..audit.log import record
from ..content_types.site import Site
from ..security.passwords import POLICY_HINT, policy_problems, policy_validator, reset_password
from ..security.roles import ROLES
from ..security.units import UNIT_KINDS, Unit
from ..security.users import USERNAME_RE, User
from .forms import make_form, resources, validated
from .layout import translate

UNIT_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


@colander.deferred
def _unit_choices(node, kw):
    site = kw["site"]
    return [("", "—")] + [(u.__name__, u.title) for u in site["units"].values()]


@colander.deferred
def _new_username(node, kw):
    site = kw["site"]

    def check(node, value):
        if not USERNAME_RE.match(value):
            raise colander.Invalid(node, "用户名只能包含小写字母、数字、点、下划线和连字符，且以字母开头（2–40 位）")
        if value in site["users"]:
            raise colander.Invalid(node, f"用户名“{value}”已存在")
    return check


@colander.deferred
def _new_unit_id(node, kw):
    site = kw["site"]

    def check(node, value):
        if not UNIT_ID_RE.match(value):
            raise colander.Invalid(node, "单位标识只能用小写字母、数字和下划线，且以字母开头")
        if value in site["units"]:
            raise colander.Invalid(node, f"单位标识“{value}”已存在")
    return check


@colander.deferred
def _existing_unit(node, kw):
    site = kw["site"]

    def check(node, value):
        if value and value not in site["units"]:
            raise colander.Invalid(node, "单位不存在")
    return check


class UserSchema(colander.MappingSchema):
    username = colander.SchemaNode(colander.String(), title="用户名", validator=_new_username,
                                   description="小写字母开头，可含数字、点、下划线、连字符")
    title = colander.SchemaNode(colander.String(), title="姓名（显示名）",
                                validator=colander.Length(1, 50, max_err="不能超过 50 个字符"))
    roles = colander.SchemaNode(colander.Set(), title="角色",
                                widget=deform.widget.CheckboxChoiceWidget(values=list(ROLES.items())),
                                validator=colander.Length(min=1, min_err="至少选择一个角色"))
    unit = colander.SchemaNode(colander.String(), title="所属单位", missing="", validator=_existing_unit,
                               widget=deform.widget.SelectWidget(values=_unit_choices))
    password = colander.SchemaNode(colander.String(), title="初始密码",
                                   widget=deform.widget.CheckedPasswordWidget(),
                                   validator=colander.Length(min=8, min_err="密码至少 8 位"),
                                   description=POLICY_HINT)
    must_change_password = colander.SchemaNode(colander.Boolean(), title="首次登录须修改密码", default=True,
                                               missing=False)

    def validator(self, node, value):
        """The password policy (it needs the username, a sibling field)."""
        problems = policy_problems(value["password"], value["username"])
        if problems:
            exc = colander.Invalid(node)
            exc["password"] = "；".join(problems)
            raise exc


@colander.deferred
def _temporary_password_check(node, kw):
    return policy_validator(kw["username"])


class ResetPasswordSchema(colander.MappingSchema):
    password = colander.SchemaNode(colander.String(), title="临时密码", validator=_temporary_password_check,
                                   widget=deform.widget.CheckedPasswordWidget(),
                                   description="重置后该用户的所有登录会话和 API 令牌立即失效，下次登录时须修改密码。"
                                               + POLICY_HINT)


class UnitSchema(colander.MappingSchema):
    unit_id = colander.SchemaNode(colander.String(), title="单位标识", validator=_new_unit_id,
                                  description="小写字母开头，可含数字和下划线，如 zjj")
    title = colander.SchemaNode(colander.String(), title="单位名称",
                                validator=colander.Length(1, 100, max_err="不能超过 100 个字符"))
    parent = colander.SchemaNode(colander.String(), title="上级单位", missing="", validator=_existing_unit,
                                 widget=deform.widget.SelectWidget(values=_unit_choices))
    code = colander.SchemaNode(colander.String(), title="机构代码", missing="",
                               validator=colander.Regex(r"^[A-Z0-9]{1,10}$", msg="机构代码只能用大写字母和数字"))
    kind = colander.SchemaNode(colander.String(), title="类别",
                               widget=deform.widget.SelectWidget(values=list(UNIT_KINDS.items())),
                               validator=colander.OneOf(list(UNIT_KINDS)), default="department")


def _user_rows(request, site) -> list[dict]:
    return [{"username": u.username, "title": u.title, "active": u.active,
             "must_change": u.must_change_password,
             "roles": "、".join(translate(request, ROLES.get(r, r)) for r in u.roles),
             "unit": site["units"].title_of(u.unit)} for u in site["users"].values()]


@view_config(context=Site, name="users", renderer="templates/admin_users.pt", permission="manage")
def users_view(context, request):
    schema = UserSchema().bind(site=context, request=request)
    form = make_form(request, schema, button="添加用户", formid="add-user")
    page = {"page_title": translate(request, "用户管理"), "form_resources": resources(request, form),
            "me": request.identity.username}
    if request.method == "POST" and request.POST.get("action") == "deactivate":
        return _deactivate(context, request)
    if request.method == "POST":
        data, invalid = validated(form, request, {**page, "users": _user_rows(request, context)})
        if invalid is not None:
            return invalid
        user = User(data["username"], data["title"], tuple(sorted(data["roles"])), data["unit"] or None)
        user.set_password(data["password"])
        user.must_change_password = bool(data["must_change_password"])
        context["users"].add_user(user)
        record(context, "user", request.identity.username, f"user:{user.username}", op="add",
               roles=list(user.roles), unit=user.unit, must_change_password=user.must_change_password)
        request.session.flash(translate(request, "已添加用户：{name}", {"name": user.username}))
        return HTTPSeeOther(location="/@@users")
    return {**page, "form": form.render(), "users": _user_rows(request, context)}


def _deactivate(site, request):
    username = request.POST.get("username", "")
    user = site["users"].get(username)
    if user is None:
        request.session.flash(translate(request, "用户不存在"), "error")
    elif username == request.identity.username:
        request.session.flash(translate(request, "不能停用自己的账号"), "error")
    else:
        user.active = False
        record(site, "user", request.identity.username, f"user:{username}", op="deactivate")
        request.session.flash(translate(request, "已停用用户：{name}", {"name": username}))
    return HTTPSeeOther(location="/@@users")


@view_config(context=Site, name="reset-password", renderer="templates/form.pt", permission="manage",
             request_method=("GET", "POST"))
def reset_password_view(context, request):
    """Set a temporary password for another user; they must change it at their next login."""
    username = request.params.get("username", "")
    user = context["users"].get(username) if username else None
    if user is None:
        request.session.flash(translate(request, "用户不存在"), "error")
        return HTTPSeeOther(location="/@@users")
    if username == request.identity.username:
        return HTTPFound(location="/@@password")  # one's own password: the 修改密码 page
    schema = ResetPasswordSchema().bind(site=context, request=request, username=username)
    form = make_form(request, schema, button="重置密码", formid="reset-password",
                     action=f"/@@reset-password?username={username}")
    page = {"page_title": translate(request, "重置密码"), "form_resources": resources(request, form),
            "heading": translate(request, "重置密码"), "subheading": f"{user.title}（{username}）",
            "back": "/@@users"}
    if request.method == "POST":
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        reset_password(context, user, data["password"], request.identity.username)
        request.session.flash(translate(request, "已重置用户 {name} 的密码；该用户下次登录时须修改密码",
                                        {"name": username}))
        return HTTPSeeOther(location="/@@users")
    return {**page, "form": form.render()}


@view_config(context=Site, name="units", renderer="templates/admin_units.pt", permission="manage")
def units_view(context, request):
    schema = UnitSchema().bind(site=context, request=request)
    form = make_form(request, schema, button="添加单位", formid="add-unit")
    units = [{"id": u.__name__, "title": u.title, "code": u.code,
              "kind": translate(request, UNIT_KINDS.get(u.kind, u.kind)),
              "parent": context["units"].title_of(u.parent)} for u in context["units"].values()]
    page = {"page_title": translate(request, "单位管理"), "form_resources": resources(request, form),
            "units": units}
    if request.method == "POST":
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        unit = Unit(data["unit_id"], data["title"], data["parent"] or None, data["code"], data["kind"])
        context["units"].add_unit(unit)
        record(context, "user", request.identity.username, f"unit:{unit.unit_id}", op="add_unit",
               title=unit.title)
        request.session.flash(translate(request, "已添加单位：{name}", {"name": unit.title}))
        return HTTPSeeOther(location="/@@units")
    return {**page, "form": form.render()}


def includeme(config) -> None:
    config.add_nav("用户管理", "/@@users", "manage", order=90)
