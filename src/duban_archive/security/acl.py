"""Fixed ACLs for the containers above items.

Items carry their own ``__acl__`` from the workflow engine; these are the
site-wide grants: who may add items, manage users, search archives.

三员分立 (GB/T 39784): the three administrators hold disjoint site permissions —

* ``sysadmin`` 系统管理员: ``manage`` (accounts exist, are edited, reset, deactivated; units;
  calendar and workflow pages) — never roles, never the audit log;
* ``secadmin`` 安全保密管理员: ``grant_roles`` (every role, business ones included) and
  ``security_settings`` — never an account's existence;
* ``secauditor`` 安全审计员: ``read_audit_log`` (the site-wide log, the other two's actions
  first) — read-only everywhere.

All three see the user list (``list_users``): each needs it for their part.
The business ``auditor`` (业务审计员) keeps ``audit_search``/``view_audit`` on records.
"""

from __future__ import annotations

from pyramid.authorization import ALL_PERMISSIONS, Allow, Authenticated, Deny, Everyone

SITE_ACL = (
    (Allow, "role:sysadmin", ("view", "manage", "list_users", "search")),
    (Allow, "role:secadmin", ("view", "grant_roles", "security_settings", "list_users", "search")),
    (Allow, "role:secauditor", ("view", "read_audit_log", "list_users")),
    (Allow, "role:supervisor", ("view", "add_item", "search", "view_audit", "manage_rules")),
    (Allow, "role:leader", ("view", "search")),
    (Allow, "role:records_officer", ("view", "search", "records", "view_audit", "disposal_register")),
    (Allow, "role:auditor", ("view", "search", "audit_search", "view_audit", "disposal_register")),
    (Allow, "role:disposal_approver", ("view", "search", "approve_disposal", "disposal_register")),
    (Allow, Authenticated, ("view", "search")),
    (Deny, Everyone, ALL_PERMISSIONS),
)
