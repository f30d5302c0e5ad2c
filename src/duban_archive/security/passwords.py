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
#: what the 安全保密管理员 may tighten (``site.settings["password_policy"]``, :func:`set_password_policy`)
DEFAULT_POLICY = {"min_length": MIN_LENGTH, "classes": 2}
#: the demo sites' shared password (content_types.bootstrap.DEMO_PASSWORD): never a real one
DEMO_PASSWORD = "duban-demo"


def _classes(password: str) -> int:
    letters = any(c.isalpha() for c in password)
    digits = any(c.isdigit() for c in password)
    symbols = any(not c.isalnum() for c in password)
    return letters + digits + symbols


def site_policy(site) -> dict[str, int]:
    """The site's password policy: the defaults, tightened by the 安全保密管理员."""
    stored = getattr(site, "settings", {}).get("password_policy") if site is not None else None
    return {**DEFAULT_POLICY, **(dict(stored) if stored else {})}


def policy_of_user(user) -> dict[str, int]:
    """The policy of the site ``user`` belongs to (users live at ``site["users"][name]``)."""
    folder = getattr(user, "__parent__", None)
    return site_policy(getattr(folder, "__parent__", None))


def policy_hint(policy: dict[str, int] | None = None) -> str:
    policy = policy or DEFAULT_POLICY
    kinds = "两类" if policy["classes"] <= 2 else "三类"
    return f"至少 {policy['min_length']} 位，须包含字母、数字、符号中的至少{kinds}，不能包含用户名"


def policy_problems(password: str, username: str = "", policy: dict[str, int] | None = None) -> list[str]:
    """What is wrong with ``password`` as a new password for ``username`` (empty: nothing)."""
    policy = policy or DEFAULT_POLICY
    problems = []
    if len(password) < policy["min_length"]:
        problems.append(f"密码至少 {policy['min_length']} 位")
    elif len(password) > MAX_LENGTH:
        problems.append(f"密码不能超过 {MAX_LENGTH} 位")
    if password and _classes(password) < policy["classes"]:
        kinds = "两类" if policy["classes"] <= 2 else "三类（都要有）"
        problems.append(f"密码须包含字母、数字、符号中的至少{kinds}")
    name = (username or "").lower()
    if name and (password.lower() == name or (len(name) >= 3 and name in password.lower())):
        problems.append("密码不能与用户名相同，也不能包含用户名")
    if password == DEMO_PASSWORD:
        problems.append("不能使用演示密码")
    return problems


def policy_validator(username: str, policy: dict[str, int] | None = None):
    """A colander validator applying :func:`policy_problems` for ``username``."""
    def check(node, value):
        problems = policy_problems(value, username, policy)
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
    return policy_validator(kw["user"].username, policy_of_user(kw["user"]))


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


# -- the 安全保密管理员's setting ----------------------------------------------------------------


class PasswordPolicySchema(colander.MappingSchema):
    """``{"min_length": 8–64, "classes": 2|3}`` — never below the built-in floor."""

    min_length = colander.SchemaNode(colander.Integer(), title="密码最短长度",
                                     validator=colander.Range(MIN_LENGTH, 64, min_err="不能少于 8 位",
                                                              max_err="不能超过 64 位"))
    classes = colander.SchemaNode(colander.Integer(), title="须包含的字符类别数",
                                  description="字母、数字、符号三类中至少几类（2 或 3）",
                                  validator=colander.OneOf([2, 3], msg_err="只能是 2 或 3"))


def set_password_policy(site, policy: dict[str, int], actor: str, via: str = "") -> dict[str, int]:
    """Store the policy (validated ``PasswordPolicySchema`` data); it applies to every password set
    from now on (existing passwords stay until changed).  Audited with old and new values."""
    old = site_policy(site)
    new = {"min_length": int(policy["min_length"]), "classes": int(policy["classes"])}
    if new != old:
        site.settings["password_policy"] = new
        record(site, "user", actor, "site:password_policy", op="password_policy",
               old=tuple(sorted(old.items())), new=tuple(sorted(new.items())), **({"via": via} if via else {}))
    return new
