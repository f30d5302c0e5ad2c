"""Roles (DESIGN.md "Who uses it") and the principals they become.

Principals are plain strings:
``user:<name>``, ``role:<role>``, ``unit:<unit>`` and ``unit:<unit>:<role>``.
Workflow permission maps name global roles (``supervisor``) or roles relative
to the item's units (``lead:handler``, ``assist:unit_head``, ``lead:*``);
:func:`principals_for_token` turns those into principals for one item.
"""

from __future__ import annotations

ROLES = {
    "supervisor": "督查室",
    "leader": "领导",
    "unit_head": "承办单位负责人",
    "handler": "承办人",
    "records_officer": "档案员",
    "disposal_approver": "档案鉴定审批人",
    "auditor": "业务审计员",
    # 三员分立 (GB/T 39784, 分级保护): three administrators, kept apart (ADMIN_ROLES)
    "sysadmin": "系统管理员",
    "secadmin": "安全保密管理员",
    "secauditor": "安全审计员",
}
#: the three administrator roles: an account holds at most one of them (:func:`separation_problem`)
ADMIN_ROLES = ("sysadmin", "secadmin", "secauditor")
#: roles that act for a unit (local roles on the unit's items)
UNIT_ROLES = ("unit_head", "handler")


def separation_problem(roles) -> str:
    """Why ``roles`` may not be held by one account (三员分立), or "".

    Whoever holds two of the three could approve their own work: create an account and grant it
    rights, or act and then read (and judge) the record of their own actions.
    """
    held = [r for r in ADMIN_ROLES if r in set(roles)]
    if len(held) < 2:
        return ""
    return (f"三员分立：同一账号不能兼任{'、'.join(ROLES[r] for r in held)}，"
            "系统管理员、安全保密管理员、安全审计员须由不同账号担任")


def user_principals(username: str, roles, unit: str | None) -> list[str]:
    out = [f"user:{username}"]
    out += [f"role:{r}" for r in roles]
    if unit:
        out.append(f"unit:{unit}")
        out += [f"unit:{unit}:{r}" for r in roles if r in UNIT_ROLES]
    return out


def principals_for_token(token: str, lead_unit: str | None, assist_units) -> list[str]:
    """Expand a permission-map role token for an item with these units."""
    if ":" not in token:
        if token == "authenticated":
            return ["system.Authenticated"]
        return [f"role:{token}"]
    scope, role = token.split(":", 1)
    if scope == "lead":
        units = [lead_unit] if lead_unit else []
    elif scope == "assist":
        units = list(assist_units or ())
    elif scope == "user":
        return [f"user:{role}"]
    else:
        raise ValueError(f"unknown role scope in {token!r}")
    if role == "*":
        return [f"unit:{u}" for u in units]
    return [f"unit:{u}:{role}" for u in units]


def is_valid_token(token: str) -> bool:
    if ":" not in token:
        return token in ROLES or token == "authenticated"
    scope, role = token.split(":", 1)
    return scope in ("lead", "assist") and (role == "*" or role in UNIT_ROLES)
