"""API benchmark: GET one item among N items of one board; creating items through the HTTP API.

    .venv/bin/python bench/bench_api.py               # 20k items, 2k creations (a few minutes)
    .venv/bin/python bench/bench_api.py --n 100000 --create 10000   # the issue's full size

Creation is measured twice: one item per request (one commit each, bound by
fsync and ~20 persistent objects per item) and as JSON arrays (the batch form
of POST /boards/{board}/items), which is how an importer should create 10k items.

Targets (issue 2, point 10): GET item median <= 30 ms with 100k items in one board;
creating items through the API >= 300 items/s.  Prints median, p95 and peak RSS.
Not a test: CI never runs it.
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
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_app(var: Path):
    os.environ["DUBAN_VAR_DIR"] = str(var)
    from pyramid.paster import get_app

    return get_app(str(ROOT / "testing.ini"))


def bulk_create(app, n: int, batch: int) -> float:
    """N items in board zdgz through the Python API, ``batch`` per transaction; returns seconds."""
    import transaction

    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site

    t0 = time.perf_counter()
    fulltext = getattr(app.registry, "duban_fulltext", None)
    if fulltext is not None:  # the whoosh queue is left to the worker (not what this measures)
        fulltext.inline = False
    with open_site(app.registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
        board = site.boards["zdgz"]
        units = ["zjj", "jtj", "cgj", "dcz"]
        for i in range(n):
            create_item(site, board, {
                "title": f"批量事项 {i}", "source": "基准测试", "content": "内容" * 20, "requirement": "按期办结",
                "lead_unit": units[i % 4], "assist_units": (units[(i + 1) % 4],), "deadline": date(2026, 12, 31),
            }, "supervisor", app.registry)
            if (i + 1) % batch == 0:
                transaction.commit()
                site._p_jar.cacheGC()
                print(f"  created {i + 1}/{n}  ({(i + 1) / (time.perf_counter() - t0):.0f}/s)", file=sys.stderr)
        transaction.commit()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="items in the board (issue: 100000)")
    parser.add_argument("--create", type=int, default=2_000, help="items created through the API (issue: 10000)")
    parser.add_argument("--api-batch", type=int, default=100, help="items per API request for --create")
    parser.add_argument("--single", type=int, default=300, help="items created one per API request")
    parser.add_argument("--gets", type=int, default=500, help="timed GET requests")
    parser.add_argument("--batch", type=int, default=5_000, help="items per transaction in the bulk load")
    args = parser.parse_args()

    from webtest import TestApp

    with tempfile.TemporaryDirectory(prefix="bench_api_") as tmp:
        app = build_app(Path(tmp) / "var")
        secs = bulk_create(app, args.n, args.batch)
        print(f"bulk load: {args.n} items in {secs:.1f} s ({args.n / secs:.0f} items/s, Python API)")
        client = TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543"})

        def token(user: str) -> dict[str, str]:
            res = client.post_json("/api/v1/auth/token", {"username": user, "password": "duban-demo"})
            return {"Authorization": f"Bearer {res.json['token']}"}

        sup = token("supervisor")
        ids = [f"zdgz-{date.today().year}-{i:04d}" for i in random.sample(range(1, args.n + 1), min(args.gets, args.n))]
        for item_id in ids[:20]:  # warm the connection cache a little, as a running server would be
            client.get(f"/api/v1/items/{item_id}", headers=sup)
        times = []
        for item_id in ids:
            t = time.perf_counter()
            client.get(f"/api/v1/items/{item_id}", headers=sup)
            times.append((time.perf_counter() - t) * 1000)
        print(f"GET /api/v1/items/{{id}} ({args.n} items in the board, {len(times)} requests): "
              f"median {statistics.median(times):.2f} ms, p95 {pct(times, 95):.2f} ms  (target median <= 30 ms)")

        times = []
        for _ in range(100):
            t = time.perf_counter()
            client.get("/api/v1/items?board=zdgz&unit=jtj&page=3", headers=sup)
            times.append((time.perf_counter() - t) * 1000)
        print(f"GET /api/v1/items?board=zdgz&unit=jtj&page=3 (50 rows): median {statistics.median(times):.2f} ms, "
              f"p95 {pct(times, 95):.2f} ms")

        body = {"title": "接口立项", "source": "基准测试", "content": "内容", "requirement": "按期办结",
                "lead_unit": "zjj", "assist_units": ["jtj"], "deadline": "2026-12-31"}
        times = []
        t0 = time.perf_counter()
        for _ in range(args.single):
            t = time.perf_counter()
            client.post_json("/api/v1/boards/zdgz/items", body, headers=sup, status=201)
            times.append((time.perf_counter() - t) * 1000)
        rate = args.single / (time.perf_counter() - t0)
        print(f"POST /api/v1/boards/zdgz/items x {args.single}, one item per request (WebTest, one commit each): "
              f"{rate:.0f} items/s, median {statistics.median(times):.2f} ms, p95 {pct(times, 95):.2f} ms")
        times = []
        t0 = time.perf_counter()
        for start in range(0, args.create, args.api_batch):
            count = min(args.api_batch, args.create - start)
            batch = [dict(body, title=f"批量接口立项 {start + i}") for i in range(count)]
            t = time.perf_counter()
            client.post_json("/api/v1/boards/zdgz/items", batch, headers=sup, status=201)
            times.append((time.perf_counter() - t) * 1000)
        rate = args.create / (time.perf_counter() - t0)
        print(f"POST /api/v1/boards/zdgz/items, {args.create} items as arrays of {args.api_batch} (one commit per "
              f"request): {rate:.0f} items/s (target >= 300 items/s); per request median "
              f"{statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms")
        print(f"peak RSS: {peak_rss_mb():.0f} MB")
        for db in app.registry._zodb_databases.values():
            db.close()


if __name__ == "__main__":
    main()
