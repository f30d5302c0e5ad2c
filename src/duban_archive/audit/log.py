"""Append-only audit log.

Unlike Substance D's bounded log, nothing is ever dropped: auditors must be
able to reconstruct who saw and changed what, years later.  Entries are keyed
by ``<time_ns:020d>-<shard:02x><random>`` and read as plain dicts; they are
*stored* as tuples of ``(name, value)`` pairs, because BTrees merge two
transactions' inserts into one bucket only if they can compare the values
already there, with ``<``: dicts cannot be, so a bucket of dicts conflicts on
every concurrent insert (tuples compare equal item by item, whatever is inside).

Every writer appends (logins, an auditor's every look, downloads, each
transition), so the log is the most written object of the site.  One OOBTree
keyed by time would put every new entry into its right-most bucket: concurrent
inserts there merge (given values BTrees can compare, as above), but a bucket
split does not, and one comes every ~15 entries.  The entries are therefore spread over
:data:`SHARDS` sub-trees, each with its own index of ``"<target>\0<key>"``
strings (one OOTreeSet: no per-target sub-object that two writers could both
create); a transaction picks one shard at random and keeps it for all its
entries (:func:`writer_shard`), so two concurrent writers touch the same
buckets once in :data:`SHARDS` times, and conflict only if one of them also
splits a bucket there.  Readers merge the shards by key (``heapq.merge``),
which is time order.  The count is a conflict-resolving ``BTrees.Length``.

Shard trees keep few entries per bucket (:class:`ShardEntries`, :class:`ShardTargets`): appends go
to a shard's last bucket, and a bucket of 30 entries meant rewriting ~5 KiB for each new entry
(issue 16).  Shards pickled before that (plain OOBTrees) are *retired* by evolve step 3: they stay
where they are as read-only sources beside new small-bucket shards (:meth:`AuditLog.retire_shards`),
read in the same merge; no entry is copied or moved.

Logs pickled before the shards (``entries`` + ``by_target``) stay readable as
they are: :meth:`AuditLog.__setstate__` takes their two trees as a read-only
first source, and the first append adds the shards (one write of the log
object, once).  No entry is copied or moved.
"""

from __future__ import annotations

import heapq
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from ..timeutil import CST, isoformat, now

#: sub-trees of a new log; a pair of concurrent writers shares one with probability 1/SHARDS
SHARDS = 32
#: between target and key in the shards' target indexes (keys never contain it)
SEP = "\0"

ACTIONS = {
    "create": "创建",
    "edit": "修改",
    "upload": "上传附件",
    "download": "下载附件",
    "view": "查看",
    "transition": "流转",
    "feedback": "提交反馈",
    "instruction": "批示",
    "search": "检索",
    "file": "归档",
    "correct": "著录更正",
    "fixity": "固定性校验",
    "login": "登录",
    "login_failed": "登录失败",
    "user": "用户管理",
    "export": "导出",
    "legal_hold": "冻结/解除冻结",
    "dispose": "销毁",
    "disposal_request": "销毁申请",
    "disposal_reject": "驳回销毁申请",
    "transfer": "移交",
    "import": "导入台账",
    "transfer_cancel": "撤销移交",
    "transfer_receipt": "登记接收",
    "pack": "压缩数据库",
    "ballast_released": "启用磁盘应急空间",
    "audit_read": "查阅审计日志",
}


class ShardEntries(OOBTree):
    """A shard's entries in buckets of at most 12: an append rewrites its bucket, which held up to 30
    entries (~5 KiB on average in a filled log).  Smaller still would split buckets so often that two
    writers in one shard would conflict noticeably more (tests/audit/test_log.py)."""

    max_leaf_size = 12
    max_internal_size = 64


class ShardTargets(OOTreeSet):
    """A shard's target index (``"<target>NUL<key>"`` strings, about 45 bytes each)."""

    max_leaf_size = 30
    max_internal_size = 64


