"""Refuse unwanted request bodies before anything reads them.

Two refusals are decided from the headers alone:

* a body larger than the upload limit (``duban.max_upload_bytes`` plus room
  for the multipart envelope) — 413;
* a body sent without credentials (no session user, no validly signed bearer
  token) to anything but the two login endpoints — 401 for the API, the
  login-required page for the UI; and more than :data:`ANONYMOUS_BODY` bytes
  to a login endpoint — 413.

Reading happens early in two places, so both consult :func:`early_refusal`:
pyramid_retry spools the body for retries before any tween runs (our
execution policy, ``views/retry.py``, then asks for a single attempt, which skips
the spooling), and Pyramid's CSRF check parses the form before the view.
The tween here answers before either, and before ``views.multipart`` (the
tween under this one) parses a multipart body.  waitress itself buffers a body up to
its ``max_request_body_size`` before calling the app; the server runner
(``scripts/serve.py``) derives that from the same upload limit, so a larger
body is cut at the socket.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden, HTTPRequestEntityTooLarge

from ..settings import FORM_OVERHEAD, body_limit  # noqa: F401 (moved there: scripts/serve.py uses it too)

#: a login form or token request never needs more
ANONYMOUS_BODY = 64 * 1024
#: where a body without credentials is expected
LOGIN_PATHS = frozenset({"/login", "/api/v1/auth/token"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _has_credentials(request) -> bool:
    """Credentials as the headers show them, without the database or the body."""
    from ..security.policy import bearer_token
    from ..security.tokens import read_token

    token = bearer_token(request)
    if token is not None:
        return read_token(request.registry.settings["duban.secret"], token) is not None
    try:
        return bool(request.session.get("user"))
    except Exception:  # noqa: BLE001 — an unreadable cookie is no credential
        return False


def _has_body(request) -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def early_refusal(request) -> int | None:
    """413 or 401 when the body must not be read at all, else None."""
    if request.method in SAFE_METHODS or not _has_body(request):
        return None
    length = request.content_length or 0
    if length > body_limit(request.registry.settings):
        return 413
    if _has_credentials(request):
        return None
    if request.path_info in LOGIN_PATHS:
        return 413 if length > ANONYMOUS_BODY else None
    return 401


def retry_attempts(request) -> int | None:
    """pyramid_retry's ``activate_hook``: one attempt (no spooled copy) for a refused body."""
    return 1 if early_refusal(request) else None


def _refuse(request, status: int):
    from .attachments import too_large_message

    if request.path_info.startswith("/api/"):
        from .api.errors import ApiError

        if status == 413:
            message = too_large_message(request)
            exc = ApiError(413, message, {"file": message})
        else:
            exc = ApiError(401, "未登录或令牌无效/已过期：请先登录再提交")
    elif status == 413:
        exc = HTTPRequestEntityTooLarge(too_large_message(request))
    else:
        exc = HTTPForbidden()
    try:
        return request.invoke_exception_view((type(exc), exc, None))
    except Exception:  # noqa: BLE001 — no error view: the bare status still says why
        from pyramid.response import Response

        return Response(str(exc), status=status, content_type="text/plain", charset="utf-8")


def body_limit_tween_factory(handler, registry):
    def body_limit_tween(request):
        status = early_refusal(request)
        if status is not None:
            return _refuse(request, status)
        return handler(request)

    return body_limit_tween
