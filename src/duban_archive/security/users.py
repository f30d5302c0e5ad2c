"""Users, with argon2 password hashes and server-side sessions.

Pickles outlive code: every attribute added after the first release has a
class-level default, so users stored before it load unchanged.
"""

from __future__ import annotations

import re
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from persistent import Persistent
from persistent.mapping import PersistentMapping

from ..content_types.folder import Folder
from .roles import ROLES

USERNAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,39}$")

_hasher = PasswordHasher()
#: a hash of a random password made with ``_hasher``'s parameters (see :func:`verify_login`)
_dummy_hash: str | None = None

#: browser sessions kept per user (the oldest are dropped beyond this)
MAX_SESSIONS = 20


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Tests use cheap parameters; production keeps argon2-cffi's defaults."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    _dummy_hash = None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_verify(password: str) -> bool:
    """Spend what checking a real password costs, and fail.

    Answering "no such user" (or "deactivated") faster than "wrong password"
    would tell an attacker which usernames exist.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(24))
    _verify(_dummy_hash, password)
    return False


class User(Persistent):
    type_name = "user"
    __name__: str | None = None
    __parent__ = None

    # class-level defaults for attributes added after users were first stored
    #: an admin reset the password: every page but 修改密码 is closed until it is changed
    must_change_password = False
    #: browser sessions: PersistentMapping session id -> issued (unix seconds); None = none yet
    sessions = None
    #: ISO time of the latest password change ("" = never / unknown)
    password_changed = ""
    #: bumped by every administrator's change (security.accounts): a stale edit is refused, 409
    revision = 0
    #: ISO time of the latest administrator's change ("" = none)
    modified = ""

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
        #: bumped on password change: invalidates issued API tokens and sessions
        self.token_epoch = 0

    def set_password(self, password: str) -> None:
        """Store a new hash and revoke every session and API token issued before."""
        if len(password) < 8:
            raise ValueError("密码至少 8 位")
        self.password_hash = _hasher.hash(password)
        self.revoke_sessions()

    def check_password(self, password: str) -> bool:
        """True for the right password of an active user; always costs one argon2 verification."""
        if not self.password_hash or not self.active:
            return dummy_verify(password)
        if not _verify(self.password_hash, password):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return True

    # -- server-side sessions ------------------------------------------------------------
    def open_session(self, max_age: int) -> str:
        """A new session id for a browser login (expired and surplus ones are dropped)."""
        now = int(time.time())
        if self.sessions is None:
            self.sessions = PersistentMapping()
        for sid, issued in list(self.sessions.items()):
            if issued + max_age <= now:
                del self.sessions[sid]
        surplus = len(self.sessions) - (MAX_SESSIONS - 1)
        if surplus > 0:
            for sid, _issued in sorted(self.sessions.items(), key=lambda kv: kv[1])[:surplus]:
                del self.sessions[sid]
        sid = secrets.token_urlsafe(18)
        self.sessions[sid] = now
        return sid

    def has_session(self, sid, max_age: int) -> bool:
        if not sid or not isinstance(sid, str) or self.sessions is None:
            return False
        issued = self.sessions.get(sid)
        return issued is not None and issued + max_age > time.time()

    def close_session(self, sid) -> None:
        if self.sessions is not None and sid in self.sessions:
            del self.sessions[sid]

    def revoke_sessions(self) -> None:
        """Log out everywhere: every browser session and every API token."""
        if self.sessions:
            self.sessions.clear()
        self.token_epoch += 1


def verify_login(users, username: str, password: str):
    """The user with this username and password, else None — in the same time either way.

    An unknown (or inactive) username costs the same argon2 verification as a
    known one, against a dummy hash made with the same parameters.
    """
    user = users.get(username) if username else None
    if user is None:
        dummy_verify(password)
        return None
    return user if user.check_password(password) else None


class Users(Folder):
    type_name = "users"

    def add_user(self, user: User) -> User:
        return self.add(user.username, user)
