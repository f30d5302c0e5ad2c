"""Small helpers every API view shares: the JSON body, the caller, lookups, permission checks.

Kept apart from the views so other engineers' API modules (transitions,
worklist, archive ...) refuse requests in exactly the same way.
"""

from __future__ import annotations

from typing import Any

from ...content_types.site_access import get_site
from ...security.policy import request_principals as principals  # noqa: F401 (re-exported)
from ...validation import check_json_text
from .errors import ApiError


def json_value(request) -> Any:
    """The request's JSON value (``{}`` for an empty body), or a 400 naming what is wrong with it."""
    if not request.body:
        return {}
    try:
        data = request.json_body
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "请求体不是有效的 JSON（UTF-8）", {"_": "请求体不是有效的 JSON"}) from exc
    except RecursionError:  # thousands of nested brackets: refused, not a 500
        raise ApiError(400, "请求体嵌套层次过深", {"_": "请求体嵌套层次过深"}) from None
    check_json_text(data)  # the text policy's net: no lone surrogate or control character anywhere (400)
    return data


def json_body(request) -> dict[str, Any]:
    """The request's JSON object, or a 400 naming what is wrong with it."""
    data = json_value(request)
    if not isinstance(data, dict):
        raise ApiError(400, "请求体应为 JSON 对象", {"_": "请求体应为 JSON 对象"})
    return data


def actor(request) -> str:
    """The logged-in username, or 401."""
    userid = request.authenticated_userid
    if userid is None:
        raise ApiError(401, "未登录或令牌无效/已过期")
    return userid




def identity(request):
    actor(request)
    return request.identity


def require(request, permission: str, context) -> None:
    """401 for anonymous callers, 403 when the context's ACL refuses."""
    actor(request)
    if not request.has_permission(permission, context):
        raise ApiError(403, _PERMISSION_MESSAGES.get(permission, "您没有执行此操作的权限"))


_PERMISSION_MESSAGES = {
    "view": "您无权查看此事项",
    "edit": "当前状态下您不能修改此事项",
    "add_feedback": "当前状态下您不能提交反馈",
    "add_attachment": "当前状态下您不能上传附件",
    "add_instruction": "当前状态下您不能批示",
    "view_audit": "您无权查看审计记录",
    "add_item": "您无权立项",
}


def get_item(request, permission: str = "view"):
    """The item named by ``{id}`` in the route, checked for ``permission``.

    404 when there is no such item; 403 when the caller may not view it (API.md:
    "not allowed in this state/role") or may not do ``permission`` to it now.
    """
    actor(request)
    site = get_site(request)
    item = site.get_item(request.matchdict["id"])
    if item is None:
        raise ApiError(404, "事项不存在")
    require(request, "view", item)
    if permission != "view":
        require(request, permission, item)
    return site, item


def int_param(request, name: str, default: int, minimum: int = 1, maximum: int = 10**9) -> int:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "查询参数有误", {name: "应为整数"}) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, "查询参数有误", {name: f"应在 {minimum} 到 {maximum} 之间"})
    return value
