"""The Pyramid 2 security policy.

Identity comes from a bearer token (API clients) or the session cookie
(browser).  Both are checked against the user in ZODB on every request: a
token carries the user's ``token_epoch`` (a password change or reset bumps it),
a session carries the epoch and a random session id that must still be in the
user's ``sessions`` (logout removes it, a password change clears them all), so
a session cookie replayed after logout is anonymous.

Permissions come from ``__acl__`` on the context: items get theirs from the
workflow engine (state permission map + the item's units), the site and boards
from :mod:`duban_archive.security.acl`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.httpexceptions import HTTPSeeOther

from ..errors import Refusal
from . import throttle
from .roles import user_principals
from .tokens import read_token
from .users import verify_login

#: the longest a browser session lives after its login, however active (seconds)
SESSION_MAX_AGE = 7 * 24 * 3600


@dataclass(frozen=True)
class Identity:
    username: str
    title: str
    roles: tuple[str, ...]
    unit: str | None
    via_token: bool
    #: an admin reset the password: only 修改密码 (and logout, /me) until it is changed
    must_change_password: bool = False

    @property
    def principals(self) -> list[str]:
        return user_principals(self.username, self.roles, self.unit)


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def csrf_applies(request) -> bool:
    """CSRF protects cookie sessions; bearer-token API calls carry no cookie authority."""
    return bearer_token(request) is None


class SecurityPolicy:
    def __init__(self, secret: str, session_max_age: int = SESSION_MAX_AGE) -> None:
        self.secret = secret
        self.session_max_age = session_max_age
        self.helper = ACLHelper()

    def identity(self, request) -> Identity | None:
        # cached per request: the user lookup touches the database
        cached = request.environ.get("duban.identity", False)
        if cached is not False:
            return cached
        ident = self._load(request)
        request.environ["duban.identity"] = ident
        return ident

    def _load(self, request) -> Identity | None:
        from ..content_types.site_access import get_site

        token = bearer_token(request)
        sid = None
        if token is not None:
            found = read_token(self.secret, token)
            if found is None:
                return None
            username, epoch = found
            via_token = True
        else:
            username = request.session.get("user")
            epoch = request.session.get("epoch")
            sid = request.session.get("sid")
            via_token = False
            if not username or not isinstance(username, str):
                return None
        user = get_site(request)["users"].get(username)
        if user is None or not user.active or user.token_epoch != epoch:
            return None
        if not via_token and not user.has_session(sid, self.session_max_age):
            return None  # logged out (or every session revoked): the cookie is worth nothing
        return Identity(user.username, user.title, tuple(user.roles), user.unit, via_token,
                        bool(user.must_change_password))

    def authenticated_userid(self, request) -> str | None:
        ident = self.identity(request)
        return ident.username if ident else None

    def effective_principals(self, request) -> list[str]:
        ident = self.identity(request)
        if ident is None:
            return [Everyone]
        return [Everyone, Authenticated, *ident.principals]

    def permits(self, request, context, permission):
        return self.helper.permits(context, self.effective_principals(request), permission)

    def remember(self, request, userid, **kw):
        """Start a browser session: a new session id, kept on the user (a write)."""
        from ..content_types.site_access import get_site

        user = kw.get("user") or get_site(request)["users"].get(userid)
        request.session.invalidate()  # no session fixation
        if user is None:
            return []
        request.session["user"] = userid
        request.session["epoch"] = user.token_epoch
        request.session["sid"] = user.open_session(self.session_max_age)
        request.environ.pop("duban.identity", None)
        return []

    def forget(self, request, **kw):
        """End this browser session server-side (other devices stay logged in)."""
        from ..content_types.site_access import get_site

        username, sid = request.session.get("user"), request.session.get("sid")
        if isinstance(username, str) and username and sid:
            user = get_site(request)["users"].get(username)
            if user is not None:
                user.close_session(sid)
        request.session.invalidate()
        request.environ["duban.identity"] = None
        return []


def request_principals(request) -> list[str]:
    """The caller's effective principals, for queries that filter by them (listings, search).

    Pyramid 2's ``request.effective_principals`` consults only a legacy
    authentication policy and answers ``[Everyone]`` here: use this instead.
    """
    from pyramid.interfaces import ISecurityPolicy

    return list(request.registry.getUtility(ISecurityPolicy).effective_principals(request))


@dataclass(frozen=True)
class LoginResult:
    user: object | None
    #: 中文 reason when refused
    reason: str = ""
    #: seconds to wait when throttled (answer 429 with Retry-After), else 0
    retry_after: int = 0


WRONG_CREDENTIALS = "用户名或密码错误"
THROTTLED = "登录尝试过于频繁，为保护账号安全，请 {n} 秒后再试"


def check_login(site, username: str, password: str, client: str = "", environ: dict | None = None) -> LoginResult:
    """Check a login attempt from ``client`` (REMOTE_ADDR) through the throttle.

    A throttled attempt is refused before any password check; otherwise an
    unknown username costs the same argon2 verification as a wrong password
    (:func:`users.verify_login`).  ``environ``: the request's, so that a retried
    request (a ZODB conflict) does not count its failure twice.
    """
    counted = environ is not None and environ.get("duban.login_failure_counted")
    wait = 0 if counted else throttle.retry_after(username, client)
    if wait:
        return LoginResult(None, THROTTLED.format(n=wait), wait)
    key = throttle.account_key(username)
    user = verify_login(site["users"], key, password or "")
    if user is None:
        if not counted:
            throttle.failed(key, client)
            if environ is not None:
                environ["duban.login_failure_counted"] = True
        return LoginResult(None, WRONG_CREDENTIALS)
    throttle.succeeded(key, client)
    return LoginResult(user)


def authenticate(site, username: str, password: str, client: str = "") -> tuple[object | None, str]:
    """Check a login; returns ``(user, "")`` or ``(None, 中文 reason)`` (see :func:`check_login`)."""
    result = check_login(site, username, password, client)
    return result.user, result.reason


#: what a user who must change their password may still reach
_OPEN_ROUTES = {"api.me", "api.me.password", "api.auth.token", "api.openapi"}
_OPEN_VIEWS = {"password", "logout", "login", "lang"}
PASSWORD_CHANGE_REQUIRED = "管理员已重置您的密码，请先修改密码后再继续"


def password_change_gate(event) -> None:
    """``ContextFound``: a user whose password was reset reaches only 修改密码, logout and /me.

    Pages redirect to ``/@@password``; API calls answer 403
    ``{"error": "password_change_required"}``.
    """
    request = event.request
    route = getattr(request, "matched_route", None)
    if route is not None and (route.name in _OPEN_ROUTES or route.name.startswith("__")):
        return  # static files have route names "__static/", "__deform_static/"
    if route is None and request.view_name in _OPEN_VIEWS and getattr(request.context, "type_name", None) == "site":
        return
    ident = request.identity
    if ident is None or not ident.must_change_password:
        return
    if request.path.startswith("/api/"):
        raise Refusal(PASSWORD_CHANGE_REQUIRED + "（POST /api/v1/me/password）", status=403,
                      code="password_change_required")
    raise HTTPSeeOther(location="/@@password")
