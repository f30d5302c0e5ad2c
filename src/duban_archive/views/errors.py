"""Friendly error pages for the HTML side (the API renders its own JSON errors).

A logged-out visitor who hits a protected page is sent to the login form and
back; a logged-in user who may not see the page gets a Chinese 403 page.

A :class:`~duban_archive.errors.Refusal` from a domain operation is shown where
the user acted: a form view catches it and puts :func:`refusal_notes` on its
page (or :func:`flash_refusal` before redirecting back).  One no view catches
becomes the error page (:func:`refused`) with the same message, field by field.
Either way nothing is written.
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPRequestEntityTooLarge, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config, view_config

from ..errors import Refusal
from .layout import translate

#: exception views here answer HTML pages only; ``/api/`` has its own JSON handler
NOT_API = r"^(?!/api/)"


def _page(request, status: int, title: str, message: str, notes: list[str] | None = None) -> dict:
    request.response.status = status
    return {"page_title": translate(request, title), "title": translate(request, title),
            "message": message, "status": status, "notes": notes or []}


def _doom(request) -> None:
    tm = getattr(request, "tm", None)
    if tm is not None and not tm.isDoomed():
        tm.doom()  # a refused request changes nothing


def refusal_notes(request, exc: Refusal, labels: dict[str, str] | None = None) -> list[str]:
    """The refusal's field messages, translated, each prefixed by its field's label when known
    (``{"reason": "督办事由"}`` -> ``督办事由：必填：请写明督办事由``)."""
    out = []
    for name, msg in exc.fields.items():
        text = translate(request, msg)
        label = (labels or {}).get(name)
        out.append(f"{translate(request, label)}：{text}" if label else text)
    return out


def flash_refusal(request, exc: Refusal, template: str = "{message}", labels: dict[str, str] | None = None) -> None:
    """Doom the transaction and flash the refusal for the page redirected to: one error line,
    ``template`` (a msgid with ``{message}``) filled with the message and then its fields."""
    _doom(request)
    notes = refusal_notes(request, exc, labels)
    text = translate(request, template, {"message": translate(request, exc.message)})
    request.session.flash(" ".join([text, "；".join(notes)]).strip(), "error")


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


@exception_view_config(Refusal, renderer="templates/error.pt", path_info=NOT_API)
def refused(exc: Refusal, request):
    """A refusal no form caught: its message and fields on the error page, with its status."""
    _doom(request)
    request.response.headers.update(exc.headers)
    return _page(request, exc.status, "未能完成操作", translate(request, exc.message), refusal_notes(request, exc))


@view_config(context=BadCSRFToken, renderer="templates/error.pt", path_info=NOT_API)
def bad_csrf(exc, request):
    return _page(request, 400, "请求已失效",
                 translate(request, "表单已过期或来源不明（CSRF 校验失败），未做任何更改。请返回刷新页面后重新提交。"))


@view_config(context=HTTPRequestEntityTooLarge, renderer="templates/error.pt", path_info=NOT_API)
def too_large(exc, request):
    return _page(request, 413, "文件过大", exc.detail or "")


@view_config(context=UnicodeDecodeError, renderer="templates/error.pt", path_info=NOT_API)
def bad_encoding(exc, request):
    """A query string or form that is not UTF-8: WebOb cannot decode it."""
    request.tm.doom()
    return _page(request, 400, "请求无效",
                 translate(request, "地址或表单内容不是有效的 UTF-8 文本，未做任何更改。请检查后重新提交。"))


DISK_FULL_PAGE = (
    "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>磁盘空间不足</title>"
    "<link rel=\"stylesheet\" href=\"/static/vendor/bootstrap.min.css\"></head>"
    "<body class=\"container py-4\"><h1 class=\"h3\" id=\"error-title\">磁盘空间不足 "
    "<small class=\"text-muted\">507</small></h1><p class=\"lead\" id=\"error-message\">{message}</p>"
    "<p id=\"error-admin\">{admin}</p>"
    "<p class=\"text-muted small\">Insufficient storage: the server's disk is full; nothing was saved. "
    "Please contact the administrator. {admin_en}</p>"
    "<p><a href=\"/\">返回首页</a></p></body></html>"
)


@exception_view_config(Exception, disk_full=True, path_info=NOT_API)
def insufficient_storage(exc, request):
    """A write failed for want of disk space (views/api/errors.py): a plain page, status 507.

    Built without the layout: after a failed commit the request has no transaction to read the
    site with.  A login refused this way leaves the browser logged out (its audit entry could not
    be written); the first refusal releases the ballast, so the next login has room (vardir.py)."""
    from .api import errors as api_errors

    used = api_errors.disk_full_logged(exc, request)
    body = DISK_FULL_PAGE.format(
        message=api_errors.DISK_FULL_MESSAGE + "。",
        admin=api_errors.ADMIN_BALLAST_USED if used else api_errors.ADMIN_FREE_SPACE,
        admin_en=api_errors.ADMIN_BALLAST_USED_EN if used else api_errors.ADMIN_FREE_SPACE_EN)
    response = Response(body=body.encode("utf-8"), status=507, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
