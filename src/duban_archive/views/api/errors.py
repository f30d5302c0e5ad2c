"""API errors: one shape for every refusal (API.md "Errors").

``{"error": "<code>", "message": "<中文说明>", "fields": {...}}``.  Raising
ApiError anywhere in an API view aborts the transaction, so a refused request
changes nothing.
"""

from __future__ import annotations

from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from pyramid.view import exception_view_config

from ...content_types.actions import Frozen
from ...content_types.attachment import UploadRefused
from ...validation import ValidationFailed
from ...workflows.engine import WorkflowError

CODES = {
    400: "invalid", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    409: "conflict", 413: "too_large", 415: "unsupported_type", 429: "too_many_requests",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, "error")
        self.headers = headers or {}


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
def api_error(exc, request):
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
