"""Login throttling: progressive delays, never a lockout.

Every failed password check feeds three meters; an attempt is refused (429,
``Retry-After``) *without checking the password* while any meter that applies
to it still asks for a wait.  Refused attempts are not failures: hammering
does not lengthen the wait.

========  ==========================  ====  ====================  =====  ==============
meter     key                         free  then wait             cap    forgets
========  ==========================  ====  ====================  =====  ==============
pair      account + client            3     2, 4, 8, … s          300 s  1 per 10 min
client    client (all usernames)      10    2, 4, 8, … s          300 s  1 per 2 min
account   account (all clients)       10    2, 4, 8, … s          30 s   1 per 2 min
========  ==========================  ====  ====================  =====  ==============

"free" failures cost nothing; after that the n-th extra failure makes the next
attempt wait ``2**n`` seconds after the latest failure, up to the cap.  Each
meter is a leaky bucket: one failure is forgotten every "forgets" interval, so
ordinary typos never add up, while a steady attacker stays at the cap.

* **Guessing one account from one address** is the pair meter: 3 tries, then
  at most one guess every 5 minutes (~12 an hour).  A correct password ends
  the pair's delay; the owner on that address waits at most 5 minutes, never
  longer.
* **Spraying many usernames from one address** is the client meter: 10
  failures, then the address waits 2 s … 5 min whatever username it tries
  (sustained: about 30 guesses an hour instead of hundreds a second).
* **Many addresses against one account** is the account meter, a *soft*
  limit: its delay never exceeds 30 s, and it does not apply at all to an
  address the account has logged in from successfully in the last 30 days.
  An attacker elsewhere can therefore slow the owner down a little, never
  lock them out.

Clients are ``REMOTE_ADDR`` (never ``X-Forwarded-For``, which the caller
chooses; behind a reverse proxy configure waitress' ``trusted_proxy`` so that
REMOTE_ADDR is the real client).  IPv6 addresses count per /64 network, the
block one subscriber gets.

Kept in process memory on purpose: it must work even when the database is
read-only, a failed login must not write to the database beyond its audit
entry, and a restart forgiving some failures is acceptable.  Tables are
bounded (least recently touched keys are dropped first).  Several web
processes each keep their own meters.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    free: int  #: failures before any delay
    cap: int  #: longest delay, seconds
    forget: int  #: seconds per forgiven failure

    def delay(self, level: int) -> int:
        if level < self.free:
            return 0
        return min(self.cap, 2 ** min(level - self.free + 1, 30))


PAIR = Rule(free=3, cap=300, forget=600)
CLIENT = Rule(free=10, cap=300, forget=120)
ACCOUNT = Rule(free=10, cap=30, forget=120)
#: an address with a successful login exempts the account's soft limit for this long
KNOWN_FOR = 30 * 24 * 3600
#: at most this many known addresses per account (the most recent)
KNOWN_PER_ACCOUNT = 10
#: entries per table; the least recently touched go first
MAX_KEYS = 100_000

#: the clock (monotonic seconds); tests replace it
clock = time.monotonic

_lock = threading.Lock()


class _Meter:
    __slots__ = ("level", "leaked_at", "last")

    def __init__(self, now: float) -> None:
        self.level = 0
        self.leaked_at = now
        self.last = now

    def leak(self, rule: Rule, now: float) -> None:
        steps = int((now - self.leaked_at) // rule.forget)
        if steps > 0:
            self.level = max(0, self.level - steps)
            self.leaked_at += steps * rule.forget
        if self.level == 0:
            self.leaked_at = now

    def wait(self, rule: Rule, now: float) -> float:
        self.leak(rule, now)
        return max(0.0, rule.delay(self.level) - (now - self.last))


class _Table:
    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.meters: OrderedDict[object, _Meter] = OrderedDict()

    def wait(self, key, now: float) -> float:
        meter = self.meters.get(key)
        if meter is None:
            return 0.0
        wait = meter.wait(self.rule, now)
        if meter.level == 0:
            del self.meters[key]
        return wait

    def failed(self, key, now: float) -> None:
        meter = self.meters.get(key)
        if meter is None:
            meter = self.meters[key] = _Meter(now)
            while len(self.meters) > MAX_KEYS:
                self.meters.popitem(last=False)
        else:
            meter.leak(self.rule, now)
            self.meters.move_to_end(key)
        meter.level += 1
        meter.last = now

    def clear(self, key) -> None:
        self.meters.pop(key, None)


_pairs = _Table(PAIR)
_clients = _Table(CLIENT)
_accounts = _Table(ACCOUNT)
#: account -> {client: time of the latest successful login from there}
_known: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()


def account_key(username: str | None) -> str:
    return (username or "").strip().lower()[:64]


def client_key(addr: str | None) -> str:
    """The address an attempt is counted against: IPv4 as is, IPv6 by its /64."""
    addr = (addr or "").strip()
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:64] or "-"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _is_known(account: str, client: str, now: float) -> bool:
    clients = _known.get(account)
    seen = clients.get(client) if clients is not None else None
    return seen is not None and now - seen < KNOWN_FOR


def retry_after(username: str | None, client: str | None) -> int:
    """Whole seconds before ``username`` may be tried from ``client`` (0: go ahead)."""
    account, addr = account_key(username), client_key(client)
    now = clock()
    with _lock:
        wait = max(_pairs.wait((account, addr), now), _clients.wait(addr, now))
        if not _is_known(account, addr, now):
            wait = max(wait, _accounts.wait(account, now))
    return math.ceil(wait)


def failed(username: str | None, client: str | None) -> None:
    """A password check failed (wrong password or no such user: both count the same)."""
    account, addr = account_key(username), client_key(client)
    now = clock()
    with _lock:
        _pairs.failed((account, addr), now)
        _clients.failed(addr, now)
        _accounts.failed(account, now)


def succeeded(username: str | None, client: str | None) -> None:
    """The right password: the pair and the account start afresh and the address becomes known.

    The client meter is kept: logging into one's own account must not buy
    more guesses at other accounts from that address.
    """
    account, addr = account_key(username), client_key(client)
    now = clock()
    with _lock:
        _pairs.clear((account, addr))
        _accounts.clear(account)
        seen = _known.get(account)
        if seen is None:
            seen = _known[account] = OrderedDict()
            while len(_known) > MAX_KEYS:
                _known.popitem(last=False)
        else:
            _known.move_to_end(account)
        seen.pop(addr, None)
        seen[addr] = now
        while len(seen) > KNOWN_PER_ACCOUNT:
            seen.popitem(last=False)


def reset() -> None:
    """Forget everything (tests; the app fixture calls this)."""
    with _lock:
        for table in (_pairs, _clients, _accounts):
            table.meters.clear()
        _known.clear()
