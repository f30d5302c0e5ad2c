"""Login, logout and the language switch.

Login goes through :func:`duban_archive.security.policy.authenticate`, which
throttles a username after repeated failures; its Chinese reason is shown in
the form.  The session is renewed on login (no fixation) and every form,
logout included, carries the CSRF token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config

from ..audit.log import record
from ..content_types.site import Site
from ..i18n import normalize
from ..security.policy import authenticate
from .layout import translate


def safe_came_from(value: str | None) -> str:
    """Only local paths: never redirect a freshly logged-in user off-site."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if not value.startswith("/") or value.startswith("//") or parts.scheme or parts.netloc or "\\" in value:
        return "/"
    if parts.path in ("/login", "/logout"):
        return "/"
    return value


@view_config(context=Site, name="login", renderer="templates/login.pt", request_method=("GET", "POST"))
def login_view(context, request):
    came_from = safe_came_from(request.params.get("came_from"))
    username = ""
    error = ""
    status = 200
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        if not username or not password:
            error = translate(request, "请输入用户名和密码")
            status = 400
        else:
            client = request.client_addr or ""
            user, reason = authenticate(context, username, password, client)
            if user is not None:
                headers = remember(request, user.username, user=user)
                record(context, "login", user.username, "", client=client, via="form")
                return HTTPSeeOther(location=came_from, headers=headers)
            record(context, "login_failed", username[:40], "", client=client, via="form")
            error = translate(request, reason)
    if request.identity and request.method == "GET" and not error:
        return HTTPSeeOther(location=came_from)
    request.response.status = status
    return {"page_title": translate(request, "登录"), "came_from": came_from, "username": username,
            "error": error}


@view_config(context=Site, name="logout", request_method="POST")
def logout_view(context, request):
    headers = forget(request)
    request.session.flash(translate(request, "您已退出登录"))
    return HTTPSeeOther(location="/login", headers=headers)


@view_config(context=Site, name="logout", request_method="GET", renderer="templates/logout.pt")
def logout_confirm(context, request):
    """Logging out changes state, so GET only shows a button that POSTs with the token."""
    return {"page_title": translate(request, "退出登录")}


@view_config(context=Site, name="lang", request_method="GET")
def switch_language(context, request):
    locale = normalize(request.params.get("to"))
    if locale is None:
        raise HTTPBadRequest(translate(request, "不支持的语言"))
    response = HTTPSeeOther(location=safe_came_from(request.params.get("came_from")))
    response.set_cookie("_LOCALE_", locale, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response
