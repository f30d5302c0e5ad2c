"""Benchmark: workflow transitions through the Python API, and 我的待办 queries.

    .venv/bin/python bench/bench_workflow.py                         # 1 000 lifecycles, 10 000 open items
    .venv/bin/python bench/bench_workflow.py --n 10000 --open 100000 # the sizes issue 3 names

1. ``--n`` items, each through a full ``duban`` lifecycle with the real
   engine and every subscriber of the app (listing index, full-text queue,
   reminders, grading, audit; the full-text queue is filled but drained by its worker,
   as in production): 审签 -> 交办 -> 签收 -> 申请办结 -> 核查 -> 办结
   -> 归档, committed every ``--batch`` items.  Target ≥ 200 transitions/s.
2. ``--open`` open items spread over 12 units and the states of 待审签 /
   待签收 / 待办理 / 待核查, then whole requests through the WSGI app (routing,
   bearer auth, query, item loading, JSON) for a unit head, a handler, the
   supervisor and the leader: ``GET /api/v1/worklist`` (every bucket and the
   total) and the largest board's ``GET /api/v1/items?board=…&page=…&sort=…``,
   first and deep pages, every sort, both directions.  Target (issue 16):
   median ≤ 10 ms, p95 ≤ 30 ms per request at 100k items.

Prints median, p95 and peak RSS per role.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNITS = ["zjj", "jtj", "cgj", "dcz", "fgw", "jyj", "wjw", "sthj", "nyj", "gaj", "scj", "yjj"]
LIFECYCLE = [("approve", "leader", {}), ("assign", "supervisor", {"problem_kind": "general"}),
             ("accept", "unit_head", {}), ("request_closure", "handler", {}), ("review", "supervisor", {}),
             ("close", "leader", {"grade": "B"}), ("file", "records_officer", {})]


def principals(role: str, unit: str) -> list[str]:
    base = ["system.Everyone", "system.Authenticated", f"user:{role}-{unit}", f"role:{role}"]
    if role in ("unit_head", "handler"):
        return base + [f"unit:{unit}", f"unit:{unit}:{role}"]
    return base + ["unit:zfb"]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def setup():
    import transaction
    from pyramid.paster import get_app

    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site
    from duban_archive.security.units import Unit

    app = get_app(str(ROOT / "testing.ini"))
    # the full-text queue is drained by its worker in production, not inline after each commit
    app.registry.duban_fulltext.inline = False
    with open_site(app.registry, create=True) as site:
        add_demo_content(site)
        for uid in UNITS:
            if uid not in site["units"]:
                site["units"].add_unit(Unit(uid, uid, None, uid.upper(), "department"))
        transaction.commit()
    return app


def values(rnd: random.Random, i: int) -> dict:
    lead = rnd.choice(UNITS)
    return {"title": f"推进重点工作第{i}项", "source": "区政府常务会议", "content": "按 13710 要求推进",
            "requirement": "按月报送", "lead_unit": lead, "assist_units": {rnd.choice(UNITS)} - {lead},
            "deadline": date(2026, 6, 30) + timedelta(days=rnd.randrange(300))}


def bench_lifecycle(app, n: int, batch: int) -> None:
    import transaction

    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.site_access import open_site

    reg = app.registry
    rnd = random.Random(3)
    per_transition: list[float] = []
    fired = 0
    t_all = 0.0
    with open_site(reg) as site:
        board = site.boards["zdgz"]
        for start in range(0, n, batch):
            ids = [create_item(site, board, values(rnd, i), "supervisor", reg).item_id
                   for i in range(start, min(n, start + batch))]
            transaction.commit()
            t0 = time.perf_counter()
            for item_id in ids:
                item = site.get_item(item_id)
                wf = reg.duban_workflows[item.workflow]
                for name, role, data in LIFECYCLE:
                    t = time.perf_counter()
                    wf.fire(item, name, role, principals(role, item.lead_unit), dict(data), site=site)
                    per_transition.append(time.perf_counter() - t)
                    fired += 1
            transaction.commit()
            t_all += time.perf_counter() - t0
            site._p_jar.cacheGC()
            print(f"  {min(n, start + batch)} lifecycles, {fired / t_all:.0f} transitions/s", file=sys.stderr)
    ms = [v * 1000 for v in per_transition]
    print(f"lifecycle: {n} items x {len(LIFECYCLE)} transitions = {fired} transitions in {t_all:.1f} s "
          f"(incl. commits) -> {fired / t_all:.0f} transitions/s (target >= 200)")
    print(f"  per transition: median {statistics.median(ms):.2f} ms, p95 {pct(ms, 0.95):.2f} ms")


def bench_worklist(app, n_open: int, batch: int, rounds: int) -> None:
    import transaction

    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.site_access import open_site

    reg = app.registry
    rnd = random.Random(5)
    paths = [[], LIFECYCLE[:1], LIFECYCLE[:2], LIFECYCLE[:3], LIFECYCLE[:4]]  # 待审签 … 待核查
    t0 = time.perf_counter()
    with open_site(reg) as site:
        boards = [b for b in site.boards.values() if b.workflow == "duban"]
        for i in range(n_open):
            item = create_item(site, rnd.choice(boards), values(rnd, i), "supervisor", reg)
            wf = reg.duban_workflows[item.workflow]
            for name, role, data in rnd.choice(paths):
                wf.fire(item, name, role, principals(role, item.lead_unit), dict(data), site=site)
            if (i + 1) % batch == 0:
                transaction.commit()
                site._p_jar.cacheGC()
                print(f"  {i + 1} open items, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        transaction.commit()
        board_sizes = {b.board_id: len(b) for b in boards}
    print(f"worklist: {n_open} open items created in {time.perf_counter() - t0:.0f} s "
          f"(boards: {', '.join(f'{k} {v}' for k, v in board_sizes.items())})")
    bench_requests(app, max(board_sizes, key=lambda k: board_sizes[k]), rounds)


#: demo users (content_types/bootstrap.py): unit head of zjj, handler of jtj, supervisor, leader
USERS = [("unit_head", "unit_head@zjj"), ("handler2", "handler@jtj"), ("supervisor", "supervisor"),
         ("leader", "leader")]
SORT_ORDERS = ("number", "deadline", "registered_on", "modified", "due")


def bench_requests(app, board: str, rounds: int) -> None:
    """Whole requests through the WSGI app (routing, security, query, JSON): the worklist and board pages."""
    from webtest import TestApp

    from duban_archive.content_types.bootstrap import DEMO_PASSWORD

    testapp = TestApp(app)
    for username, label in USERS:
        token = testapp.post_json("/api/v1/auth/token", {"username": username, "password": DEMO_PASSWORD}).json
        headers = {"Authorization": f"Bearer {token['token']}"}
        work: list[float] = []
        pages: list[float] = []
        deep: list[float] = []
        cpu: dict[str, list[float]] = {"work": [], "pages": [], "deep": []}
        totals: dict[str, int] = {}
        # the user's first requests load their sets into the ZODB cache: a cost paid once per process
        # start, reported on its own; the median and p95 below are over the requests that follow
        t = time.perf_counter()
        testapp.get("/api/v1/worklist", headers=headers)
        cold_work = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        first = testapp.get(f"/api/v1/items?board={board}&per_page=50", headers=headers).json["total"]
        cold_page = (time.perf_counter() - t) * 1000
        last_page = max(1, -(-first // 50))
        for r in range(rounds):
            t, c = time.perf_counter(), time.process_time()
            res = testapp.get("/api/v1/worklist", headers=headers)
            work.append((time.perf_counter() - t) * 1000)
            cpu["work"].append((time.process_time() - c) * 1000)
            totals = {b["name"]: b["total"] for b in res.json["buckets"] if b["total"]}
            sort = SORT_ORDERS[r % len(SORT_ORDERS)]
            for page in sorted({1, 2, max(1, last_page // 2), last_page}):
                for reverse in ("false", "true"):
                    t, c = time.perf_counter(), time.process_time()
                    got = testapp.get(f"/api/v1/items?board={board}&page={page}&per_page=50&sort={sort}"
                                      f"&reverse={reverse}", headers=headers).json
                    ms = (time.perf_counter() - t) * 1000
                    (deep if page > 2 else pages).append(ms)
                    cpu["deep" if page > 2 else "pages"].append((time.process_time() - c) * 1000)
                    assert got["total"] == first
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {label}: first requests after start (cold cache): worklist {cold_work:.1f} ms, "
              f"board page {cold_page:.1f} ms")
        print(f"  {label}: GET /api/v1/worklist median {statistics.median(work):.2f} ms, p95 {pct(work, 0.95):.2f} ms "
              f"({', '.join(f'{k} {v}' for k, v in totals.items())})")
        deep_text = (f"deep pages (to {last_page}) median {statistics.median(deep):.2f} ms, "
                     f"p95 {pct(deep, 0.95):.2f} ms" if deep else "no deep pages")
        print(f"  {label}: board {board} ({first} visible) pages 1-2 median {statistics.median(pages):.2f} ms, "
              f"p95 {pct(pages, 0.95):.2f} ms; {deep_text} (every sort, both directions); peak RSS {rss:.0f} MB")
        names = {"work": "worklist", "pages": "board pages 1-2", "deep": "deep pages"}
        print(f"  {label}: CPU per request (not inflated by a busy machine): "
              + "; ".join(f"{names[k]} median {statistics.median(v):.2f} ms, p95 {pct(v, 0.95):.2f} ms"
                          for k, v in cpu.items() if v))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="items taken through a full lifecycle (issue: 10000)")
    ap.add_argument("--open", type=int, default=10_000, help="open items for the worklist query (issue: 100000)")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=50, help="requests per user and kind (p95 needs a few dozen)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-bench-workflow-") as tmp:
        os.environ["DUBAN_VAR_DIR"] = tmp
        app = setup()
        if args.n:
            bench_lifecycle(app, args.n, args.batch)
        if args.open:
            bench_worklist(app, args.open, args.batch, args.rounds)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