def writer_shard(obj: Any, shards: int) -> int:
    """A random shard in ``range(shards)`` for the transaction writing ``obj``, the same for all its writes.

    One request often appends several entries (a transition and its feedback, say); keeping them
    in one shard keeps the buckets it touches, and so its chance of conflicting, as small as one
    entry's.  Outside a connection (a new object) every call draws afresh.
    """
    jar = getattr(obj, "_p_jar", None)
    if jar is None:
        return secrets.randbelow(shards)
    txn = jar.transaction_manager.get()
    try:
        chosen = txn.data(obj)
    except KeyError:
        chosen = None
    if not isinstance(chosen, int) or not 0 <= chosen < shards:
        chosen = secrets.randbelow(shards)
        txn.set_data(obj, chosen)
    return chosen


_clock = threading.Lock()
_last_ns = 0
_EPOCH = datetime(1970, 1, 1, 8, tzinfo=CST)


def tick() -> int:
    """``time.time_ns()``, strictly increasing within the process (one request's entries keep their order)."""
    global _last_ns
    with _clock:
        ns = max(time.time_ns(), _last_ns + 1)
        _last_ns = ns
    return ns


def shard_key(shard: int, ns: int | None = None) -> str:
    """``<time_ns:020d>-<shard:02x><6 hex>``: sorts by time; names its shard."""
    return f"{tick() if ns is None else ns:020d}-{shard:02x}{secrets.token_hex(3)}"


