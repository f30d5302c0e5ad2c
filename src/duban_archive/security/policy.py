"""The Pyramid 2 security policy.

Identity comes from a bearer token (API clients) or the session cookie
(browser).  Permissions come from ``__acl__`` on the context: items get theirs
from the workflow engine (state permission map + the item's units), the site
and boards from :mod:`duban_archive.security.acl`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.authorization import ACLHelper, Authenticated, Everyone

from . import throttle
from .roles import user_principals
from .tokens import read_token


@dataclass(frozen=True)
class Identity:
    username: str
    title: str
    roles: tuple[str, ...]
    unit: str | None
    via_token: bool

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
    def __init__(self, secret: str) -> None:
        self.secret = secret
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
        if token is not None:
            found = read_token(self.secret, token)
            if found is None:
                return None
            username, epoch = found
            via_token = True
        else:
            username = request.session.get("user")
            epoch = request.session.get("epoch")
            via_token = False
            if not username:
                return None
        user = get_site(request)["users"].get(username)
        if user is None or not user.active or user.token_epoch != epoch:
            return None
        return Identity(user.username, user.title, tuple(user.roles), user.unit, via_token)

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
        user = kw.get("user")
        request.session.invalidate()  # no session fixation
        request.session["user"] = userid
        request.session["epoch"] = user.token_epoch if user is not None else 0
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return []


def request_principals(request) -> list[str]:
    """The caller's effective principals, for queries that filter by them (listings, search).

    Pyramid 2's ``request.effective_principals`` consults only a legacy
    authentication policy and answers ``[Everyone]`` here: use this instead.
    """
    from pyramid.interfaces import ISecurityPolicy

    return list(request.registry.getUtility(ISecurityPolicy).effective_principals(request))


def authenticate(site, username: str, password: str, client: str = "") -> tuple[object | None, str]:
    """Check a login; returns ``(user, "")`` or ``(None, 中文 reason)``.

    Throttled per username: after repeated failures the account is locked
    for a while, whatever the password.
    """
    key = (username or "").strip().lower()
    wait = throttle.locked_for(key)
    if wait:
        return None, f"登录失败次数过多，请 {max(1, wait // 60)} 分钟后再试"
    user = site["users"].get(key)
    if user is None or not user.check_password(password or ""):
        throttle.failed(key)
        return None, "用户名或密码错误"
    throttle.succeeded(key)
    return user, ""
