"""Benchmark: bytes a write transaction puts into the storage (issue 16).

    .venv/bin/python bench/bench_writes.py                  # 3 000 items already on the site, 200 measured
    .venv/bin/python bench/bench_writes.py --base 5000 --n 300 --breakdown

A site is first filled with ``--base`` items in mixed states, one transaction per
create and per transition as requests make them (every subscriber of the app active:
listing index, full-text queue, audit, reminders and outbox, numbering; the full-text
queue drained after each, as the indexer does), so index buckets, audit shards and
queues are filled and split as on a real site.  Then
``--n`` items are created, each in its own transaction, through the real
``create_item``, and taken through a ``duban`` lifecycle (审签 -> 交办 -> 签收 ->
申请办结 -> 核查 -> 办结 -> 归档), one transaction per transition.

Bytes are read from the storage itself: the sum of the data record sizes of each
committed transaction (FileStorage iterator), plus the file size delta (which adds
FileStorage's own record headers).  Printed per step: median and p95; then the classes
written by a typical transition (the step whose median is nearest the median of every
transition: where in the site, class, bytes and records per transaction, first 3
transactions), and peak RSS.  ``--breakdown`` prints that for create and every step.

Targets: ≤ 15 KiB per created item, ≤ 5 KiB per transition.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_workflow import LIFECYCLE, pct, principals, setup, values  # noqa: E402


def _storage(site):
    storage = site._p_jar.db().storage
    return getattr(storage, "_storage", storage)  # unwrap a blob wrapper if any


def owners(site) -> dict[bytes, str]:
    """oid -> where it sits in the site tree (for ``--breakdown``): walks the site's structures."""
    from persistent import Persistent

    found: dict[bytes, str] = {}

    def walk(obj, label: str, depth: int = 0) -> None:
        oid = getattr(obj, "_p_oid", None)
        if oid is not None:
            if oid in found:
                return
            found[oid] = label
        if depth > 6:
            return
        if isinstance(obj, Persistent):
            obj._p_activate()
        if hasattr(obj, "_firstbucket") or hasattr(obj, "_next"):  # a BTree / TreeSet / bucket
            bucket = getattr(obj, "_firstbucket", None) if hasattr(obj, "_firstbucket") else None
            while bucket is not None:
                if bucket._p_oid is not None:
                    found.setdefault(bucket._p_oid, label + "~bucket")
                bucket = bucket._next
            if hasattr(obj, "values"):
                try:
                    vals = list(obj.values())
                except TypeError:
                    vals = []
                for v in vals[:5000]:
                    if isinstance(v, Persistent):
                        walk(v, label + "[v]", depth + 1)
            return
        if type(obj).__name__ == "SupervisionItem":
            for name in ("history", "data", "_num_objects", "_status"):
                walk(getattr(obj, name, None), "item." + name, depth + 1)
            return
        if isinstance(obj, Persistent):
            for name, v in list(vars(obj).items()):
                if name == "__parent__":
                    continue
                if isinstance(v, Persistent):
                    walk(v, f"{label}.{name}", depth + 1)
                elif isinstance(v, tuple | list):
                    for x in v:
                        if isinstance(x, Persistent):
                            walk(x, f"{label}.{name}[]", depth + 1)
                elif isinstance(v, dict):
                    for k, x in v.items():
                        if isinstance(x, Persistent):
                            walk(x, f"{label}.{name}[{k}]", depth + 1)

    for name in site:
        if name != "boards":
            walk(site[name], name)
    for name in ("item_index", "attachment_index", "counters"):
        walk(getattr(site, name), name)
    for board in site.boards.values():
        found.setdefault(board._p_oid, "board")
        walk(board.data, "board.data")
        walk(board._num_objects, "board._num_objects")
        for item in board.values():
            found.setdefault(item._p_oid, "item")
            walk(item, "item")
    found.setdefault(site._p_oid, "site")
    return found


def last_transaction(storage) -> list[tuple[str, int, bytes]]:
    """``[(class, pickle bytes, oid)]`` of every data record of the storage's last transaction."""
    from ZODB.utils import get_pickle_metadata

    tid = storage.lastTransaction()
    out: list[tuple[str, int]] = []
    it = storage.iterator(tid, tid)
    try:
        for txn in it:
            for rec in txn:
                data = rec.data or b""
                module, klass = get_pickle_metadata(data) if data else ("", "<blob/undo>")
                out.append((f"{module}.{klass}".lstrip("."), len(data), rec.oid))
    finally:
        close = getattr(it, "close", None)
        if close:
            close()
    return out


