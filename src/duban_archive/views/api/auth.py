"""Auth and directory: ``POST /auth/token``, ``GET /me``, ``POST /me/password``, ``GET /units``, ``GET /boards``.

Tokens are stateless HMACs (``security.tokens``): argon2 runs once, at login,
never per request.  Logins are throttled with progressive delays
(``security.throttle``): a throttled attempt gets 429 with ``Retry-After`` and
is not checked.  A failed login is audit-logged (``login_failed``) and its 401
is *returned*, not raised, so that entry commits.
"""

from __future__ import annotations

from datetime import datetime

from pyramid.security import remember
from pyramid.view import view_config

from ...audit.log import record
from ...content_types.site_access import get_site
from ...security import throttle
from ...security.passwords import POLICY_HINT, PasswordChangeSchema, change_password
from ...security.policy import THROTTLED, WRONG_CREDENTIALS, check_login
from ...security.tokens import make_token
from ...timeutil import CST, isoformat
from ...validation import validate
from .errors import CODES, ApiError
from .openapi import document
from .util import actor, json_body, require

TOKEN_REQUEST = {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
TOKEN_RESPONSE = {
    "type": "object",
    "properties": {"token": {"type": "string"}, "expires": {"type": "string", "format": "date-time"},
                   "must_change_password": {"type": "boolean",
                                            "description": "管理员重置了密码：须先调用 POST /api/v1/me/password"}},
}

document("api.auth.token", "POST", "用户名密码换取 Bearer 令牌（连续失败后须等待片刻：返回 429 与 Retry-After）",
         request=TOKEN_REQUEST, response=TOKEN_RESPONSE, errors=(400, 401, 429), auth=False)


def client_of(request) -> str:
    """REMOTE_ADDR, never X-Forwarded-For (which the caller chooses)."""
    return request.remote_addr or ""


def throttled(wait: int) -> ApiError:
    return ApiError(429, THROTTLED.format(n=wait), headers={"Retry-After": str(wait)})


def issue_token(request, user) -> dict:
    settings = request.registry.settings
    token, expires = make_token(settings["duban.secret"], user.username, user.token_epoch,
                                int(settings.get("duban.token_lifetime", 8 * 3600)))
    return {"token": token, "expires": isoformat(datetime.fromtimestamp(expires, CST))}


@view_config(route_name="api.auth.token", request_method="POST", renderer="json", require_csrf=False)
def token_view(request):
    data = json_body(request)
    fields = {}
    for name in ("username", "password"):
        if not isinstance(data.get(name), str) or not data[name]:
            fields[name] = "必填，应为文本"
    fields.update({k: "不允许的字段（未知字段）" for k in data if k not in ("username", "password")})
    if fields:
        raise ApiError(400, "请填写用户名和密码", fields)
    site = get_site(request)
    client = client_of(request)
    result = check_login(site, data["username"], data["password"], client, request.environ)
    if result.retry_after:  # refused unchecked: nothing logged, nothing written
        raise throttled(result.retry_after)
    if result.user is None:
        # returned, not raised (ApiError dooms the transaction): the audit entry must commit
        record(site, "login_failed", data["username"].strip()[:40], "", client=client, via="api")
        request.response.status_int = 401
        request.response.headers["Cache-Control"] = "no-store"
        return {"error": CODES[401], "message": result.reason or WRONG_CREDENTIALS, "fields": {}}
    user = result.user
    record(site, "login", user.username, f"user:{user.username}", client=client, via="api")
    return {**issue_token(request, user), "must_change_password": bool(user.must_change_password)}


document("api.me", "GET", "当前用户", response={
    "type": "object", "properties": {
        "username": {"type": "string"}, "title": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}}, "unit": {"type": "string", "nullable": True},
        "unit_title": {"type": "string"},
        "must_change_password": {"type": "boolean", "description": "为 true 时除修改密码外的接口均返回 403"},
        "csrf_token": {"type": "string", "description": "仅会话（Cookie）登录时返回：写请求须带 X-CSRF-Token"}}},
    errors=(401,))


@view_config(route_name="api.me", request_method="GET", renderer="json")
def me_view(request):
    actor(request)
    ident = request.identity
    units = get_site(request)["units"]
    data = {"username": ident.username, "title": ident.title, "roles": list(ident.roles),
            "unit": ident.unit, "unit_title": units.title_of(ident.unit),
            "must_change_password": ident.must_change_password}
    if not ident.via_token:  # a browser session: scripts send this back as X-CSRF-Token
        data["csrf_token"] = request.session.get_csrf_token()
    return data


document("api.me.password", "POST",
         "修改本人密码：此前签发的令牌与所有会话随即失效；Bearer 调用返回新令牌，Cookie 会话保持登录。"
         "原密码连续输错与登录一样受限（429）",
         request={"type": "object", "required": ["old_password", "new_password"], "properties": {
             "old_password": {"type": "string"},
             "new_password": {"type": "string", "description": POLICY_HINT}}},
         response={"type": "object", "properties": {
             "message": {"type": "string"},
             "token": {"type": "string", "description": "仅 Bearer 调用：替换已失效的旧令牌"},
             "expires": {"type": "string", "format": "date-time"},
             "csrf_token": {"type": "string",
                            "description": "仅 Cookie 会话：会话已更新，此后写请求用这个 X-CSRF-Token"}}},
         errors=(400, 401, 403, 429))


@view_config(route_name="api.me.password", request_method="POST", renderer="json")
def password_view(request):
    username = actor(request)
    ident = request.identity
    site = get_site(request)
    user = site["users"][username]
    client = client_of(request)
    wait = throttle.retry_after(username, client)
    if wait:
        raise throttled(wait)
    schema = PasswordChangeSchema().bind(user=user, on_wrong_password=lambda: throttle.failed(username, client))
    data = validate(schema, json_body(request))  # 400 with Chinese field errors; nothing changed
    change_password(site, user, data["new_password"], username, client=client, via="api")
    out = {"message": "密码已修改；此前的登录会话和 API 令牌均已失效"}
    if ident.via_token:
        out.update(issue_token(request, user))
    else:
        remember(request, username, user=user)  # this browser session stays logged in, renewed
        out["csrf_token"] = request.session.get_csrf_token()
    return out


document("api.units", "GET", "承办单位（树：parent 为上级单位 id）", response={
    "type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "parent": {"type": "string", "nullable": True},
        "code": {"type": "string"}, "kind": {"type": "string"}}}}, errors=(401,))


@view_config(route_name="api.units", request_method="GET", renderer="json")
def units_view(request):
    site = get_site(request)
    require(request, "view", site)
    return [{"id": u.unit_id, "title": u.title, "parent": u.parent, "code": u.code, "kind": u.kind}
            for u in site["units"].values()]


document("api.boards", "GET", "版块", response={
    "type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "workflow": {"type": "string"},
        "item_type": {"type": "string"}, "prefix": {"type": "string"}}}}, errors=(401,))


@view_config(route_name="api.boards", request_method="GET", renderer="json")
def boards_view(request):
    site = get_site(request)
    require(request, "view", site)
    return [{"id": b.board_id, "title": b.title, "workflow": b.workflow, "item_type": b.item_type,
             "prefix": b.prefix, "url": request.route_url("api.board.items", board=b.board_id)}
            for b in site.boards.values()]
