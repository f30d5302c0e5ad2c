"""Auth and directory: ``POST /auth/token``, ``GET /me``, ``GET /units``, ``GET /boards``.

Tokens are stateless HMACs (``security.tokens``): argon2 runs once, at login,
never per request.
"""

from __future__ import annotations

from datetime import datetime

from pyramid.view import view_config

from ...audit.log import record
from ...content_types.site_access import get_site
from ...security import throttle
from ...security.policy import authenticate
from ...security.tokens import make_token
from ...timeutil import CST, isoformat
from .errors import ApiError
from .openapi import document
from .util import actor, json_body, require

TOKEN_REQUEST = {
    "type": "object", "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
TOKEN_RESPONSE = {
    "type": "object",
    "properties": {"token": {"type": "string"}, "expires": {"type": "string", "format": "date-time"}},
}

document("api.auth.token", "POST", "用户名密码换取 Bearer 令牌（多次失败后锁定，返回 429）",
         request=TOKEN_REQUEST, response=TOKEN_RESPONSE, errors=(400, 401, 429), auth=False)


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
    wait = throttle.locked_for(data["username"].strip().lower())
    if wait:  # locked by earlier failures: refuse without checking the password
        raise ApiError(429, f"登录失败次数过多，请 {max(1, -(-wait // 60))} 分钟后再试",
                       headers={"Retry-After": str(wait)})
    user, reason = authenticate(get_site(request), data["username"], data["password"], request.client_addr or "")
    if user is None:
        raise ApiError(401, reason or "用户名或密码错误")
    settings = request.registry.settings
    token, expires = make_token(settings["duban.secret"], user.username, user.token_epoch,
                                int(settings.get("duban.token_lifetime", 8 * 3600)))
    record(get_site(request), "login", user.username, f"user:{user.username}", via="api")
    return {"token": token, "expires": isoformat(datetime.fromtimestamp(expires, CST))}


document("api.me", "GET", "当前用户", response={
    "type": "object", "properties": {
        "username": {"type": "string"}, "title": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}}, "unit": {"type": "string", "nullable": True},
        "unit_title": {"type": "string"},
        "csrf_token": {"type": "string", "description": "仅会话（Cookie）登录时返回：写请求须带 X-CSRF-Token"}}},
    errors=(401,))


@view_config(route_name="api.me", request_method="GET", renderer="json")
def me_view(request):
    actor(request)
    ident = request.identity
    units = get_site(request)["units"]
    data = {"username": ident.username, "title": ident.title, "roles": list(ident.roles),
            "unit": ident.unit, "unit_title": units.title_of(ident.unit)}
    if not ident.via_token:  # a browser session: scripts send this back as X-CSRF-Token
        data["csrf_token"] = request.session.get_csrf_token()
    return data


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
