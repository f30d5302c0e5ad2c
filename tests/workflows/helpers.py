"""Firing transitions as the demo users (their real principals)."""

from __future__ import annotations

import io

from duban_archive.security.roles import user_principals


def who(site, username: str) -> list[str]:
    user = site["users"][username]
    return ["system.Everyone", "system.Authenticated", *user_principals(user.username, user.roles, user.unit)]


def fire(registry, site, item, name: str, username: str, **data):
    wf = registry.duban_workflows[item.workflow]
    return wf.fire(item, name, username, who(site, username), data, site=site)


def available(registry, site, item, username: str) -> set[str]:
    wf = registry.duban_workflows[item.workflow]
    return {t.name for t in wf.available(item, who(site, username))}


def attach(registry, site, item, kind: str = "signed_report", username: str = "unit_head"):
    from duban_archive.content_types.actions import add_attachment

    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    return add_attachment(site, item, io.BytesIO(pdf), "report.pdf", kind, "盖章报告", username,
                          max_bytes=10 << 20, registry=registry)


def add_user(site, username: str, roles, unit: str | None) -> None:
    from duban_archive.security.users import User

    if username not in site["users"]:
        user = User(username, username, roles, unit)
        user.set_password("duban-demo")
        site["users"].add_user(user)
