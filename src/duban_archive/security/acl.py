"""Fixed ACLs for the containers above items.

Items carry their own ``__acl__`` from the workflow engine; these are the
site-wide grants: who may add items, manage users, search archives.
"""

from __future__ import annotations

from pyramid.authorization import ALL_PERMISSIONS, Allow, Authenticated, Deny, Everyone

SITE_ACL = (
    (Allow, "role:admin", ("view", "manage", "view_audit", "search")),
    (Allow, "role:supervisor", ("view", "add_item", "search", "view_audit", "manage_rules")),
    (Allow, "role:leader", ("view", "search")),
    (Allow, "role:records_officer", ("view", "search", "records", "view_audit", "disposal_register")),
    (Allow, "role:auditor", ("view", "search", "audit_search", "view_audit", "disposal_register")),
    (Allow, "role:disposal_approver", ("view", "search", "approve_disposal", "disposal_register")),
    (Allow, Authenticated, ("view", "search")),
    (Deny, Everyone, ALL_PERMISSIONS),
)
