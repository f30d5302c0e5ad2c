"""User administration: the operations behind 用户管理 (HTML), ``/api/v1/users`` and the CLI.

三员分立 decides who may call what (the views check the site permission, these functions the
rules that depend on the accounts involved):

* 系统管理员 (``manage``) makes accounts exist and keeps them right: :func:`create_account`,
  :func:`edit_account` (姓名、单位、手机、邮箱), :func:`reset_password`, :func:`deactivate`,
  :func:`reactivate`.  A new account has no role: granting is not the sysadmin's.
* 安全保密管理员 (``grant_roles``) decides what they may do: :func:`set_roles`.

Every operation raises :class:`~duban_archive.errors.Refusal` before it writes, bumps
``User.revision`` and writes one audit entry (action ``user``, ``op=…``) that
``audit.describe`` turns into a Chinese sentence.  A caller that read a user at revision *n*
may pass ``revision=n``: if another administrator changed the user meanwhile the operation is
refused with 409 ``stale`` instead of overwriting what it did not see.

Lock-out guards: nobody deactivates themselves or changes their own roles, and the last active
holder of an administrator role can neither be deactivated nor lose that role — a site always
keeps one 系统管理员, one 安全保密管理员 and one 安全审计员 who can log in.
"""

from __future__ import annotations

import secrets
from typing import Any

import colander

from ..audit.log import record
from ..errors import Refusal
from ..timeutil import isoformat, now
from .passwords import POLICY_HINT, policy_problems, site_policy
from .roles import ADMIN_ROLES, ROLES, separation_problem
from .users import USERNAME_RE, User

#: what the sysadmin edits (姓名、单位、手机、邮箱); roles are the secadmin's
ACCOUNT_FIELDS = ("title", "unit", "phone", "email")
FIELD_TITLES = {"title": "姓名", "unit": "所属单位", "phone": "手机", "email": "邮箱", "roles": "角色"}
PHONE_RE = r"^\+?[0-9][0-9 -]{4,19}$"
PHONE_MESSAGE = "手机号码格式不正确（5–20 位数字，可含 +、空格、-）"

STALE = "该用户刚被其他管理员修改，请刷新后重试（您的修改未保存）"
#: no 0/O, 1/l/I: the admin reads the temporary password out over the phone
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# -- schemas (HTML forms add widgets to clones; the API validates with them as they are) --------


@colander.deferred
def _known_unit(node, kw):
    units = kw["site"]["units"]

    def check(node, value):
        if value and value not in units:
            raise colander.Invalid(node, "单位不存在")
    return check


@colander.deferred
def _new_username(node, kw):
    users = kw["site"]["users"]

    def check(node, value):
        if not USERNAME_RE.match(value):
            raise colander.Invalid(node, "用户名只能包含小写字母、数字、点、下划线和连字符，且以字母开头（2–40 位）")
        if value in users:
            raise colander.Invalid(node, f"用户名“{value}”已存在")
    return check


def _title_node() -> colander.SchemaNode:
    return colander.SchemaNode(colander.String(), name="title", title="姓名（显示名）",
                               validator=colander.Length(1, 50, max_err="不能超过 50 个字符"))


def _contact_nodes() -> list[colander.SchemaNode]:
    return [
        colander.SchemaNode(colander.String(), name="unit", title="所属单位", missing="", validator=_known_unit),
        colander.SchemaNode(colander.String(), name="phone", title="手机", missing="",
                            validator=colander.Regex(PHONE_RE, msg=PHONE_MESSAGE)),
        colander.SchemaNode(colander.String(), name="email", title="邮箱", missing="",
                            validator=colander.Email(msg="邮箱地址格式不正确")),
    ]


