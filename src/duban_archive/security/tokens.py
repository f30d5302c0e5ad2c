"""Stateless API bearer tokens: ``base64(user:epoch:expires).hmac``.

Nothing is written on login, and a password change (which bumps the user's
``token_epoch``) revokes every token issued before it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def make_token(secret: str, username: str, epoch: int, lifetime: int) -> tuple[str, int]:
    expires = int(time.time()) + lifetime
    payload = f"{username}:{epoch}:{expires}".encode()
    sig = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + sig, expires


def read_token(secret: str, token: str) -> tuple[str, int] | None:
    """Return ``(username, epoch)`` for a valid unexpired token, else None."""
    try:
        body, sig = token.rsplit(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError):
        return None
    good = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(good, sig):
        return None
    try:
        username, epoch, expires = payload.decode().rsplit(":", 2)
        if int(expires) < time.time():
            return None
        return username, int(epoch)
    except ValueError:
        return None
