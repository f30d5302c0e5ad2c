"""The OpenAPI 3 description served at ``GET /api/v1/openapi.json``.

Each API module documents its routes next to their views with
:func:`document`; a test checks that every ``/api/`` route of the running app
is described here, so the description cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config

#: (route name, method) -> operation description
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {}

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string", "description": "中文说明"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def document(route_name: str, method: str, summary: str, *, request: dict | None = None,
             response: dict | None = None, status: int = 200, params: list[dict] | None = None,
             errors: tuple[int, ...] = (400, 401, 403, 404), content_type: str = "application/json",
             auth: bool = True) -> None:
    """Describe one operation (call at import time, beside the view)."""
    op: dict[str, Any] = {"summary": summary, "operationId": f"{route_name}.{method.lower()}"}
    if params:
        op["parameters"] = params
    if request is not None:
        op["requestBody"] = {"required": True, "content": {
            "multipart/form-data" if request.get("multipart") else "application/json": {
                "schema": {k: v for k, v in request.items() if k != "multipart"}}}}
    responses: dict[str, Any] = {
        str(status): {"description": "OK", "content": {content_type: {"schema": response or {}}}}
    }
    for code in errors:
        responses[str(code)] = {"description": "错误", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    if not auth:
        op["security"] = []
    OPERATIONS[(route_name, method.upper())] = op


def spec(request) -> dict[str, Any]:
    mapper = request.registry.getUtility(_route_mapper_iface())
    paths: dict[str, Any] = {}
    for route in mapper.get_routes():
        for (name, method), op in OPERATIONS.items():
            if name == route.name:
                paths.setdefault(route.pattern, {})[method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {"title": "duban_archive API", "version": "1.0.0",
                 "description": "督查督办档案系统 JSON API v1（见 shared/API.md）"},
        "servers": [{"url": request.application_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _route_mapper_iface():
    from pyramid.interfaces import IRoutesMapper

    return IRoutesMapper


document("api.openapi", "GET", "本 API 的 OpenAPI 3 描述", response={"type": "object"}, auth=False,
         errors=())


@view_config(route_name="api.openapi", renderer="json", request_method="GET", require_csrf=False)
def openapi_view(request):
    return spec(request)
