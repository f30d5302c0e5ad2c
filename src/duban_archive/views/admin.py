"""用户管理、单位管理、审计日志 — the three administrators' pages (三员分立, ``security/acl.py``).

* 系统管理员 (``manage``): add accounts (no role), edit 姓名/单位/手机/邮箱 (``@@user-edit``),
  reset a password to a one-time temporary one shown once (``@@reset-password``), deactivate /
  reactivate (``POST @@users`` with ``action``), add units (``@@units``).
* 安全保密管理员 (``grant_roles``): grant and revoke roles (``@@user-roles``).
* 安全审计员 (``read_audit_log``): the site-wide audit log (``@@audit-log``), administrators'
  actions first; each of their reads is itself logged.

All three see the user list (``list_users``), each with the buttons of their part.  The rules
that depend on the accounts (lock-out, separation, stale edits) are in ``security/accounts.py``;
these views parse the request, call it and show its refusals where the admin acted.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import colander
import deform
from pyramid.httpexceptions import HTTPFound, HTTPSeeOther
from pyramid.view import view_config

from ..audit.describe import describe
from ..audit.log import ACTIONS, record
from ..content_types.site import Site
from ..errors import Refusal
from ..security import accounts
from ..security.roles import ADMIN_ROLES, ROLES
from ..security.units import UNIT_KINDS, Unit
from ..timeutil import display, now, today
from .errors import flash_refusal
from .forms import make_form, resources, validated
from .layout import translate
from .timeline import sentence_translator

UNIT_ID_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")


@colander.deferred
def _unit_choices(node, kw):
    site = kw["site"]
    return [("", "—")] + [(u.__name__, u.title) for u in site["units"].values()]


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


def _with_widgets(schema: colander.SchemaNode, revision: bool = False) -> colander.SchemaNode:
    """The domain schema with the widgets of a form (unit select, password twice, role boxes)."""
    schema = schema.clone()
    for node in schema.children:
        if node.name == "unit":
            node.widget = deform.widget.SelectWidget(values=_unit_choices)
        elif node.name == "password":
            node.widget = deform.widget.CheckedPasswordWidget()
        elif node.name == "roles":
            node.widget = deform.widget.CheckboxChoiceWidget(values=list(ROLES.items()))
        elif node.name == "phone":
            node.widget = deform.widget.TextInputWidget(attributes={"inputmode": "tel", "autocomplete": "off"})
        elif node.name == "email":
            node.widget = deform.widget.TextInputWidget(attributes={"type": "email", "autocomplete": "off"})
    if revision:  # the version the admin saw: a change made meanwhile by another is not overwritten
        schema.add(colander.SchemaNode(colander.Integer(), name="revision", widget=deform.widget.HiddenWidget(),
                                       missing=None))
    return schema


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


def _role_titles(request, roles) -> str:
    return "、".join(translate(request, ROLES.get(r, r)) for r in roles) or translate(request, "未授权")


def _user_rows(request, site) -> list[dict]:
    return [{"username": u.username, "title": u.title, "active": u.active, "revision": u.revision,
             "must_change": u.must_change_password, "roles": _role_titles(request, u.roles),
             "admin_role": any(r in ADMIN_ROLES for r in u.roles),
             "phone": getattr(u, "phone", ""), "email": getattr(u, "email", ""),
             "unit": site["units"].title_of(u.unit)} for u in site["users"].values()]


def _user_or_back(site, request):
    username = request.params.get("username", "")
    user = site["users"].get(username) if username else None
    if user is None:
        request.session.flash(translate(request, "用户不存在"), "error")
    return user


def _refused_form(request, form: deform.Form, page: dict[str, Any], exc: Refusal, data: dict[str, Any]) -> dict:
    """Show a refusal on the form: the message on top, field messages under their inputs, input kept."""
    request.tm.doom()
    request.response.status_int = exc.status
    error = colander.Invalid(form.schema, translate(request, exc.message))
    names = {c.name for c in form.schema.children}
    for name, msg in (exc.fields or {}).items():
        if name in names:
            error[name] = translate(request, msg)
    cstruct = form.schema.serialize({k: v for k, v in data.items() if k in names})
    form.widget.handle_error(form, error)
    return {**page, "form": form.render(cstruct), "form_error": translate(request, exc.message)}


@view_config(context=Site, name="users", renderer="templates/admin_users.pt", permission="list_users")
def users_view(context, request):
    can_manage = request.has_permission("manage", context)
    page = {"page_title": translate(request, "用户管理"), "me": request.identity.username,
            "can_manage": bool(can_manage), "can_grant": bool(request.has_permission("grant_roles", context)),
            "can_audit": bool(request.has_permission("read_audit_log", context)), "form": None,
            "can_secure": bool(request.has_permission("security_settings", context)),
            "form_resources": {"js": [], "css": []}}
    if request.method == "POST" and request.POST.get("action") in ("deactivate", "reactivate"):
        if not can_manage:
            raise _forbidden(request)
        return _switch(context, request, request.POST["action"])
    form = None
    if can_manage:
        schema = _with_widgets(accounts.NewAccountSchema()).bind(site=context, request=request)
        form = make_form(request, schema, button="添加用户", formid="add-user")
        page["form_resources"] = resources(request, form)
    if request.method == "POST":
        if form is None:
            raise _forbidden(request)
        data, invalid = validated(form, request, {**page, "users": _user_rows(request, context)})
        if invalid is not None:
            return invalid
        user = accounts.create_account(context, data, request.identity.username, via="ui")
        request.session.flash(translate(request, "已添加用户：{name}。请安全保密管理员为其授予角色",
                                        {"name": user.username}))
        return HTTPSeeOther(location="/@@users")
    return {**page, "form": form.render() if form is not None else None, "users": _user_rows(request, context)}


def _forbidden(request):
    from pyramid.httpexceptions import HTTPForbidden

    return HTTPForbidden(translate(request, "三员分立：此操作只能由系统管理员进行"))


def _switch(site, request, action: str):
    """停用 / 启用 from the list; a refusal is flashed on the list, nothing changed."""
    user = _user_or_back(site, request)
    if user is None:
        return HTTPSeeOther(location="/@@users")
    revision = request.POST.get("revision", "")
    operation = accounts.deactivate if action == "deactivate" else accounts.reactivate
    try:
        operation(site, user, request.identity.username, via="ui",
                  revision=int(revision) if revision.isdigit() else None)
    except Refusal as exc:
        flash_refusal(request, exc, "未能停用：{message}" if action == "deactivate" else "未能启用：{message}")
        return HTTPSeeOther(location="/@@users")
    done = "已停用用户：{name}，其登录会话和 API 令牌已全部失效" if action == "deactivate" else "已启用用户：{name}"
    request.session.flash(translate(request, done, {"name": user.username}))
    return HTTPSeeOther(location="/@@users")


@view_config(context=Site, name="user-edit", renderer="templates/form.pt", permission="manage",
             request_method=("GET", "POST"))
def edit_user_view(context, request):
    """系统管理员 edits 姓名、单位、手机、邮箱 of an account."""
    user = _user_or_back(context, request)
    if user is None:
        return HTTPSeeOther(location="/@@users")
    schema = _with_widgets(accounts.AccountSchema(), revision=True).bind(site=context, request=request)
    form = make_form(request, schema, button="保存", formid="edit-user",
                     action=request.resource_path(context, "@@user-edit", query={"username": user.username}))
    page = {"page_title": translate(request, "编辑用户"), "form_resources": resources(request, form),
            "heading": translate(request, "编辑用户"), "subheading": f"{user.title}（{user.username}）",
            "back": "/@@users"}
    if request.method == "POST":
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        revision = data.pop("revision", None)
        try:
            changes = accounts.edit_account(context, user, data, request.identity.username, revision=revision,
                                            via="ui")
        except Refusal as exc:
            return _refused_form(request, form, page, exc, {**data, "revision": user.revision})
        note = "已保存用户 {name} 的信息" if changes else "用户 {name} 的信息没有变化"
        request.session.flash(translate(request, note, {"name": user.username}))
        return HTTPSeeOther(location="/@@users")
    values = {"title": user.title, "unit": user.unit or "", "phone": user.phone or "",
              "email": user.email or "", "revision": user.revision}
    return {**page, "form": form.render(values)}


@view_config(context=Site, name="user-roles", renderer="templates/form.pt", permission="grant_roles",
             request_method=("GET", "POST"))
def roles_view(context, request):
    """安全保密管理员 grants and revokes roles (business and administrator ones)."""
    user = _user_or_back(context, request)
    if user is None:
        return HTTPSeeOther(location="/@@users")
    schema = _with_widgets(accounts.RolesSchema(), revision=True).bind(site=context, request=request)
    form = make_form(request, schema, button="保存授权", formid="user-roles",
                     action=request.resource_path(context, "@@user-roles", query={"username": user.username}))
    page = {"page_title": translate(request, "授权"), "form_resources": resources(request, form),
            "heading": translate(request, "授权"), "subheading": f"{user.title}（{user.username}）",
            "back": "/@@users"}
    if request.method == "POST":
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        try:
            old, new = accounts.set_roles(context, user, data["roles"], request.identity.username,
                                          revision=data.get("revision"), via="ui")
        except Refusal as exc:
            return _refused_form(request, form, page, exc, {"roles": set(data["roles"]),
                                                            "revision": data.get("revision")})
        request.session.flash(translate(request, "已更新用户 {name} 的角色：{roles}",
                                        {"name": user.username, "roles": _role_titles(request, new)}))
        return HTTPSeeOther(location="/@@users")
    return {**page, "form": form.render({"roles": set(user.roles), "revision": user.revision})}


@view_config(context=Site, name="reset-password", renderer="templates/admin_reset.pt", permission="manage",
             request_method=("GET", "POST"))
def reset_password_view(context, request):
    """A one-time temporary password, shown once to the admin (never flashed: the session cookie
    is signed, not encrypted), never stored in clear; the user's sessions and tokens end at once."""
    user = _user_or_back(context, request)
    if user is None:
        return HTTPSeeOther(location="/@@users")
    if user.username == request.identity.username:
        return HTTPFound(location="/@@password")  # one's own password: the 修改密码 page
    page = {"page_title": translate(request, "重置密码"), "user": user, "temporary": None, "refusal": None,
            "revision": user.revision}
    if request.method == "POST":
        revision = request.POST.get("revision", "")
        try:
            temporary = accounts.reset_password(context, user, request.identity.username, via="ui",
                                                revision=int(revision) if revision.isdigit() else None)
        except Refusal as exc:
            request.tm.doom()
            request.response.status_int = exc.status
            return {**page, "refusal": translate(request, exc.message)}
        request.response.headers["Cache-Control"] = "no-store"
        return {**page, "temporary": temporary}
    return page