class Meter:
    """Commit and record what the transaction wrote."""

    def __init__(self, site, breakdown: bool = False) -> None:
        self.site = site
        self.breakdown = breakdown
        self.storage = _storage(site)
        self.path = getattr(self.storage, "_file_name", None)
        self.samples: dict[str, list[int]] = defaultdict(list)
        self.file_delta: dict[str, list[int]] = defaultdict(list)
        self.classes: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        self.commits: dict[str, int] = defaultdict(int)
        #: label -> records of its first 3 transactions, placed in the site tree by :meth:`place`
        self.raw: dict[str, list[tuple[str, int, bytes]]] = defaultdict(list)

    def drain(self) -> None:
        """The indexer's transaction taking what the last one queued (recorded as ``indexer``)."""
        from duban_archive.catalog.queue import get_state

        state = get_state(self.site)
        keys = [key for key, _ in state.items()]
        if keys:
            state.take(keys)
            self.commit("indexer")

    def size(self) -> int:
        return os.path.getsize(self.path) if self.path else 0

    def commit(self, label: str) -> None:
        import transaction

        before = self.size()
        last = self.storage.lastTransaction()
        transaction.commit()
        if self.storage.lastTransaction() == last:  # nothing written
            self.samples[label].append(0)
            self.file_delta[label].append(0)
            return
        records = last_transaction(self.storage)
        self.samples[label].append(sum(n for _, n, _ in records))
        self.file_delta[label].append(self.size() - before)
        self.commits[label] += 1
        if self.commits[label] <= 3:
            self.raw[label].extend(records)

    def place(self) -> None:
        """Name where each recorded object sits (one walk of the site tree, at the end)."""
        where = owners(self.site)
        for label, records in self.raw.items():
            for klass, n, oid in records:
                entry = self.classes[label][f"{where.get(oid, '?')}  ({klass.rsplit('.', 1)[-1]})"]
                entry[0] += 1
                entry[1] += n


def drain(site) -> None:
    """What the full-text indexer does after each commit: take the queued keys (its own transaction)."""
    import transaction

    from duban_archive.catalog.queue import get_state

    state = get_state(site)
    keys = [key for key, _ in state.items()]
    if keys:
        state.take(keys)
        transaction.commit()


def fill(app, n: int) -> None:
    """``n`` items in mixed states, one transaction per create and per transition (as requests make
    them: the audit log and queue shards fill the way a running site fills them)."""
    import transaction

    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.site_access import open_site

    reg = app.registry
    rnd = random.Random(11)
    paths = [LIFECYCLE[:k] for k in range(len(LIFECYCLE) + 1)]
    with open_site(reg) as site:
        boards = [b for b in site.boards.values() if b.workflow == "duban"]
        for i in range(n):
            item = create_item(site, rnd.choice(boards), values(rnd, i), "supervisor", reg)
            transaction.commit()
            wf = reg.duban_workflows[item.workflow]
            for name, role, data in rnd.choice(paths):
                wf.fire(item, name, role, principals(role, item.lead_unit), dict(data), site=site)
                transaction.commit()
            drain(site)
            if i % 200 == 199:
                site._p_jar.cacheGC()
                print(f"  {i + 1} items", file=sys.stderr)


def measure(app, n: int, breakdown: bool = False) -> Meter:
    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.site_access import open_site

    reg = app.registry
    rnd = random.Random(13)
    with open_site(reg) as site:
        meter = Meter(site, breakdown)
        board = site.boards["zdgz"]
        for i in range(n):
            item = create_item(site, board, values(rnd, 10**6 + i), "supervisor", reg)
            meter.commit("create")
            meter.drain()
            wf = reg.duban_workflows[item.workflow]
            for name, role, data in LIFECYCLE:
                wf.fire(item, name, role, principals(role, item.lead_unit), dict(data), site=site)
                meter.commit(name)
                meter.drain()
            if i % 50 == 49:
                site._p_jar.cacheGC()
        meter.place()
    return meter


def report(meter: Meter, breakdown: bool) -> None:
    labels = ["create"] + [name for name, _, _ in LIFECYCLE]
    for label in labels:
        data = meter.samples[label]
        files = meter.file_delta[label]
        print(f"{label:>16}: median {statistics.median(data) / 1024:6.2f} KiB, p95 {pct(data, 0.95) / 1024:6.2f} KiB "
              f"record data; file +{statistics.median(files) / 1024:6.2f} KiB median")
    drains = meter.samples["indexer"]
    if drains:
        print(f"{'indexer':>16}: median {statistics.median(drains) / 1024:6.2f} KiB, "
              f"p95 {pct(drains, 0.95) / 1024:6.2f} KiB "
              "(the full-text indexer's own transaction taking the queued ids, after each of the above)")
    transitions = [v for label in labels[1:] for v in meter.samples[label]]
    print(f"{'every transition':>16}: median {statistics.median(transitions) / 1024:6.2f} KiB, "
          f"p95 {pct(transitions, 0.95) / 1024:6.2f} KiB (targets: create ≤ 15 KiB, transition ≤ 5 KiB)")
    overall = statistics.median(transitions)
    typical = min(labels[1:], key=lambda label: abs(statistics.median(meter.samples[label]) - overall))
    for label in (labels if breakdown else [typical]):
        commits = max(1, min(3, meter.commits[label]))
        what = "typical transition " if label == typical and not breakdown else ""
        print(f"-- {what}{label}: per transaction (first 3), by place and class (bytes, records)")
        rows = sorted(meter.classes[label].items(), key=lambda kv: -kv[1][1])
        for klass, (count, size) in rows:
            print(f"   {size / commits:8.0f} B  {count / commits:5.1f} x  {klass}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=3000, help="items on the site before measuring")
    ap.add_argument("--n", type=int, default=200, help="items created and taken through a lifecycle, measured")
    ap.add_argument("--breakdown", action="store_true", help="bytes per class for each kind of transaction")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-bench-writes-") as tmp:
        os.environ["DUBAN_VAR_DIR"] = tmp
        app = setup()
        fill(app, args.base)
        meter = measure(app, args.n, args.breakdown)
        print(f"writes: site with {args.base} items, {args.n} items created + {len(LIFECYCLE)} transitions each, "
              "one transaction each")
        report(meter, args.breakdown)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