def moment_of(ns: int) -> datetime:
    """The entry time for a key's ``ns``: the same instant (to the µs), unless the clock is frozen."""
    moment = now()
    exact = _EPOCH + timedelta(microseconds=ns // 1000)
    return exact if abs(moment - exact) < timedelta(seconds=1) else moment


def shard_of(key: str, shards: int) -> int | None:
    """The shard :func:`shard_key` wrote ``key`` into (None for a malformed key)."""
    try:
        n = int(key[21:23], 16)
    except (ValueError, TypeError):
        return None
    return n if 0 <= n < shards and key[20:21] == "-" else None


def merged(sources: Iterable[Iterator[tuple[str, Any]]]) -> Iterator[tuple[str, Any]]:
    """Merge ``(key, value)`` iterators, each sorted by key, into one sorted by key."""
    sources = list(sources)
    if len(sources) == 1:
        return sources[0]
    return heapq.merge(*sources, key=itemgetter(0))


def as_entry(stored: Any) -> dict[str, Any]:
    """An entry as readers get it: a new dict (stored as pairs; dicts in logs from before the shards)."""
    return dict(stored)


class AuditLog(Persistent):
    #: per shard: key -> entry (pairs), and an OOTreeSet of "<target>\0<key>" for the shard's entries
    shards: tuple = ()
    targets: tuple = ()
    #: ``((entries, targets), …)`` of shards written before small buckets: read, never written
    retired: tuple = ()
    #: entries in the shards (a conflict-resolving counter); None until the shards exist
    count: Any = None
    #: the single pair of trees of a log pickled before the shards; read-only since
    legacy_entries = None
    legacy_by_target = None

    def __init__(self) -> None:
        self._add_shards()

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict) and "entries" in state:  # the pre-shard shape: keep its trees, renamed
            state = dict(state)
            state["legacy_entries"] = state.pop("entries")
            state["legacy_by_target"] = state.pop("by_target", None)
        super().__setstate__(state)

    def _add_shards(self) -> None:
        self.shards = tuple(ShardEntries() for _ in range(SHARDS))
        self.targets = tuple(ShardTargets() for _ in range(SHARDS))
        if self.count is None:
            self.count = Length()

    def retire_shards(self) -> bool:
        """Keep big-bucket shards as read-only sources and write new entries to small-bucket ones.

        The entry count (``count``) goes on counting both.  Returns False when there was nothing to do.
        """
        if not self.shards or all(isinstance(s, ShardEntries) for s in self.shards):
            return False
        self.retired = tuple(zip(self.shards, self.targets, strict=True)) + tuple(self.retired)
        self._add_shards()
        return True

    def _sources(self) -> list[Any]:
        """The entry trees to read: the legacy one first, then the retired shards, then the shards."""
        trees = list(self.shards) + [entries for entries, _ in self.retired]
        if self.legacy_entries is not None:
            trees.insert(0, self.legacy_entries)
        return trees

    def append(self, action: str, actor: str | None, target: str = "", **detail: Any) -> str:
        if not self.shards:  # a log from before the shards: add them (the only write of this object)
            self._add_shards()
        n = writer_shard(self, len(self.shards))
        ns = tick()
        key = shard_key(n, ns)
        # the time shown is the key's: the trail reads in key order, its times never step back
        entry = {"time": moment_of(ns), "action": action, "actor": actor or "", "target": target}
        entry.update({k: v for k, v in detail.items() if v is not None})
        self.shards[n][key] = tuple(entry.items())
        count = self.count
        assert count is not None  # made with the shards
        count.change(1)
        if target:
            self.targets[n].add(f"{target}{SEP}{key}")
        return key

    def get(self, key: str, default: Any = None) -> Any:
        n = shard_of(key, len(self.shards))
        stored = self.shards[n].get(key) if n is not None else None
        for entries, _ in self.retired if stored is None else ():
            stored = entries.get(key)
            if stored is not None:
                break
        if stored is None and self.legacy_entries is not None:
            stored = self.legacy_entries.get(key)
        return as_entry(stored) if stored is not None else default

    def for_target(self, target: str) -> Iterator[dict[str, Any]]:
        low, high = f"{target}{SEP}", f"{target}{chr(ord(SEP) + 1)}"

        def shard(entries, index) -> Iterator[tuple[str, Any]]:
            for found in index.keys(min=low, max=high, excludemax=True):
                owner, _, key = found.rpartition(SEP)
                if owner == target:  # not "<target>\0more\0<key>" of a stranger target
                    yield key, entries[key]

        def legacy(entries, by_target) -> Iterator[tuple[str, Any]]:
            for key in by_target.get(target, ()):
                yield key, entries[key]

        pairs = list(zip(self.shards, self.targets, strict=True)) + list(self.retired)
        sources = [shard(e, i) for e, i in pairs]
        if self.legacy_entries is not None and self.legacy_by_target is not None:
            sources.insert(0, legacy(self.legacy_entries, self.legacy_by_target))
        for _, stored in merged(sources):
            yield as_entry(stored)

    def items(self, min: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, entry)`` in time order, from ``min`` (a key or a key prefix) on."""
        stored = merged(entries.items(min=min) for entries in self._sources())
        return ((key, as_entry(value)) for key, value in stored)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (entry for _, entry in self.items())

    def since(self, moment_ns: int) -> Iterator[dict[str, Any]]:
        return (entry for _, entry in self.items(min=f"{moment_ns:020d}"))

    def __len__(self) -> int:
        n = self.count() if self.count is not None else 0
        return n + (len(self.legacy_entries) if self.legacy_entries is not None else 0)

    def __bool__(self) -> bool:  # a log is there even when empty; never count just to test it
        return True

    @property
    def entries(self) -> EntriesView:
        """Read-only mapping view over every entry (``len``, ``keys``, ``values``, ``items``, ``[key]``)."""
        return EntriesView(self)


class EntriesView:
    """What ``AuditLog.entries`` (once one OOBTree) offers readers, across the shards."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def __len__(self) -> int:
        return len(self.log)

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def __contains__(self, key: str) -> bool:
        return self.log.get(key) is not None

    def __getitem__(self, key: str) -> dict[str, Any]:
        entry = self.log.get(key)
        if entry is None:
            raise KeyError(key)
        return entry

    def get(self, key: str, default: Any = None) -> Any:
        return self.log.get(key, default)

    def keys(self, min: str | None = None) -> Iterator[str]:
        return (key for key, _ in self.log.items(min))

    def values(self, min: str | None = None) -> Iterator[dict[str, Any]]:
        return (entry for _, entry in self.log.items(min))

    def items(self, min: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        return self.log.items(min)


def audit_log(site) -> AuditLog:
    return site["audit"]


def record(site, action: str, actor: str | None, target: str = "", **detail: Any) -> str:
    """Append an entry to the site's audit log (inside the current transaction)."""
    return site["audit"].append(action, actor, target, **detail)


def as_json(entry: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in entry.items():
        out[k] = isoformat(v) if k == "time" else _jsonable(v)
    out["action_title"] = ACTIONS.get(entry.get("action", ""), entry.get("action", ""))
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if isinstance(v, list | tuple | set | frozenset):
        return [_jsonable(x) for x in (sorted(v) if isinstance(v, set | frozenset) else v)]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return isoformat(v) if hasattr(v, "isoformat") else str(v)