@view_config(context=Site, name="security-settings", renderer="templates/form.pt", permission="security_settings",
             request_method=("GET", "POST"))
def security_settings_view(context, request):
    """安全保密管理员: the password policy (every password set from now on must meet it)."""
    from ..security.passwords import PasswordPolicySchema, set_password_policy, site_policy

    form = make_form(request, PasswordPolicySchema().bind(site=context), button="保存", formid="password-policy")
    page = {"page_title": translate(request, "安全设置"), "form_resources": resources(request, form),
            "heading": translate(request, "安全设置：密码策略"),
            "subheading": translate(request, "新设或修改的密码须符合；已有密码在下次修改时适用"), "back": "/@@users"}
    if request.method == "POST":
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        set_password_policy(context, data, request.identity.username, via="ui")
        request.session.flash(translate(request, "已保存密码策略"))
        return HTTPSeeOther(location="/@@security-settings")
    return {**page, "form": form.render(site_policy(context))}


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


@view_config(context=Site, name="audit-log", renderer="templates/admin_audit.pt", permission="read_audit_log",
             request_method="GET")
def audit_log_view(context, request):
    """安全审计员: the site-wide log, newest first, administrators' actions by default."""
    from ..audit.query import AuditQuery, admin_actors, read_log

    scope = request.GET.get("scope", "admins")
    try:
        days = max(1, min(366, int(request.GET.get("days", "7"))))
    except ValueError:
        days = 7
    query = AuditQuery(since=now() - timedelta(days=days), actor=request.GET.get("actor", "").strip() or None,
                       action=request.GET.get("action", "").strip() or None,
                       actors=admin_actors(context) if scope == "admins" else None)
    entries = read_log(context, query, request.identity.username, via="ui")
    tr = sentence_translator(request)
    rows = [{"time": display(e["time"]), "actor": e.get("actor") or "", "target": e.get("target") or "",
             "action": translate(request, ACTIONS[e["action"]]) if e.get("action") in ACTIONS else e.get("action", ""),
             "text": describe(e, tr=tr)}
            for e in entries]
    return {"page_title": translate(request, "审计日志"), "rows": rows, "scope": scope, "days": days,
            "actor": query.actor or "", "action": query.action or "", "actions": list(ACTIONS.items()),
            "today": today().isoformat()}


def includeme(config) -> None:
    config.add_nav("用户管理", "/@@users", "list_users", order=90)
    config.add_nav("安全设置", "/@@security-settings", "security_settings", order=91)
    config.add_nav("审计日志", "/@@audit-log", "read_audit_log", order=92)
