"""JSON API v1 (the contract in shared/API.md).

Routes are declared here, in one place, so the URL space reads like API.md;
views live in the modules named after the resource they serve.
"""

from __future__ import annotations

ROUTES = [
    ("api.openapi", "/api/v1/openapi.json"),
    ("api.auth.token", "/api/v1/auth/token"),
    ("api.me", "/api/v1/me"),
    ("api.me.password", "/api/v1/me/password"),
    ("api.units", "/api/v1/units"),
    # user administration and the audit log: 三员分立 (issue 15)
    ("api.users", "/api/v1/users"),
    ("api.user", "/api/v1/users/{username}"),
    ("api.user.roles", "/api/v1/users/{username}/roles"),
    ("api.user.password_reset", "/api/v1/users/{username}/password-reset"),
    ("api.user.deactivate", "/api/v1/users/{username}/deactivate"),
    ("api.user.reactivate", "/api/v1/users/{username}/reactivate"),
    ("api.audit", "/api/v1/audit"),
    ("api.password_policy", "/api/v1/security/password-policy"),
    ("api.boards", "/api/v1/boards"),
    ("api.board.items", "/api/v1/boards/{board}/items"),
    ("api.board.ledger.preview", "/api/v1/boards/{board}/ledger/preview"),
    ("api.board.ledger.import", "/api/v1/boards/{board}/ledger/import"),
    ("api.board.ledger.template", "/api/v1/boards/{board}/ledger/template"),
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
    ("api.saved_searches", "/api/v1/saved-searches"),
    ("api.saved_search", "/api/v1/saved-searches/{name}"),
    # notifications, scoring, reports (issue 6)
    ("api.outbox", "/api/v1/outbox"),
    ("api.inbox", "/api/v1/inbox"),
    ("api.inbox.read", "/api/v1/inbox/{id}/read"),
    ("api.item.escalate", "/api/v1/items/{id}/escalate"),
    ("api.item.dispatch_time", "/api/v1/items/{id}/dispatch-time"),
    ("api.item.notice", "/api/v1/items/{id}/notice.pdf"),
    ("api.stats", "/api/v1/stats"),
    ("api.bulletin", "/api/v1/reports/bulletin"),
    ("api.ledger", "/api/v1/ledger.xlsx"),
    ("api.scores.explain", "/api/v1/scores/explain"),
    ("api.scores", "/api/v1/scores"),
    ("api.scores.adjustments", "/api/v1/scores/adjustments"),
    # archive (issue 5)
    ("api.item.dossier", "/api/v1/items/{id}/dossier.pdf"),
    ("api.item.file", "/api/v1/items/{id}/file"),
    ("api.item.package", "/api/v1/items/{id}/package.zip"),
    ("api.item.correction", "/api/v1/items/{id}/corrections"),
    ("api.item.legal_hold", "/api/v1/items/{id}/legal-hold"),
    ("api.item.disposal", "/api/v1/items/{id}/disposal"),
    ("api.item.disposal.approve", "/api/v1/items/{id}/disposal/approve"),
    ("api.item.disposal.reject", "/api/v1/items/{id}/disposal/reject"),
    ("api.disposals", "/api/v1/disposals"),
    ("api.disposal_register", "/api/v1/disposal-register"),
    ("api.disposal_register.xlsx", "/api/v1/disposal-register.xlsx"),
    ("api.disposal_register.pdf", "/api/v1/disposal-register.pdf"),
    ("api.filing_list", "/api/v1/filing-list"),
    ("api.archive.queue", "/api/v1/archive/queue"),
    ("api.archive.transfer", "/api/v1/archive/transfer.zip"),
    # the self-proving package (issue 13): DA/T 48 EEP, the site's SM2 public key
    ("api.item.eep", "/api/v1/items/{id}/eep.xml"),
    ("api.archive.public_key", "/api/v1/archive/public-key"),
    # 移交与接收 (issue 13)
    ("api.transfers", "/api/v1/transfers"),
    ("api.transfer.candidates", "/api/v1/transfers/candidates"),
    ("api.transfer", "/api/v1/transfers/{id}"),
    ("api.transfer.cancel", "/api/v1/transfers/{id}/cancel"),
    ("api.transfer.receipt", "/api/v1/transfers/{id}/receipt"),
    ("api.transfer.register_pdf", "/api/v1/transfers/{id}/register.pdf"),
    ("api.transfer.register_xlsx", "/api/v1/transfers/{id}/register.xlsx"),
    ("api.transfer.package", "/api/v1/transfers/{id}/package.zip"),
]


def includeme(config) -> None:
    for name, pattern in ROUTES:
        config.add_route(name, pattern)
