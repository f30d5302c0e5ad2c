"""Making sure a site has its three administrators (三员分立), each a distinct account.

Used by ``duban-archive init`` (a new site) and evolve step 8 ``three_administrators`` (a site
from before the split, whose ``admin`` accounts become ``sysadmin``).  For each of the three
roles that no account holds, an account named after the role is created with a random one-time
password and ``must_change_password``.  The passwords are written once to a new file in the var
dir, mode 0600 (the person who runs the command reads it, hands each password over, deletes the
file); logs and the audit entry name only the file — never a password.  Nobody is locked out:
the existing administrators keep their password, the new ones get theirs from the operator.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..audit.log import record
from ..timeutil import now
from ..txn import after_commit
from .accounts import temporary_password
from .passwords import site_policy
from .roles import ADMIN_ROLES, ROLES
from .users import User

#: the username of a created administrator account, per role (a taken name gets a suffix)
log = logging.getLogger(__name__)

USERNAMES = {"sysadmin": "sysadmin", "secadmin": "secadmin", "secauditor": "secauditor"}


def missing_roles(site) -> list[str]:
    """The administrator roles no account holds (deactivated holders count: they can be re-enabled)."""
    held = {r for u in site["users"].values() for r in u.roles}
    return [r for r in ADMIN_ROLES if r not in held]


def _free_name(users, base: str) -> str:
    name, n = base, 1
    while name in users:
        n += 1
        name = f"{base}{n}"
    return name


def plan_secret_file(var: Path) -> Path:
    """A name for the passwords file in ``var`` that no file has yet."""
    stamp = now().strftime("%Y%m%d-%H%M%S")
    path, n = var / f"initial-administrators-{stamp}.txt", 1
    while path.exists():
        n += 1
        path = var / f"initial-administrators-{stamp}-{n}.txt"
    return path


def write_secret_file(path: Path, lines: list[str]) -> Path:
    """Create ``path`` (never overwriting a file: the next free name then), mode 0600 from its first
    byte — the one place the passwords exist in clear.  Returns the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            path = path.with_name(path.stem + "-1" + path.suffix)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("三员分立：以下账号的一次性密码（首次登录须修改）。请分别当面交给三位管理员，交接后删除本文件。\n")
        fh.writelines(line + "\n" for line in lines)
    os.chmod(path, 0o600)
    log.warning("三员账号的一次性密码已写入 %s（仅属主可读），交接后请删除", path)
    return path


def ensure_three_administrators(site, var: Path, actor: str, unit: str | None = None) -> tuple[list[str], Path | None]:
    """Create an account for each administrator role nobody holds; returns (usernames, secret file).

    Nothing is created (and no file written) when every role has a holder.
    """
    missing = missing_roles(site)
    if not missing:
        return [], None
    users = site["users"]
    created, lines = [], []
    for role in missing:
        username = _free_name(users, USERNAMES[role])
        password = temporary_password(username, site_policy(site))
        user = User(username, ROLES[role], (role,), unit if unit in site["units"] else None)
        user.set_password(password)
        user.must_change_password = True
        users.add_user(user)
        created.append(username)
        lines.append(f"{ROLES[role]}  用户名：{username}  一次性密码：{password}")
    path = plan_secret_file(var)
    # a side effect: only once the accounts exist (if the commit fails, no passwords lie about)
    after_commit(lambda: write_secret_file(path, lines), obj=site)
    for username in created:
        record(site, "user", actor, f"user:{username}", op="add", roles=tuple(users[username].roles),
               must_change_password=True, note=f"一次性密码已写入 {path}（仅属主可读）")
    return created, path