class AccountSchema(colander.MappingSchema):
    """姓名、单位、手机、邮箱 of an existing account (bind ``site``)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.add(_title_node())
        for node in _contact_nodes():
            self.add(node)


class NewAccountSchema(colander.MappingSchema):
    """A new account: username, 姓名, 单位, 手机, 邮箱, initial password (bind ``site``)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.add(colander.SchemaNode(colander.String(), name="username", title="用户名", validator=_new_username,
                                     description="小写字母开头，可含数字、点、下划线、连字符"))
        self.add(_title_node())
        for node in _contact_nodes():
            self.add(node)
        self.add(colander.SchemaNode(colander.String(), name="password", title="初始密码",
                                     validator=colander.Length(min=8, min_err="密码至少 8 位"),
                                     description=POLICY_HINT))
        self.add(colander.SchemaNode(colander.Boolean(), name="must_change_password", title="首次登录须修改密码",
                                     default=True, missing=True))

    def validator(self, node, value):
        """The password policy (it needs the username, a sibling field)."""
        problems = policy_problems(value["password"], value["username"], site_policy(node.bindings.get("site")))
        if problems:
            exc = colander.Invalid(node)
            exc["password"] = "；".join(problems)
            raise exc


def _role_choice(node, value):
    unknown = [r for r in value if r not in ROLES]
    if unknown:
        raise colander.Invalid(node, f"未知角色：{'、'.join(sorted(unknown))}（可选：{'、'.join(ROLES)}）")
    problem = separation_problem(value)
    if problem:
        raise colander.Invalid(node, problem)


class RolesSchema(colander.MappingSchema):
    """``{"roles": [...]}``: unknown roles and two administrator roles on one account refused."""

    roles = colander.SchemaNode(colander.Set(), title="角色", missing=(), validator=_role_choice)


# -- the operations ------------------------------------------------------------------------------


def check_revision(user: User, revision: int | None) -> None:
    """Refuse (409 ``stale``) when the caller saw an older version of ``user`` than the stored one."""
    if revision is not None and revision != user.revision:
        raise Refusal(STALE, status=409, code="stale")


def _touch(user: User) -> None:
    user.revision = user.revision + 1
    user.modified = isoformat(now()) or ""


def create_account(site, data: dict[str, Any], actor: str, *, via: str = "") -> User:
    """A new account (validated ``NewAccountSchema`` data), with no role until the secadmin grants one."""
    user = User(data["username"], data["title"], (), data.get("unit") or None,
                email=data.get("email", ""), phone=data.get("phone", ""))
    user.set_password(data["password"])
    user.must_change_password = bool(data.get("must_change_password", True))
    _touch(user)
    site["users"].add_user(user)
    record(site, "user", actor, f"user:{user.username}", op="add", title=user.title, unit=user.unit or "",
           must_change_password=user.must_change_password, **({"via": via} if via else {}))
    return user


def edit_account(site, user: User, data: dict[str, Any], actor: str, *, revision: int | None = None,
                 via: str = "") -> list[tuple[str, Any, Any]]:
    """Change 姓名/单位/手机/邮箱 (only the keys given); returns ``[(field, old, new)]`` that changed."""
    check_revision(user, revision)
    changes = []
    for name in ACCOUNT_FIELDS:
        if name not in data:
            continue
        new = data[name] or (None if name == "unit" else "")
        old = getattr(user, name, "")
        if (old or "") != (new or ""):
            changes.append((name, old or "", new or ""))
    if not changes:
        return []
    for name, _old, new in changes:
        setattr(user, name, new or (None if name == "unit" else ""))
    _touch(user)
    record(site, "user", actor, f"user:{user.username}", op="edit", changes=tuple(changes),
           **({"via": via} if via else {}))
    return changes


def _active_holders(site, role: str) -> list[str]:
    return [u.username for u in site["users"].values() if u.active and role in u.roles]


def _last_holder_problem(site, user: User, losing: set[str]) -> str:
    for role in ADMIN_ROLES:
        if role in losing and user.active and _active_holders(site, role) == [user.username]:
            return f"{user.username} 是唯一在用的{ROLES[role]}，不能取消；请先为另一账号授予{ROLES[role]}"
    return ""


