"""The OpenAPI description cannot drift: every /api/ route and method of the running app is in it."""

from __future__ import annotations

from pyramid.interfaces import IRoutesMapper

IGNORED_METHODS = {"HEAD", "OPTIONS"}


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
