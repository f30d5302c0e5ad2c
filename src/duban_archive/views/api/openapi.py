"""The OpenAPI 3 description served at ``GET /api/v1/openapi.json``.

Each API module documents its routes next to their views with
:func:`document`; a test checks that every ``/api/`` route of the running app
is described here, that the description is a valid OpenAPI 3.0 document, and
Schemathesis checks the running app against it (``tests/api/test_schemathesis.py``).
Named body schemas live in :mod:`.schemas` (``response=ref("Item")``).
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.view import view_config

from .schemas import components

#: (route name, method) -> operation description
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {}

ERROR_DESCRIPTIONS = {
    400: "请求有误（fields 逐项说明）", 401: "未登录或令牌无效/已过期", 403: "当前角色或状态不允许",
    404: "资源不存在", 409: "冲突：事项已变化或操作已不可行", 413: "文件过大", 415: "不接受的文件类型",
    429: "请求过多（如登录失败次数过多，见 Retry-After）",
}
#: answers every operation under a path prefix may give besides its own: (prefix, status, description,
#: prefixes excepted); e.g. 410 for the URLs of a destroyed item (views/api/disposal.py)
PATH_ERRORS: list[tuple[str, int, str, tuple[str, ...]]] = []
#: ``{name}`` or ``{name:regex}`` in a Pyramid route pattern
_PLACEHOLDER = re.compile(r"\{(\w+)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def document(route_name: str, method: str, summary: str, *, request: dict | None = None,
             response: dict | None = None, status: int = 200, params: list[dict] | None = None,
             errors: tuple[int, ...] = (400, 401, 403, 404), content_type: str = "application/json",
             auth: bool = True, more_content: dict[str, dict] | None = None) -> None:
    """Describe one operation (call at import time, beside the view).

    ``response`` is the schema of the ``status`` answer in ``content_type``;
    ``more_content`` adds other media types that answer (``{"application/pdf": {...}}``).
    Path parameters the route pattern names are declared by :func:`spec` when ``params``
    does not.  Operations needing a login always list 401, and 409: any of them may write (an
    audit entry at least), and a write that keeps conflicting with others is answered 409
    (``views/retry.py``).
    """
    op: dict[str, Any] = {"summary": summary, "operationId": f"{route_name}.{method.lower()}"}
    if params:
        op["parameters"] = params
    if request is not None:
        op["requestBody"] = {"required": True, "content": {
            "multipart/form-data" if request.get("multipart") else "application/json": {
                "schema": {k: v for k, v in request.items() if k != "multipart"}}}}
    content = {content_type: {"schema": response or {}}}
    content.update({media: {"schema": schema} for media, schema in (more_content or {}).items()})
    responses: dict[str, Any] = {str(status): {"description": "OK", "content": content}}
    if auth:
        errors = (*errors, *(code for code in (401, 409) if code not in errors))
    for code in sorted(errors):
        responses[str(code)] = {"description": ERROR_DESCRIPTIONS.get(code, "错误"), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    if not auth:
        op["security"] = []
    OPERATIONS[(route_name, method.upper())] = op


def path_parameters(pattern: str) -> tuple[str, list[str]]:
    """``("/items/{id}", ["id"])`` for the Pyramid pattern ``/items/{id}`` (or ``/items/{id:\\d+}``)."""
    names = _PLACEHOLDER.findall(pattern)
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + "}", pattern), names


def with_path_parameters(op: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """``op`` declaring every path parameter of its route (a string, unless ``params`` says otherwise)."""
    declared = {p["name"] for p in op.get("parameters", ()) if p.get("in") == "path"}
    missing = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
               for n in names if n not in declared]
    if not missing:
        return op
    return {**op, "parameters": missing + list(op.get("parameters", ()))}


def spec(request) -> dict[str, Any]:
    mapper = request.registry.getUtility(_route_mapper_iface())
    paths: dict[str, Any] = {}
    for route in mapper.get_routes():
        path, names = path_parameters(route.pattern)
        for (name, method), op in OPERATIONS.items():
            if name == route.name:
                paths.setdefault(path, {})[method.lower()] = with_path_errors(path, with_path_parameters(op, names))
    return {
        "openapi": "3.0.3",
        "info": {"title": "duban_archive API", "version": "1.0.0",
                 "description": "督查督办档案系统 JSON API v1（说明见仓库 docs/api.md）"},
        "servers": [{"url": request.application_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components(request.registry),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def with_path_errors(path: str, op: dict[str, Any]) -> dict[str, Any]:
    """``op`` with the :data:`PATH_ERRORS` of its path added (a copy; nothing when none applies)."""
    extra = {str(code): {"description": text, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for prefix, code, text, unless in PATH_ERRORS
        if path.startswith(prefix) and not path.startswith(unless) and str(code) not in op["responses"]}
    if not extra:
        return op
    return {**op, "responses": dict(sorted({**op["responses"], **extra}.items(), key=lambda kv: int(kv[0])))}


def _route_mapper_iface():
    from pyramid.interfaces import IRoutesMapper

    return IRoutesMapper


document("api.openapi", "GET", "本 API 的 OpenAPI 3 描述", response={"type": "object"}, auth=False,
         errors=())


@view_config(route_name="api.openapi", renderer="json", request_method="GET", require_csrf=False)
def openapi_view(request):
    return spec(request)
