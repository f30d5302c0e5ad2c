"""Friendly error pages for the HTML side (the API renders its own JSON errors).

A logged-out visitor who hits a protected page is sent to the login form and
back; a logged-in user who may not see the page gets a Chinese 403 page.
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPRequestEntityTooLarge, HTTPSeeOther
from pyramid.view import forbidden_view_config, notfound_view_config, view_config

from .layout import translate

#: exception views here answer HTML pages only; ``/api/`` has its own JSON handler
NOT_API = r"^(?!/api/)"


def _page(request, status: int, title: str, message: str) -> dict:
    request.response.status = status
    return {"page_title": translate(request, title), "title": translate(request, title),
            "message": message, "status": status}


@forbidden_view_config(renderer="templates/error.pt", path_info=NOT_API)
def forbidden(exc, request):
    if request.identity is None:
        return HTTPSeeOther(location="/login?came_from=" + quote(request.path_qs, safe="/"))
    # our own refusals (archived item ...) carry a Chinese detail; permission denials carry
    # an ACL ``result`` whose text is for developers, not users
    if getattr(exc, "result", None) is None and exc.detail:
        return _page(request, 403, "无权访问", exc.detail)
    return _page(request, 403, "无权访问", translate(request, "您没有查看或执行此操作的权限。如需权限，请联系督查室。"))


@notfound_view_config(renderer="templates/error.pt", path_info=NOT_API)
def notfound(exc, request):
    return _page(request, 404, "页面不存在", translate(request, "您访问的页面不存在，可能已被移动或地址有误。"))


@view_config(context=BadCSRFToken, renderer="templates/error.pt", path_info=NOT_API)
def bad_csrf(exc, request):
    return _page(request, 400, "请求已失效",
                 translate(request, "表单已过期或来源不明（CSRF 校验失败），未做任何更改。请返回刷新页面后重新提交。"))


@view_config(context=HTTPRequestEntityTooLarge, renderer="templates/error.pt", path_info=NOT_API)
def too_large(exc, request):
    return _page(request, 413, "文件过大", exc.detail or "")

