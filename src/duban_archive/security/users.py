"""Users, with argon2 password hashes."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from persistent import Persistent

from ..content_types.folder import Folder
from .roles import ROLES

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")

_hasher = PasswordHasher()


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Tests use cheap parameters; production keeps argon2-cffi's defaults."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)


class User(Persistent):
    type_name = "user"
    __name__: str | None = None
    __parent__ = None

    def __init__(self, username: str, title: str, roles=(), unit: str | None = None,
                 email: str = "", phone: str = "") -> None:
        if not USERNAME_RE.match(username):
            raise ValueError("用户名只能包含小写字母、数字、点、下划线和连字符，且以字母开头")
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"未知角色：{'、'.join(sorted(unknown))}")
        self.username = username
        self.title = title
        self.roles = tuple(roles)
        self.unit = unit
        self.email = email
        self.phone = phone
        self.active = True
        self.password_hash = ""
        #: bumped on password change: invalidates issued API tokens
        self.token_epoch = 0

    def set_password(self, password: str) -> None:
        if len(password) < 8:
            raise ValueError("密码至少 8 位")
        self.password_hash = _hasher.hash(password)
        self.token_epoch += 1

    def check_password(self, password: str) -> bool:
        if not self.password_hash or not self.active:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return True


class Users(Folder):
    type_name = "users"

    def add_user(self, user: User) -> User:
        return self.add(user.username, user)
