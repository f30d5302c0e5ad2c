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

Shards are *paged* (issue 16): a shard is an :class:`AuditPages` tree (first key -> :class:`AuditPage`)
whose pages hold at most :data:`PAGE` entries as a tuple.  An append rewrites only the shard's last,
open page (a few entries) and, once that is full, one bucket of the page tree for the page it opens;
sealed pages are never written again.  A BTree bucket of entries was rewritten whole on every append
(~2–3 KiB with its splits).  Two writers appending to one open page merge
(:meth:`AuditPage._p_resolveConflict`: both appended rows kept, in key order), as bucket inserts did.
The entry time is not stored when it is the key's own (:func:`moment_of`), and the target index
(:class:`PageTargets`) holds 64-bit integers, not strings: a stable hash of the target and the
~4-second window of the entry's time (:func:`target_code`); a target's trail reads those windows'
entries and keeps the target's (several entries of one target in one window share one code, so
they write nothing more).  Shards of an earlier shape (plain
OOBTrees, then small-bucket :class:`ShardEntries`) are *retired* by evolve steps 3 and 9: they stay
where they are as read-only sources beside new paged shards (:meth:`AuditLog.retire_shards`), read in
the same merge; no entry is copied or moved.

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
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from BTrees.Length import Length
from BTrees.LLBTree import LLTreeSet
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


#: entries per page: an append rewrites the open page (on average (PAGE+1)/2 entries, ~180 bytes each)
#: and, every PAGE appends, one bucket of the page tree (~350 bytes)
PAGE = 4
class AuditPage(Persistent):
    """Up to :data:`PAGE` entries of a shard, ``((key, stored), …)`` in key order; sealed when full."""

    def __init__(self, rows: tuple = ()) -> None:
        self.rows = tuple(rows)

    def _p_resolveConflict(self, old: Any, committed: Any, new: Any) -> Any:
        """Two transactions appended to this page: keep both their rows (and every earlier one), in key
        order.  The page may end up over :data:`PAGE` rows, and — when a third writer meanwhile saw it
        full and opened the next page — hold a row after that page's first key: readers allow for that
        (:func:`_page_items`, :func:`_page_get`), so appends never conflict here."""
        before = tuple(old.get("rows", ())) if isinstance(old, dict) else ()
        mine, theirs = tuple(new["rows"]), tuple(committed["rows"])
        n = len(before)
        if mine[:n] != before or theirs[:n] != before:  # not two appends: refuse to guess
            from ZODB.POSException import ConflictError

            raise ConflictError
        rows = dict(before)
        rows.update(theirs[n:])
        rows.update(mine[n:])
        return {**new, "rows": tuple(sorted(rows.items(), key=itemgetter(0)))}


class AuditPages(OOBTree):
    """A paged shard: first key of a page -> :class:`AuditPage` (a bucket is rewritten once per page)."""

    max_leaf_size = 20
    max_internal_size = 64


class PageTargets(LLTreeSet):
    """A paged shard's target index: :func:`target_code` integers (8 bytes each, not ~45)."""

    max_leaf_size = 32
    max_internal_size = 64


#: bits of a target code holding the time window (``ns >> WINDOW_BITS``: ~4.3 s)
WINDOW_BITS = 32


def target_code(target: str, ns: int) -> int:
    """``crc32(target) << 32 | ns >> 32``: sorts a target's entries by time window (a hash shared by
    two targets only costs reading the other's entries of those windows, which are then left out)."""
    return (zlib.crc32(target.encode("utf-8")) & 0x7FFFFFFF) << 32 | (ns >> WINDOW_BITS)


class ShardEntries(OOBTree):
    """A shard's entries in buckets of at most 12 (evolve step 3); retired by step 9 for paged shards."""

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


