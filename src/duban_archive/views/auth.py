"""Login, logout, 修改密码 and the language switch.

Login goes through :func:`duban_archive.security.policy.check_login`: attempts
are throttled with progressive delays (``security.throttle``; a throttled
attempt gets 429 with ``Retry-After`` and is not checked), unknown usernames
cost as much as known ones, and every failed check is audit-logged (the page
is *returned*, not raised, so the transaction with the audit entry commits).
The session is renewed on login (no fixation) and ended server-side on logout
(a replayed cookie is anonymous); every form, logout included, carries the
CSRF token.

``/@@password`` changes one's own password (old, new, repeat); it revokes
every other session and API token and keeps this browser logged in.  After an
admin reset it is the only page open to the user (``policy.password_change_gate``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import colander
import deform
from pyramid.httpexceptions import HTTPBadRequest, HTTPSeeOther
from pyramid.security import forget, remember
from pyramid.view import view_config

from ..audit.log import record
from ..content_types.site import Site
from ..i18n import normalize
from ..security import throttle
from ..security.passwords import PasswordChangeSchema, change_password
from ..security.policy import WRONG_CREDENTIALS, check_login
from .forms import make_form, resources, validated
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


def client_of(request) -> str:
    """The caller's address for throttling and the audit log: REMOTE_ADDR, never X-Forwarded-For."""
    return request.remote_addr or ""


def throttled_message(request, wait: int) -> str:
    return translate(request, "登录尝试过于频繁，为保护账号安全，请 {n} 秒后再试", {"n": wait})


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
            client = client_of(request)
            result = check_login(context, username, password, client, request.environ)
            if result.retry_after:
                # refused unchecked: nothing to log, nothing written
                error = throttled_message(request, result.retry_after)
                status = 429
                request.response.headers["Retry-After"] = str(result.retry_after)
            elif result.user is not None:
                user = result.user
                headers = remember(request, user.username, user=user)
                record(context, "login", user.username, "", client=client, via="form")
                if user.must_change_password:
                    request.session.flash(translate(request, "管理员已重置您的密码，请先设置新密码"), "error")
                    return HTTPSeeOther(location="/@@password", headers=headers)
                return HTTPSeeOther(location=came_from, headers=headers)
            else:
                # returned (not raised): the audit entry commits although the login is refused
                record(context, "login_failed", username[:40], "", client=client, via="form")
                error = translate(request, WRONG_CREDENTIALS)
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


class PasswordForm(PasswordChangeSchema):
    """The page's form: the API's two fields plus the repeated new password."""

    new_password_repeat = colander.SchemaNode(colander.String(), title="再次输入新密码")

    def validator(self, node, value):
        exc = colander.Invalid(node)
        if value["new_password"] != value["new_password_repeat"]:
            exc["new_password_repeat"] = "两次输入的新密码不一致"
        elif value["new_password"] == value["old_password"]:
            exc["new_password"] = "新密码不能与原密码相同"
        if exc.children:
            raise exc


def _password_widgets(schema):
    autocomplete = {"old_password": "current-password"}
    for node in schema.children:
        if node.name != "csrf_token":
            node.widget = deform.widget.PasswordWidget(
                attributes={"autocomplete": autocomplete.get(node.name, "new-password")})
    return schema


@view_config(context=Site, name="password", renderer="templates/password.pt", permission="view",
             request_method=("GET", "POST"))
def password_view(context, request):
    """修改密码: old, new, repeat (CSRF-protected); revokes every other session and token."""
    username = request.identity.username
    user = context["users"][username]
    client = client_of(request)
    schema = _password_widgets(PasswordForm()).bind(
        user=user, request=request, on_wrong_password=lambda: throttle.failed(username, client))
    form = make_form(request, schema, button="修改密码", formid="password-form")
    page = {"page_title": translate(request, "修改密码"), "form_resources": resources(request, form),
            "must_change": user.must_change_password, "error": ""}
    if request.method == "POST":
        wait = throttle.retry_after(username, client)
        if wait:  # guessing the old password through a stolen session is throttled like a login
            request.response.status = 429
            request.response.headers["Retry-After"] = str(wait)
            return {**page, "form": form.render(), "error": throttled_message(request, wait)}
        data, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        change_password(context, user, data["new_password"], username, client=client, via="form")
        headers = remember(request, username, user=user)  # this browser stays logged in
        request.session.flash(translate(request, "密码已修改；其他设备上的登录和 API 令牌已失效"))
        return HTTPSeeOther(location="/", headers=headers)
    return {**page, "form": form.render()}


@view_config(context=Site, name="lang", request_method="GET")
def switch_language(context, request):
    locale = normalize(request.params.get("to"))
    if locale is None:
        raise HTTPBadRequest(translate(request, "不支持的语言"))
    response = HTTPSeeOther(location=safe_came_from(request.params.get("came_from")))
    response.set_cookie("_LOCALE_", locale, max_age=365 * 24 * 3600, httponly=True, samesite="Lax")
    return response


def includeme(config) -> None:
    # every logged-in user may change their own password
    config.add_nav("修改密码", "/@@password", "view", order=200)