def set_roles(site, user: User, roles, actor: str, *, revision: int | None = None,
              via: str = "") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The secadmin grants and revokes roles: ``user`` holds exactly ``roles`` afterwards.

    Returns ``(old, new)``.  Refused: one's own roles, two administrator roles on one account,
    the last active holder of an administrator role losing it.
    """
    check_revision(user, revision)
    new = tuple(sorted(set(roles)))
    unknown = [r for r in new if r not in ROLES]
    if unknown:
        raise Refusal("角色无效", fields={"roles": f"未知角色：{'、'.join(unknown)}"})
    problem = separation_problem(new)
    if problem:
        raise Refusal(problem, fields={"roles": problem}, code="separation_of_duties")
    if user.username == actor:
        msg = "不能修改自己的角色（授权须由另一位安全保密管理员进行）"
        raise Refusal(msg, fields={"roles": msg}, status=403)
    old = tuple(user.roles)
    if set(old) == set(new):
        return old, old
    problem = _last_holder_problem(site, user, set(old) - set(new))
    if problem:
        raise Refusal(problem, fields={"roles": problem}, status=409, code="last_administrator")
    user.roles = new
    _touch(user)
    record(site, "user", actor, f"user:{user.username}", op="roles", old=old, new=new,
           **({"via": via} if via else {}))
    return old, new


def temporary_password(username: str, policy: dict[str, int] | None = None) -> str:
    """A random password meeting the policy, easy to read out (no 0/O, 1/l/I): ``abcd-efgh-jk23``
    (letters, digits and dashes: three classes; longer when the policy asks for more)."""
    length = max(12, (policy or {}).get("min_length", 0))
    while True:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        candidate = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
        if not policy_problems(candidate, username, policy) and any(c.isdigit() for c in candidate):
            return candidate


def reset_password(site, user: User, actor: str, *, revision: int | None = None, via: str = "") -> str:
    """A one-time temporary password (returned, never stored in clear nor logged).

    Every session and API token of the user stops working at once, and the user must choose a
    new password at the next login.  An administrator-role holder's password is not reset here:
    whoever resets it would know it and could act as that administrator; the holder changes it,
    or the server's operator runs ``duban-archive passwd --temporary``.
    """
    from .passwords import reset_password as store_reset

    check_revision(user, revision)
    if user.username == actor:
        raise Refusal("请在「修改密码」页修改自己的密码", status=400)
    if not user.active:
        raise Refusal("该账号已停用，请先启用再重置密码", status=409, code="inactive")
    held = [ROLES[r] for r in ADMIN_ROLES if r in user.roles]
    if held:
        raise Refusal(f"不能在网页或接口中重置{'、'.join(held)}的密码（三员分立：重置者会知道该密码）；"
                      "请本人修改，或由服务器运维人员执行 duban-archive passwd --temporary", status=403,
                      code="separation_of_duties")
    temporary = temporary_password(user.username, site_policy(site))
    store_reset(site, user, temporary, actor, **({"via": via} if via else {}))
    _touch(user)
    return temporary


def deactivate(site, user: User, actor: str, *, revision: int | None = None, via: str = "") -> None:
    """停用: the account cannot log in, its sessions and tokens stop at once; it stays in history."""
    check_revision(user, revision)
    if user.username == actor:
        raise Refusal("不能停用自己的账号", status=400)
    if not user.active:
        raise Refusal("该账号已停用", status=409, code="inactive")
    problem = _last_holder_problem(site, user, set(user.roles))
    if problem:
        raise Refusal(problem.replace("不能取消", "不能停用"), status=409, code="last_administrator")
    user.active = False
    user.revoke_sessions()
    _touch(user)
    record(site, "user", actor, f"user:{user.username}", op="deactivate", **({"via": via} if via else {}))


def reactivate(site, user: User, actor: str, *, revision: int | None = None, via: str = "") -> None:
    """启用 again: the old password works again (sessions and tokens issued before stay void)."""
    check_revision(user, revision)
    if user.active:
        raise Refusal("该账号已在启用状态", status=409, code="active")
    user.active = True
    _touch(user)
    record(site, "user", actor, f"user:{user.username}", op="reactivate", **({"via": via} if via else {}))