def key_moment(key: str) -> datetime | None:
    """The instant a key names (its ns, to the µs), or None for a malformed key."""
    try:
        return _EPOCH + timedelta(microseconds=int(key[:20]) // 1000)
    except (ValueError, TypeError):
        return None


def as_entry(stored: Any, key: str | None = None) -> dict[str, Any]:
    """An entry as readers get it: a new dict (stored as pairs; dicts in logs from before the shards).
    Paged shards leave out the time when it is the key's: it comes back from ``key``."""
    entry = dict(stored)
    if "time" not in entry and key is not None:
        entry = {"time": key_moment(key), **entry}
    return entry


#: how many pages before the one a key sorts into may hold it (a row merged in by a concurrent append)
LOOK_BACK = 4


def _page_of(pages: AuditPages, key: str) -> AuditPage | None:
    try:
        return pages[pages.maxKey(key)]
    except ValueError:  # empty, or key before the first page
        return None


def _page_get(pages: AuditPages, key: str) -> Any:
    """The stored entry of ``key``: in the page it sorts into, or (merged in late) a page before."""
    try:
        first = pages.maxKey(key)
    except ValueError:
        return None
    for _ in range(LOOK_BACK + 1):
        for k, stored in pages[first].rows:
            if k == key:
                return stored
        first = _previous(pages, first)
        if first is None:
            break
    return None


def _previous(pages: AuditPages, first: str) -> str | None:
    """The first key of the page before the one starting at ``first`` (keys have one length: the
    largest key below ``first`` is at most ``first`` with its last character decremented)."""
    try:
        return pages.maxKey(first[:-1] + chr(ord(first[-1]) - 1))
    except ValueError:
        return None


def _page_items(pages: AuditPages, min: str | None = None) -> Iterator[tuple[str, Any]]:
    """``(key, stored)`` in key order from ``min`` on.

    Every row of a page sorts at or after the page's first key, but a row merged in by a concurrent
    append may sort after the *next* page's first key: rows wait in a heap until no later page can
    hold anything before them.
    """
    start: str | None = None
    if min is not None:
        try:
            start = pages.maxKey(min)
        except ValueError:
            start = None
        for _ in range(LOOK_BACK):
            before = _previous(pages, start) if start is not None else None
            if before is None:
                break
            start = before
    waiting: list[tuple[str, Any]] = []
    for first, page in pages.items(min=start):
        while waiting and waiting[0][0] < first:
            yield heapq.heappop(waiting)
        for row in page.rows:
            if min is None or row[0] >= min:
                heapq.heappush(waiting, row)
    while waiting:
        yield heapq.heappop(waiting)


def _last_page(pages: AuditPages) -> AuditPage | None:
    try:
        return pages[pages.maxKey()]
    except ValueError:
        return None


def _page_append(pages: AuditPages, last: AuditPage | None, key: str, stored: Any) -> None:
    """Append to the open page ``last`` (``key`` is after all its rows), or open a new page."""
    if last is None or len(last.rows) >= PAGE:
        pages[key] = AuditPage(((key, stored),))
    else:
        last.rows = last.rows + ((key, stored),)


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
        self.shards = tuple(AuditPages() for _ in range(SHARDS))
        self.targets = tuple(PageTargets() for _ in range(SHARDS))
        if self.count is None:
            self.count = Length()

    @property
    def paged(self) -> bool:
        return bool(self.shards) and isinstance(self.shards[0], AuditPages)

    def retire_shards(self) -> bool:
        """Keep shards of an earlier shape as read-only sources and write new entries to paged ones.

        The entry count (``count``) goes on counting both.  Returns False when there was nothing to do.
        """
        if not self.shards or self.paged:
            return False
        self.retired = tuple(zip(self.shards, self.targets, strict=True)) + tuple(self.retired)
        self._add_shards()
        return True

    def _sources(self, min: str | None = None) -> list[Iterator[tuple[str, Any]]]:
        """``(key, stored)`` iterators to merge: the legacy tree, the retired shards, the shards."""
        if self.paged:
            out = [_page_items(pages, min) for pages in self.shards]
        else:
            out = [entries.items(min=min) for entries in self.shards]
        out += [entries.items(min=min) for entries, _ in self.retired]
        if self.legacy_entries is not None:
            out.insert(0, self.legacy_entries.items(min=min))
        return out

    def append(self, action: str, actor: str | None, target: str = "", **detail: Any) -> str:
        if not self.shards:  # a log from before the shards: add them (the only write of this object)
            self._add_shards()
        n = writer_shard(self, len(self.shards))
        ns = tick()
        last = _last_page(self.shards[n]) if self.paged else None
        if last is not None and last.rows:  # keys grow within a shard, whatever another process's clock says
            ns = max(ns, int(last.rows[-1][0][:20]) + 1)
        key = shard_key(n, ns)
        # the time shown is the key's: the trail reads in key order, its times never step back
        moment = moment_of(ns)
        entry = {"time": moment, "action": action, "actor": actor or "", "target": target}
        entry.update({k: v for k, v in detail.items() if v is not None})
        if self.paged:
            if moment == key_moment(key):  # the usual case: the key says it (not under a frozen clock)
                del entry["time"]
            _page_append(self.shards[n], last, key, tuple(entry.items()))
            if target:
                self.targets[n].add(target_code(target, ns))
        else:  # small-bucket shards until evolve step 9
            self.shards[n][key] = tuple(entry.items())
            if target:
                self.targets[n].add(f"{target}{SEP}{key}")
        count = self.count
        assert count is not None  # made with the shards
        count.change(1)
        return key

    def get(self, key: str, default: Any = None) -> Any:
        n = shard_of(key, len(self.shards))
        if n is None:
            stored = None
        elif self.paged:
            stored = _page_get(self.shards[n], key)
        else:
            stored = self.shards[n].get(key)
        for entries, _ in self.retired if stored is None else ():
            stored = entries.get(key)
            if stored is not None:
                break
        if stored is None and self.legacy_entries is not None:
            stored = self.legacy_entries.get(key)
        return as_entry(stored, key) if stored is not None else default

    def for_target(self, target: str) -> Iterator[dict[str, Any]]:
        low, high = f"{target}{SEP}", f"{target}{chr(ord(SEP) + 1)}"

        def shard(entries, index) -> Iterator[tuple[str, Any]]:
            for found in index.keys(min=low, max=high, excludemax=True):
                owner, _, key = found.rpartition(SEP)
                if owner == target:  # not "<target>\0more\0<key>" of a stranger target
                    yield key, entries[key]

        def paged(pages, index) -> Iterator[tuple[str, Any]]:
            hashed = target_code(target, 0)
            for code in index.keys(min=hashed, max=hashed | ((1 << WINDOW_BITS) - 1)):
                window = code & ((1 << WINDOW_BITS) - 1)
                end = f"{(window + 1) << WINDOW_BITS:020d}"
                for key, stored in _page_items(pages, f"{window << WINDOW_BITS:020d}"):
                    if key >= end:
                        break
                    if dict(stored).get("target") == target:
                        yield key, stored

        def legacy(entries, by_target) -> Iterator[tuple[str, Any]]:
            for key in by_target.get(target, ()):
                yield key, entries[key]

        if self.paged:
            sources = [paged(p, i) for p, i in zip(self.shards, self.targets, strict=True)]
        else:
            sources = [shard(e, i) for e, i in zip(self.shards, self.targets, strict=True)]
        sources += [shard(e, i) for e, i in self.retired]
        if self.legacy_entries is not None and self.legacy_by_target is not None:
            sources.insert(0, legacy(self.legacy_entries, self.legacy_by_target))
        for key, stored in merged(sources):
            if stored is not None:
                yield as_entry(stored, key)

    def items(self, min: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, entry)`` in time order, from ``min`` (a key or a key prefix) on."""
        stored = merged(self._sources(min))
        return ((key, as_entry(value, key)) for key, value in stored)

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
