"""系统管理: users and units (permission ``manage``).

An admin adds users (roles, unit, initial password) and units, and
deactivates users; deactivation ends their sessions and API tokens at once
(the security policy refuses inactive users).  Every change is audit-logged.
"""

from __future__ import annotations

import re

import colander
import deform
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..audit.log import record
from ..content_types.site import Site
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
                                   validator=colander.Length(min=8, min_err="密码至少 8 位"))


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
        context["users"].add_user(user)
        record(context, "user", request.identity.username, f"user:{user.username}", op="add",
               roles=list(user.roles), unit=user.unit)
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
