"""API errors: one shape for every refusal (API.md "Errors").

``{"error": "<code>", "message": "<中文说明>", "fields": {...}}``.  Domain
operations raise :class:`duban_archive.errors.Refusal`; under ``/api/`` it is
rendered here (status, code, message, fields as it says).  API views may raise
:class:`ApiError`, the same refusal with the status first.  Either aborts the
transaction, so a refused request changes nothing.
"""

from __future__ import annotations

import errno
import json
import logging
from pathlib import Path

import transaction
from pyramid.events import ApplicationCreated, NewRequest, subscriber
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.response import Response
from pyramid.view import exception_view_config

from ... import vardir
from ...content_types.actions import Frozen
from ...content_types.attachment import UploadRefused
from ...errors import CODES, Refusal
from ...validation import ValidationFailed
from ...workflows.engine import WorkflowError

log = logging.getLogger(__name__)

__all__ = ["CODES", "ApiError", "Refusal", "error_response"]


class ApiError(Refusal):
    """A refusal raised by an API view itself: ``ApiError(status, message, fields=None, code=None, headers=None)``."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, fields, status=status, code=code, headers=headers)


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def error_response(request, status: int, message: str, fields=None, code=None):
    request.response.status_int = status
    request.response.headers["Cache-Control"] = "no-store"
    tm = getattr(request, "tm", None)
    if tm is not None and not tm.isDoomed():
        tm.doom()  # a refused request changes nothing
    return {"error": code or CODES.get(status, "error"), "message": message, "fields": fields or {}}


@exception_view_config(ApiError, renderer="json")
@exception_view_config(Refusal, path_info=r"^/api/", renderer="json")
def api_error(exc: Refusal, request):
    """A refusal as API.md's error (an HTML page gets it from ``views/errors.py``)."""
    request.response.headers.update(exc.headers)
    return error_response(request, exc.status, exc.message, exc.fields, exc.code)


@exception_view_config(ValidationFailed, renderer="json")
def validation_failed(exc, request):
    return error_response(request, 400, exc.message, exc.fields)


@exception_view_config(WorkflowError, renderer="json")
def workflow_error(exc, request):
    return error_response(request, exc.status, exc.message, exc.fields)


@exception_view_config(UploadRefused, renderer="json")
def upload_refused(exc, request):
    return error_response(request, exc.status, exc.message, {"file": exc.message})


@exception_view_config(UnicodeDecodeError, path_info=r"^/api/", renderer="json")
def bad_encoding(exc, request):
    return error_response(request, 400, "请求参数不是有效的 UTF-8 文本", {"_": "请求参数不是有效的 UTF-8 文本"})


@exception_view_config(Frozen, renderer="json")
def frozen(exc, request):
    return error_response(request, 403, exc.message)


@exception_view_config(HTTPForbidden, path_info=r"^/api/", renderer="json")
def forbidden(exc, request):
    if request.authenticated_userid is None:
        return error_response(request, 401, "未登录或令牌无效/已过期")
    return error_response(request, 403, "您没有执行此操作的权限")


@exception_view_config(BadCSRFToken, path_info=r"^/api/", renderer="json")
def bad_csrf(exc, request):
    return error_response(request, 403, "缺少或错误的 CSRF 令牌：使用登录会话调用 API 时须带 X-CSRF-Token 请求头，"
                          "或改用 Authorization: Bearer 令牌", code="csrf_failed")


@exception_view_config(HTTPNotFound, path_info=r"^/api/", renderer="json")
def not_found(exc, request):
    return error_response(request, 404, "资源不存在")


# -- a full disk ------------------------------------------------------------------------------
# Every write (an upload, a login's audit entry, a download's audit entry, an auditor's look)
# commits to var/ (Data.fs, blobs) or PostgreSQL.  When that fails for want of space the request
# is refused as a whole — 507 with a clear message, nothing written — instead of waitress's bare
# 500: a login or a download whose audit entry cannot be written is refused, since the audit log
# must not miss it (DESIGN.md "every look is audit-logged").  The error may come from the view
# (a blob being written) or from the commit (pyramid_tm renders exception views for both).
# So that the admin can still log in, the first such refusal releases ``var/ballast`` (vardir.py):
# the space it frees is kept for logins and small writes until the admin frees more.

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: PostgreSQL's SQLSTATE disk_full (RelStorage)
PG_DISK_FULL = "53100"
DISK_FULL_MESSAGE = "服务器磁盘空间不足，本次操作未能保存（未做任何更改），请联系管理员"
#: the second sentence of every 507: the ballast was used (logins still work) / there is none
ADMIN_BALLAST_USED = ("管理员：数据目录所在磁盘已满，已动用预留空间（var/ballast），登录仍可使用；"
                      "请立即清理磁盘空间，清理后重启服务以恢复预留空间。")
