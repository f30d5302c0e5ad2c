"""``/api/v1/users…`` and ``/api/v1/audit`` — user administration and the audit log (三员分立).

The same operations as the 用户管理 pages (``security/accounts.py``), by role:

* 系统管理员 (``manage``): ``POST /users`` (an account, no role), ``PATCH /users/{username}``
  (姓名、单位、手机、邮箱), ``POST /users/{username}/password-reset`` (answers the one-time
  temporary password, once), ``POST /users/{username}/deactivate`` | ``/reactivate``;
* 安全保密管理员 (``grant_roles``): ``PUT /users/{username}/roles``;
* 安全保密管理员 (``security_settings``): ``GET|PUT /security/password-policy``;
* 安全审计员 (``read_audit_log``): ``GET /audit``;
* all three (``list_users``): ``GET /users``, ``GET /users/{username}``.

Every write takes an optional ``revision`` (the user's ``revision`` as last read): when another
administrator changed the user since, the answer is 409 ``stale`` and nothing is written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pyramid.view import view_config

from ...audit.describe import describe
from ...audit.log import ACTIONS, as_json
from ...audit.query import AuditQuery, admin_actors, read_log
from ...content_types.site_access import get_site
from ...security import accounts
from ...security.roles import ROLES
from ...timeutil import now
from ...validation import validate
from .errors import ApiError
from .openapi import document
from .util import actor, int_param, json_body

USER = {"type": "object", "properties": {
    "username": {"type": "string"}, "title": {"type": "string", "description": "姓名（显示名）"},
    "roles": {"type": "array", "items": {"type": "string", "enum": list(ROLES)}},
    "role_titles": {"type": "array", "items": {"type": "string"}},
    "unit": {"type": "string", "nullable": True}, "unit_title": {"type": "string"},
    "phone": {"type": "string"}, "email": {"type": "string"},
    "active": {"type": "boolean", "description": "false：已停用，不能登录"},
    "must_change_password": {"type": "boolean"},
    "revision": {"type": "integer", "description": "版本：写请求带上它，他人已改时返回 409 stale"},
    "modified": {"type": "string", "description": "管理员最近一次修改的时间（空：没有）"}}}
REVISION = {"type": "integer", "description": "读取时的 revision；用户已被他人修改则 409，不写入"}
ACCOUNT_PROPS = {
    "title": {"type": "string", "minLength": 1, "maxLength": 50},
    "unit": {"type": "string", "description": "单位 id（空：无）"},
    "phone": {"type": "string", "description": "手机（5–20 位数字，可含 +、空格、-；空：无）"},
    "email": {"type": "string", "description": "邮箱（空：无）"}}
USERNAME_PARAM = [{"name": "username", "in": "path", "required": True, "schema": {"type": "string"}}]
REVISION_BODY = {"type": "object", "properties": {"revision": REVISION}}


def user_json(site, user) -> dict[str, Any]:
    return {"username": user.username, "title": user.title, "roles": list(user.roles),
            "role_titles": [ROLES.get(r, r) for r in user.roles], "unit": user.unit,
            "unit_title": site["units"].title_of(user.unit), "phone": user.phone or "", "email": user.email or "",
            "active": bool(user.active), "must_change_password": bool(user.must_change_password),
            "revision": int(user.revision), "modified": user.modified or ""}


def _site(request, permission: str):
    actor(request)
    site = get_site(request)
    if not request.has_permission(permission, site):
        raise ApiError(403, _REFUSED.get(permission, "您没有执行此操作的权限"))
    return site


_REFUSED = {
    "list_users": "只有系统管理员、安全保密管理员和安全审计员可以查看用户",
    "manage": "三员分立：账号的新建、修改、重置密码和停用只能由系统管理员进行",
    "grant_roles": "三员分立：角色只能由安全保密管理员授予或收回",
    "read_audit_log": "三员分立：审计日志只能由安全审计员查阅",
    "security_settings": "三员分立：安全设置只能由安全保密管理员修改",
}


def _user(request, site):
    username = request.matchdict["username"]
    user = site["users"].get(username)
    if user is None:
        raise ApiError(404, f"用户“{username}”不存在")
    return user


def _revision(data: dict[str, Any]) -> int | None:
    value = data.pop("revision", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "revision 应为整数", {"revision": "应为整数（读取用户时得到的 revision）"})
    return value


def _revision_only(request) -> int | None:
    """The body of a reset / deactivate / reactivate: nothing but an optional ``revision``."""
    data = json_body(request)
    revision = _revision(data)
    if data:
        raise ApiError(400, "请求体只能包含 revision", {k: "不允许的字段（未知字段）" for k in data})
    return revision


# -- list, read, create --------------------------------------------------------------------------

document("api.users", "GET", "用户列表（系统管理员、安全保密管理员、安全审计员）",
         response={"type": "array", "items": USER}, errors=(401, 403))


@view_config(route_name="api.users", request_method="GET", renderer="json")
def list_view(request):
    site = _site(request, "list_users")
    return [user_json(site, u) for u in site["users"].values()]


document("api.users", "POST",
         "新建账号（系统管理员）：用户名、姓名、单位、手机、邮箱、初始密码；新账号没有角色，由安全保密管理员授权",
         request={"type": "object", "required": ["username", "title", "password"], "properties": {
             "username": {"type": "string", "description": "小写字母开头，可含数字、点、下划线、连字符（2–40 位）"},
             **ACCOUNT_PROPS,
             "password": {"type": "string", "description": accounts.POLICY_HINT},
             "must_change_password": {"type": "boolean", "description": "首次登录须修改密码（默认 true）"}}},
         response=USER, status=201, errors=(400, 401, 403))


@view_config(route_name="api.users", request_method="POST", renderer="json")
def create_view(request):
    site = _site(request, "manage")
    data = json_body(request)
    if "roles" in data:
        msg = "三员分立：新账号没有角色，角色由安全保密管理员授予（PUT /api/v1/users/{username}/roles）"
        raise ApiError(403, msg, {"roles": msg})
    appstruct = validate(accounts.NewAccountSchema().bind(site=site), data)
    user = accounts.create_account(site, appstruct, request.identity.username, via="api")
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api.user", username=user.username)
    return user_json(site, user)


document("api.user", "GET", "一个用户", response=USER, params=USERNAME_PARAM, errors=(401, 403, 404))


@view_config(route_name="api.user", request_method="GET", renderer="json")
def get_view(request):
    site = _site(request, "list_users")
    return user_json(site, _user(request, site))


# -- the sysadmin's writes -----------------------------------------------------------------------

document("api.user", "PATCH", "修改账号信息（系统管理员）：只改给出的字段；角色见 PUT …/roles",
         request={"type": "object", "properties": {**ACCOUNT_PROPS, "revision": REVISION}},
         response=USER, params=USERNAME_PARAM, errors=(400, 401, 403, 404))


@view_config(route_name="api.user", request_method="PATCH", renderer="json")
def patch_view(request):
    site = _site(request, "manage")
    user = _user(request, site)
    data = json_body(request)
    revision = _revision(data)
    if "roles" in data:
        msg = "三员分立：角色只能由安全保密管理员修改（PUT /api/v1/users/{username}/roles）"
        raise ApiError(403, msg, {"roles": msg})
    current = {"title": user.title, "unit": user.unit or "", "phone": user.phone or "", "email": user.email or ""}
    appstruct = validate(accounts.AccountSchema().bind(site=site), {**current, **data})
    given = {k: v for k, v in appstruct.items() if k in data}
    accounts.edit_account(site, user, given, request.identity.username, revision=revision, via="api")
    return user_json(site, user)


def _operation_doc(route: str, summary: str, response: dict | None = None) -> None:
    document(route, "POST", summary, request=REVISION_BODY, response=response or USER, params=USERNAME_PARAM,
             errors=(400, 401, 403, 404))


_operation_doc("api.user.password_reset",
               "重置密码（系统管理员）：生成一次性临时密码，只在本次应答中出现；该用户的会话与令牌全部失效，"
               "下次登录须修改。三员账号的密码不能这样重置（403）",
               {"type": "object", "properties": {
                   "temporary_password": {"type": "string", "description": "一次性临时密码（只出现这一次）"},
                   "user": USER}})


@view_config(route_name="api.user.password_reset", request_method="POST", renderer="json")
def reset_view(request):
    site = _site(request, "manage")
    user = _user(request, site)
    revision = _revision_only(request)
    temporary = accounts.reset_password(site, user, request.identity.username, revision=revision, via="api")
    request.response.headers["Cache-Control"] = "no-store"
    return {"temporary_password": temporary, "user": user_json(site, user)}


_operation_doc("api.user.deactivate", "停用账号（系统管理员）：不能登录，会话与令牌立即失效；历史与审计记录保留。"
               "不能停用自己，也不能停用唯一在用的三员账号（409）")


@view_config(route_name="api.user.deactivate", request_method="POST", renderer="json")
def deactivate_view(request):
    site = _site(request, "manage")
    user = _user(request, site)
    accounts.deactivate(site, user, request.identity.username, revision=_revision_only(request), via="api")
    return user_json(site, user)


_operation_doc("api.user.reactivate", "启用已停用的账号（系统管理员）")


@view_config(route_name="api.user.reactivate", request_method="POST", renderer="json")
def reactivate_view(request):
    site = _site(request, "manage")
    user = _user(request, site)
    accounts.reactivate(site, user, request.identity.username, revision=_revision_only(request), via="api")
    return user_json(site, user)


# -- the secadmin's --------------------------------------------------------------------------------

document("api.user.roles", "PUT",
         "授权（安全保密管理员）：该用户此后恰好持有 roles。同一账号不能兼任两种三员角色；不能改自己的角色；"
         "唯一在用的三员账号不能失去该角色（409）",
         request={"type": "object", "required": ["roles"], "properties": {
             "roles": {"type": "array", "items": {"type": "string", "enum": list(ROLES)}}, "revision": REVISION}},
         response=USER, params=USERNAME_PARAM, errors=(400, 401, 403, 404))


@view_config(route_name="api.user.roles", request_method="PUT", renderer="json")
def roles_view(request):
    site = _site(request, "grant_roles")
    user = _user(request, site)
    data = json_body(request)
    revision = _revision(data)
    if "roles" not in data:
        raise ApiError(400, "请给出角色列表", {"roles": "必填：角色 id 的列表（可为空列表）"})
    if not isinstance(data["roles"], list) or not all(isinstance(r, str) for r in data["roles"]):
        raise ApiError(400, "角色应为文本列表", {"roles": "应为角色 id 的列表"})
    appstruct = validate(accounts.RolesSchema(), data)
    accounts.set_roles(site, user, appstruct["roles"], request.identity.username, revision=revision, via="api")
    return user_json(site, user)


# -- the secauditor's ----------------------------------------------------------------------------

AUDIT_ENTRY = {"type": "object", "properties": {
    "time": {"type": "string", "format": "date-time"}, "action": {"type": "string"},
    "action_title": {"type": "string"}, "actor": {"type": "string", "nullable": True},
    "target": {"type": "string", "nullable": True}, "text": {"type": "string", "description": "一句中文描述"}},
    "additionalProperties": True}
document("api.audit", "GET",
         "审计日志（安全审计员）：按时间倒序，最多 500 条；默认只列三员与命令行的操作（scope=all：全部）。"
         "每次查阅本身也记入审计日志",
         params=[
             {"name": "scope", "in": "query", "required": False,
              "schema": {"type": "string", "enum": ["admins", "all"]}, "description": "admins（默认）或 all"},
             {"name": "days", "in": "query", "required": False,
              "schema": {"type": "integer", "minimum": 1, "maximum": 366}, "description": "最近天数（默认 7）"},
             {"name": "actor", "in": "query", "required": False, "schema": {"type": "string"},
              "description": "只看此用户的操作"},
             {"name": "action", "in": "query", "required": False,
              "schema": {"type": "string", "enum": list(ACTIONS)}, "description": "只看此类操作"}],
         response={"type": "array", "items": AUDIT_ENTRY}, errors=(400, 401, 403))


@view_config(route_name="api.audit", request_method="GET", renderer="json")
def audit_view(request):
    site = _site(request, "read_audit_log")
    scope = request.GET.get("scope", "admins")
    if scope not in ("admins", "all"):
        raise ApiError(400, "scope 应为 admins 或 all", {"scope": "应为 admins 或 all"})
    days = int_param(request, "days", 7, minimum=1, maximum=366)
    action = request.GET.get("action") or None
    if action is not None and action not in ACTIONS:
        raise ApiError(400, "未知的操作类型", {"action": f"可选：{'、'.join(ACTIONS)}"})
    query = AuditQuery(since=now() - timedelta(days=days), actor=request.GET.get("actor") or None, action=action,
                       actors=admin_actors(site) if scope == "admins" else None)
    entries = read_log(site, query, request.identity.username, via="api")
    return [{**as_json(e), "text": describe(e)} for e in entries]



# -- the secadmin's security settings --------------------------------------------------------------

POLICY = {"type": "object", "required": ["min_length", "classes"], "properties": {
    "min_length": {"type": "integer", "minimum": 8, "maximum": 64, "description": "密码最短长度"},
    "classes": {"type": "integer", "enum": [2, 3], "description": "字母、数字、符号中至少几类"}}}
document("api.password_policy", "GET", "密码策略（安全保密管理员）", response=POLICY, errors=(401, 403))


@view_config(route_name="api.password_policy", request_method="GET", renderer="json")
def policy_view(request):
    from ...security.passwords import site_policy

    return site_policy(_site(request, "security_settings"))


document("api.password_policy", "PUT", "修改密码策略（安全保密管理员）：此后新设或修改的密码须符合",
         request=POLICY, response=POLICY, errors=(400, 401, 403))


@view_config(route_name="api.password_policy", request_method="PUT", renderer="json")
def set_policy_view(request):
    from ...security.passwords import PasswordPolicySchema, set_password_policy

    site = _site(request, "security_settings")
    data = validate(PasswordPolicySchema(), json_body(request))
    return set_password_policy(site, data, request.identity.username, via="api")
