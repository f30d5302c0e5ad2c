"""Passwords: the policy, and changing or resetting one (UI, API and CLI share these).

Policy (every message Chinese, one field error): 8–128 characters, at least two
of letters / digits / symbols, not the username (nor containing it), not the
demo password, and a change must pick a new one.  Changing or resetting a
password revokes every session and API token of the user
(:meth:`User.set_password`); a reset sets ``must_change_password``, which
closes everything but the change-password page and endpoint until the user
has chosen their own.
"""

from __future__ import annotations

import colander

from ..audit.log import record
from ..timeutil import isoformat, now

MIN_LENGTH = 8
MAX_LENGTH = 128
#: the demo sites' shared password (content_types.bootstrap.DEMO_PASSWORD): never a real one
DEMO_PASSWORD = "duban-demo"


def _classes(password: str) -> int:
    letters = any(c.isalpha() for c in password)
    digits = any(c.isdigit() for c in password)
    symbols = any(not c.isalnum() for c in password)
    return letters + digits + symbols


def policy_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with ``password`` as a new password for ``username`` (empty: nothing)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 位")
    elif len(password) > MAX_LENGTH:
        problems.append(f"密码不能超过 {MAX_LENGTH} 位")
    if password and _classes(password) < 2:
        problems.append("密码须包含字母、数字、符号中的至少两类")
    name = (username or "").lower()
    if name and (password.lower() == name or (len(name) >= 3 and name in password.lower())):
        problems.append("密码不能与用户名相同，也不能包含用户名")
    if password == DEMO_PASSWORD:
        problems.append("不能使用演示密码")
    return problems


def policy_validator(username: str):
    """A colander validator applying :func:`policy_problems` for ``username``."""
    def check(node, value):
        problems = policy_problems(value, username)
        if problems:
            raise colander.Invalid(node, "；".join(problems))
    return check


POLICY_HINT = "至少 8 位，须包含字母、数字、符号中的至少两类，不能包含用户名"


@colander.deferred
def _old_password_check(node, kw):
    user = kw["user"]
    on_wrong = kw.get("on_wrong_password") or (lambda: None)

    def check(node, value):
        if not user.check_password(value):
            on_wrong()
            raise colander.Invalid(node, "原密码不正确")
    return check


@colander.deferred
def _new_password_check(node, kw):
    return policy_validator(kw["user"].username)


def _differs_from_old(node, value):
    if value["new_password"] == value["old_password"]:
        exc = colander.Invalid(node)
        exc["new_password"] = "新密码不能与原密码相同"
        raise exc


class PasswordChangeSchema(colander.MappingSchema):
    """``{"old_password", "new_password"}``; bind with ``user`` (and ``on_wrong_password``)."""

    old_password = colander.SchemaNode(colander.String(), title="原密码", validator=_old_password_check)
    new_password = colander.SchemaNode(colander.String(), title="新密码", validator=_new_password_check,
                                       description=POLICY_HINT)
    validator = staticmethod(_differs_from_old)


def change_password(site, user, new_password: str, actor: str, **detail) -> None:
    """The user chose a new password: sessions and tokens revoked, the reset flag cleared."""
    user.set_password(new_password)
    user.must_change_password = False
    user.password_changed = isoformat(now())
    record(site, "user", actor, f"user:{user.username}", op="change_password", **detail)


def reset_password(site, user, temporary: str, actor: str, **detail) -> None:
    """An admin set a temporary password: the user must change it at the next login."""
    user.set_password(temporary)
    user.must_change_password = True
    user.password_changed = isoformat(now())
    record(site, "user", actor, f"user:{user.username}", op="reset_password", **detail)