ADMIN_FREE_SPACE = "管理员：数据目录所在磁盘已满，请立即清理磁盘空间。"
ADMIN_BALLAST_USED_EN = ("Administrator: the data directory's disk is full; the reserved space (var/ballast) was "
                         "released so that logins still work. Free disk space now, then restart to reserve it again.")
ADMIN_FREE_SPACE_EN = "Administrator: the data directory's disk is full; free disk space now."


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from is "no space left" (or a quota)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if getattr(exc, "pgcode", None) == PG_DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class DiskFullPredicate:
    """View predicate ``disk_full=True``: the exception view's context is a full-disk error."""

    def __init__(self, value, config) -> None:
        self.value = bool(value)

    def text(self) -> str:
        return f"disk_full = {self.value}"

    phash = text

    def __call__(self, context, request) -> bool:
        return is_disk_full(context) == self.value


def drop_session_changes(request) -> None:
    """Keep the browser's session cookie as it was: a refused login logs nobody in, and a
    flash message ("已上传 …") of a write that was not saved is not shown."""
    callbacks = getattr(request, "response_callbacks", None)
    if callbacks:
        kept = [cb for cb in callbacks if getattr(cb, "__name__", "") != "set_cookie_callback"]
        callbacks.clear()
        callbacks.extend(kept)


def _is_quota(exc: BaseException | None) -> bool:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno == errno.EDQUOT:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _ballast(settings) -> tuple[Path | None, int]:
    var = settings.get("duban.var_dir")
    size = vardir.ballast_bytes(settings)
    return (Path(var), size) if var and size else (None, 0)


def audit_ballast_release(registry, var: Path, cause: str = "") -> bool:
    """Write the ``ballast_released`` audit entry (own connection and transaction: the request's is
    gone); on success ``ballast.released`` says ``audited``.  On failure it stays ``pending`` and the
    next refusal, or the next start, tries again."""
    from ...audit.log import record
    from ...content_types.site_access import open_site

    tm = transaction.TransactionManager()
    try:
        with open_site(registry, tm=tm) as site:
            record(site, "ballast_released", "", note="磁盘空间不足：已释放预留空间 var/ballast，请清理磁盘后重启",
                   request=cause or None, free_bytes=vardir.free_bytes(var))
            tm.commit()
    except Exception as exc:  # still no room, a conflict, no site yet: not this time
        log.warning("the ballast's release is not in the audit log yet (%s): tried again later", exc)
        return False
    vardir.mark_released(var, "audited")
    return True


def disk_full_logged(exc, request) -> bool:
    """Log the refusal, keep the session cookie as it was, release the ballast when this is the
    first refusal with less than its size free; returns whether the ballast has been used."""
    log.error("disk full: %s %s refused (%s)", request.method, request.path, exc)
    drop_session_changes(request)
    var, size = _ballast(request.registry.settings)
    if var is None:
        return False
    vardir.release_ballast(var, size, quota=_is_quota(exc))
    state = vardir.released_state(var)
    if state == "pending":
        audit_ballast_release(request.registry, var, f"{request.method} {request.path}")
    return state is not None


def disk_full_message(ballast_used: bool) -> str:
    return f"{DISK_FULL_MESSAGE}。{ADMIN_BALLAST_USED if ballast_used else ADMIN_FREE_SPACE}"


@subscriber(ApplicationCreated)
def ballast_at_start(event) -> None:
    """At start: a release not audited yet is audited now, then the ballast is (re)created if there is room."""
    registry = event.app.registry
    if not registry.settings.get("duban.var_dir"):
        return
    var, size = Path(registry.settings["duban.var_dir"]), vardir.ballast_bytes(registry.settings)
    if size and vardir.released_state(var) == "pending":
        audit_ballast_release(registry, var, "start")
    vardir.ensure_ballast(var, size)  # size 0: a ballast from before is removed


@subscriber(NewRequest)
def keep_reserve(event) -> None:
    """While the ballast's space is all that is left, refuse bodies over ``RESERVE_BODY`` (uploads)
    up front with the same 507, so that logins keep their room."""
    request = event.request
    length = request.content_length
    if not length or length <= vardir.RESERVE_BODY:
        return
    var, size = _ballast(request.registry.settings)
    if var is not None and vardir.in_reserve(var, size):
        raise OSError(errno.ENOSPC, "disk space reserved for logins (the ballast was released)")


@exception_view_config(Exception, disk_full=True, path_info=r"^/api/")
def insufficient_storage(exc, request):
    """``{"error": "insufficient_storage", "message": …}`` with 507 (built here, not rendered:
    after a failed commit the request's transaction is gone)."""
    used = disk_full_logged(exc, request)
    body = json.dumps({"error": "insufficient_storage", "message": disk_full_message(used), "fields": {},
                       "ballast_released": used}, ensure_ascii=False)
    response = Response(body=body.encode("utf-8"), status=507, content_type="application/json", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
