"""JSON API v1 (the contract in shared/API.md).

Routes are declared here, in one place, so the URL space reads like API.md;
views live in the modules named after the resource they serve.
"""

from __future__ import annotations

ROUTES = [
    ("api.openapi", "/api/v1/openapi.json"),
    ("api.auth.token", "/api/v1/auth/token"),
    ("api.me", "/api/v1/me"),
    ("api.units", "/api/v1/units"),
    ("api.boards", "/api/v1/boards"),
    ("api.board.items", "/api/v1/boards/{board}/items"),
    ("api.items", "/api/v1/items"),
    ("api.item", "/api/v1/items/{id}"),
    ("api.item.feedback", "/api/v1/items/{id}/feedback"),
    ("api.item.instructions", "/api/v1/items/{id}/instructions"),
    ("api.item.attachments", "/api/v1/items/{id}/attachments"),
    ("api.item.audit", "/api/v1/items/{id}/audit"),
    ("api.attachment.content", "/api/v1/attachments/{id}/content"),
    ("api.item.transitions", "/api/v1/items/{id}/transitions"),
    ("api.item.transition", "/api/v1/items/{id}/transitions/{name}"),
    ("api.worklist", "/api/v1/worklist"),
    ("api.deadlines", "/api/v1/deadlines"),
    ("api.search", "/api/v1/search"),
]


def includeme(config) -> None:
    for name, pattern in ROUTES:
        config.add_route(name, pattern)
