"""Benchmark ``tick``: (a) N open items with nothing due (target ≤ 200 ms),
(b) 1k due reminders delivered to the SMS log channel (target ≤ 2 s).

Items are built directly (state 办理中, 交办 history, deadline) and planned
with the real ``reschedule`` — the catalog/full-text indexing of item
creation is not what is measured here.  Each round of (b) uses a fresh
group of 1k items whose 5-hours-before reminder fires at that round's time.

    .venv/bin/python bench/bench_tick.py            # N = 20 000 (a few minutes)
    .venv/bin/python bench/bench_tick.py --n 100000 # the issue's size
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="open items with nothing due (issue: 100000)")
    parser.add_argument("--due", type=int, default=1000, help="due reminders per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle-runs", type=int, default=30)
    args = parser.parse_args()

    var = tempfile.mkdtemp(prefix="bench-tick-")
    os.environ["DUBAN_VAR_DIR"] = var
    import transaction
    from pyramid.paster import get_app

    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.item import SupervisionItem
    from duban_archive.content_types.site_access import open_site
    from duban_archive.notifications.delivery import run_tick
    from duban_archive.notifications.reminders import calendar_of, reschedule
    from duban_archive.security.units import Unit
    from duban_archive.security.users import User
    from duban_archive.timeutil import CST, frozen_now

    app = get_app(str(ROOT / "testing.ini"))
    registry = app.registry
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
    with open_site(registry, create=True) as site:
        add_demo_content(site)
        site["units"].add_unit(Unit("bench", "压测单位"))
        user = User("bench_handler", "压测承办人", ("handler",), "bench", phone="13900000000")
        user.password_hash = "x"
        site["users"].add_user(user)
        transaction.commit()

    def build(count: int, deadline: date, prefix: str, unit: str) -> None:
        wf = registry.duban_workflows["duban"]
        with frozen_now(t0), open_site(registry) as site:
            board = site.boards["zdgz"]
            cal = calendar_of(site)
            for i in range(count):
                item_id = f"{prefix}-{i:06d}"
                item = SupervisionItem(item_id, item_id.upper(), "zdgz", "supervision_item")
                item.title, item.lead_unit, item.assist_units = f"压测事项 {i}", unit, ()
                item.deadline, item.registered_on, item.created = deadline, t0.date(), t0
                board.add(item_id, item)
                site.item_index[item_id] = item
                wf.initialize(item, "supervisor")
                item.state = "in_progress"
                item.history.append({"time": t0, "actor": "supervisor", "transition": "assign", "title": "交办",
                                     "from": "approved", "to": "assigned", "comment": "", "fields": {}})
                reschedule(site, item, registry, t0, cal)
                if i % 2000 == 1999:
                    transaction.commit()
            transaction.commit()

    start = time.perf_counter()
    build(args.n, date(2026, 12, 31), "open", "zjj")  # next fire: weekly reminder a week later
    groups = []
    for r in range(args.rounds):
        # 交办 Mon 09:00, deadline r+1 days later: the 5-hours-before reminder fires at 19:00 that day
        deadline = t0.date() + timedelta(days=r + 1)
        build(args.due, deadline, f"due{r}", "bench")
        groups.append((f"due{r}", datetime.combine(deadline, datetime.min.time(), CST) + timedelta(hours=19)))
    print(f"setup: {args.n} open + {args.rounds}×{args.due} due items in {time.perf_counter() - start:.1f} s")

    idle_at = t0 + timedelta(hours=1)
    run_tick(registry, idle_at)  # warm the connection cache
    idle = []
    for _ in range(args.idle_runs):
        s = time.perf_counter()
        res = run_tick(registry, idle_at)
        idle.append((time.perf_counter() - s) * 1000)
        assert res.claimed == 0 and res.produced == 0, res
    report(f"tick, {args.n} open items, nothing due", idle, "ms", 200)

    due, cpu = [], []
    for prefix, fire_at in groups:
        s, c = time.perf_counter(), time.process_time()
        res = run_tick(registry, fire_at)
        due.append(time.perf_counter() - s)
        cpu.append(time.process_time() - c)
        assert res.sent == args.due and res.produced == 2 * args.due, res
        with frozen_now(fire_at), open_site(registry) as site:  # the group reports: no overdue reminders later
            for i in range(args.due):
                item = site.get_item(f"{prefix}-{i:06d}")
                item.state = "closure_requested"
                reschedule(site, item, registry, fire_at)
            transaction.commit()
    lines = sum(1 for _ in open(Path(var) / "log" / "sms.log", encoding="utf-8"))
    report(f"tick, {args.due} due reminders -> SMS log (+ inbox)", due, "s", 2)
    print(f"  (CPU time of this process: median {statistics.median(cpu):.3f} s; wall time includes fsync and "
          f"waiting for a busy CPU, load average {os.getloadavg()[0]:.1f})")
    print(f"SMS log lines: {lines} (expected {args.rounds * args.due})")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for db in registry._zodb_databases.values():
        db.close()
    return 0


def report(title: str, samples: list[float], unit: str, target: float) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
    med = statistics.median(samples)
    verdict = "OK" if med <= target else "SLOW"
    print(f"{title}: median {med:.3f} {unit}, p95 {p95:.3f} {unit} (target ≤ {target} {unit}) {verdict}")


if __name__ == "__main__":
    sys.exit(main())
