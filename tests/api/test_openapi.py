"""The OpenAPI description cannot drift: every /api/ route and method of the running app is in it,
every path parameter is declared, and the document is valid OpenAPI 3 (openapi-spec-validator).
Whether the app answers as described is tests/api/test_schemathesis.py's job.
"""

from __future__ import annotations

import re

from openapi_spec_validator import OpenAPIV30SpecValidator
from pyramid.interfaces import IRoutesMapper

IGNORED_METHODS = {"HEAD", "OPTIONS"}
PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def served_operations(app) -> dict[str, set[str]]:
    """``{pattern: {METHOD}}`` for every view bound to an /api/ route of the running app."""
    mapper = app.registry.getUtility(IRoutesMapper)
    patterns = {r.name: r.pattern for r in mapper.get_routes() if r.pattern.startswith("/api/")}
    served: dict[str, set[str]] = {p: set() for p in patterns.values()}
    for view in app.registry.introspector.get_category("views"):
        intr = view["introspectable"]
        route = intr["route_name"]
        if route not in patterns:
            continue
        methods = intr["request_methods"]
        if methods is None:  # a view answering any method must document them all
            methods = ("GET", "POST", "PUT", "PATCH", "DELETE")
        elif isinstance(methods, str):
            methods = (methods,)
        served[patterns[route]] |= {m.upper() for m in methods} - IGNORED_METHODS
    return served


def test_every_api_route_and_method_is_documented(app, testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {path: {m.upper() for m in ops} for path, ops in spec["paths"].items()}
    served = served_operations(app)
    assert served, "no /api/ routes found"
    missing = {p: sorted(ms - documented.get(p, set())) for p, ms in served.items() if ms - documented.get(p, set())}
    assert not missing, f"undocumented API operations (call openapi.document next to the view): {missing}"
    routes_without_views = sorted(p for p, ms in served.items() if not ms)
    assert not routes_without_views, f"API routes without any view: {routes_without_views}"
    phantom = {p: sorted(ms - served.get(p, set())) for p, ms in documented.items() if ms - served.get(p, set())}
    assert not phantom, f"documented but not served: {phantom}"


def test_the_contract_routes_of_api_md_are_there(testapp):
    paths = testapp.get("/api/v1/openapi.json").json["paths"]
    contract = {
        "/api/v1/auth/token": "post", "/api/v1/me": "get", "/api/v1/units": "get", "/api/v1/boards": "get",
        "/api/v1/boards/{board}/items": "post", "/api/v1/items": "get", "/api/v1/items/{id}": "patch",
        "/api/v1/items/{id}/feedback": "post", "/api/v1/items/{id}/instructions": "post",
        "/api/v1/items/{id}/attachments": "post", "/api/v1/attachments/{id}/content": "get",
        "/api/v1/items/{id}/audit": "get",
    }
    for path, method in contract.items():
        assert method in paths.get(path, {}), (path, method)
    upload = paths["/api/v1/items/{id}/attachments"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "413", "415"} <= set(upload["responses"])
    assert paths["/api/v1/auth/token"]["post"]["security"] == []


def test_an_undocumented_route_would_be_caught(app, testapp):
    """The check above really fails when someone adds a route without documenting it."""
    from pyramid.config import Configurator

    config = Configurator(registry=app.registry)
    config.add_route("api.test.undocumented", "/api/v1/__undocumented__")
    config.add_view(lambda request: {}, route_name="api.test.undocumented", request_method="GET", renderer="json")
    config.commit()
    served = served_operations(app)
    assert served["/api/v1/__undocumented__"] == {"GET"}
    assert "/api/v1/__undocumented__" not in testapp.get("/api/v1/openapi.json").json["paths"]


def test_the_document_is_valid_openapi_3(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV30SpecValidator(spec).iter_errors()]
    assert not errors, "\n".join(errors)


def test_every_path_parameter_is_declared(testapp):
    """…and every declared one is in the path (what openapi-spec-validator checks, said plainly)."""
    spec = testapp.get("/api/v1/openapi.json").json
    wrong = {}
    for path, ops in spec["paths"].items():
        in_path = set(PLACEHOLDER.findall(path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", ()) if p["in"] == "path"}
            if declared != in_path:
                wrong[f"{method.upper()} {path}"] = {"undeclared": sorted(in_path - declared),
                                                     "not in the path": sorted(declared - in_path)}
            assert all(p["required"] for p in op.get("parameters", ()) if p["in"] == "path"), (method, path)
    assert not wrong, wrong


def test_bodies_have_real_schemas(testapp):
    """Items, feedback, attachments, transitions and search name their shapes; errors are the one Error shape."""
    spec = testapp.get("/api/v1/openapi.json").json
    paths, schemas = spec["paths"], spec["components"]["schemas"]

    def body(path, method, status="200", media="application/json"):
        return paths[path][method]["responses"][status]["content"][media]["schema"]

    def request(path, method, media="application/json"):
        return paths[path][method]["requestBody"]["content"][media]["schema"]

    ref = {"$ref": "#/components/schemas/Item"}
    assert body("/api/v1/items/{id}", "get") == ref and body("/api/v1/items/{id}", "patch") == ref
    assert body("/api/v1/items", "get") == body("/api/v1/boards/{board}/items", "get") == {
        "$ref": "#/components/schemas/ItemList"}
    assert request("/api/v1/boards/{board}/items", "post")["oneOf"][0] == {"$ref": "#/components/schemas/ItemInput"}
    assert request("/api/v1/items/{id}", "patch") == {"$ref": "#/components/schemas/ItemPatch"}
    assert request("/api/v1/items/{id}/feedback", "post") == {"$ref": "#/components/schemas/FeedbackInput"}
    assert body("/api/v1/items/{id}/feedback", "post", "201") == {"$ref": "#/components/schemas/Feedback"}
    assert request("/api/v1/items/{id}/attachments", "post", "multipart/form-data") == {
        "$ref": "#/components/schemas/AttachmentUpload"}
    assert body("/api/v1/items/{id}/attachments", "post", "201") == {"$ref": "#/components/schemas/Attachment"}
    assert body("/api/v1/items/{id}/attachments", "get")["items"] == {"$ref": "#/components/schemas/Attachment"}
    assert body("/api/v1/items/{id}/transitions", "get")["items"] == {"$ref": "#/components/schemas/Transition"}
    assert body("/api/v1/items/{id}/transitions/{name}", "post") == {"$ref": "#/components/schemas/TransitionResult"}
    assert body("/api/v1/search", "get") == {"$ref": "#/components/schemas/SearchResult"}

    # the shapes follow the type definitions (supervision_item.toml, feedback_report.toml)
    assert {"title", "lead_unit", "deadline", "state", "deadlines", "history", "attachments", "feedback", "can"} <= set(
        schemas["Item"]["properties"])
    supervision = schemas["ItemInput.supervision_item"]
    assert {"title", "source", "content", "requirement", "lead_unit"} <= set(supervision["required"])
    assert supervision["additionalProperties"] is False
    assert supervision["properties"]["classification"]["enum"] == ["public", "internal"]  # 涉密 is refused
    assert "registered_on" not in schemas["ItemPatch.supervision_item"]["properties"]  # not editable
    assert set(schemas["FeedbackInput"]["required"]) == {"done", "progress"}
    assert schemas["Attachment"]["properties"]["kind"]["enum"] == ["photo", "signed_report", "other"]
    assert set(schemas["Error"]["required"]) == {"error", "message", "fields"}

    for path, ops in paths.items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert answer["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}, (method, path, status)
            if op.get("security") != []:
                assert "401" in op["responses"], (method, path)
