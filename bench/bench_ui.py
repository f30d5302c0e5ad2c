"""Benchmark: the item page and a 50-row board listing over a big board.

    .venv/bin/python bench/bench_ui.py            # 20 000 items (a few minutes)
    .venv/bin/python bench/bench_ui.py --n 100000 # the size issue 2 names

Items are created through the Python API in bulk transactions (not HTTP);
pages are fetched through WebTest as a logged-in supervisor.  Prints median,
p95 and peak RSS.  Targets: item page ≤ 30 ms, listing ≤ 80 ms (medians).
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


def build(n: int, batch: int):
    import transaction
    from pyramid.paster import get_app

    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site

    app = get_app(str(ROOT / "testing.ini"))
    fulltext = getattr(app.registry, "duban_fulltext", None)
    if fulltext is not None:  # whoosh work stays queued: this benchmark times the HTML pages
        fulltext.inline = False
    units = ["zjj", "jtj", "cgj", "dcz"]
    t0 = time.perf_counter()
    with open_site(app.registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
        transaction.begin()
        board = site.boards["zdgz"]
        rnd = random.Random(7)
        for i in range(n):
            values = {
                "title": f"重点工作任务第 {i} 项：推进老旧小区改造", "source": "区政府常务会议",
                "content": "完成 3 个老旧小区改造" * 3, "requirement": "按月报送进展",
                "lead_unit": units[i % 4], "assist_units": (units[(i + 1) % 4],),
                "registered_on": date(2025, 1, 1) + timedelta(days=rnd.randrange(700)),
                "deadline": date(2026, 1, 1) + timedelta(days=rnd.randrange(700)),
            }
            create_item(site, board, values, "supervisor", app.registry)
            if (i + 1) % batch == 0:
                transaction.commit()
                transaction.begin()  # see what after-commit workers (indexers) wrote meanwhile
                site._p_jar.cacheGC()
                print(f"  {i + 1} items, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        transaction.commit()
        ids = list(site.item_index.keys())
    print(f"created {n} items in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return app, ids


def reopen():
    from pyramid.paster import get_app

    from duban_archive.content_types.site_access import open_site

    app = get_app(str(ROOT / "testing.ini"))
    with open_site(app.registry) as site:
        ids = list(site.boards["zdgz"].keys())
    print(f"reusing {os.environ['DUBAN_VAR_DIR']}: {len(ids)} items", file=sys.stderr)
    return app, ids


def timed(testapp, urls: list[str]) -> list[float]:
    out = []
    for url in urls:
        t = time.perf_counter()
        testapp.get(url, status=200)
        out.append((time.perf_counter() - t) * 1000)
    return out


def report(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"{name:<28} n={len(samples):<4} median={statistics.median(samples):7.1f} ms  p95={p95:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="items in the board (issue size: 100000)")
    parser.add_argument("--batch", type=int, default=2_000, help="items per transaction while loading")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page kind")
    parser.add_argument("--var", help="data directory; reused (no loading) when it already holds a site")
    args = parser.parse_args()
    reuse = bool(args.var) and (Path(args.var) / "Data.fs").exists()
    os.environ["DUBAN_VAR_DIR"] = args.var or os.environ.get("DUBAN_VAR_DIR") or tempfile.mkdtemp(prefix="bench-ui-")
    sys.path.insert(0, str(ROOT / "src"))
    from webtest import TestApp

    from duban_archive.testing import login

    app, ids = reopen() if reuse else build(args.n, args.batch)
    args.n = len(ids)
    testapp = TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "127.0.0.1"})
    login(testapp, "supervisor")
    rnd = random.Random(1)
    item_urls = [f"/boards/zdgz/{rnd.choice(ids)}" for _ in range(args.requests)]
    pages = max(1, args.n // 50)
    sorts = ["number", "deadline", "registered_on", "modified"]
    first_urls = [f"/boards/zdgz?sort={rnd.choice(sorts)}&page={rnd.randrange(1, 6)}"
                  + ("&order=desc" if rnd.random() < 0.5 else "") for _ in range(args.requests)]
    deep_urls = [f"/boards/zdgz?sort={rnd.choice(sorts)}&page={rnd.randrange(1, pages + 1)}"
                 for _ in range(args.requests)]
    deep_desc_urls = [f"/boards/zdgz?sort={rnd.choice(sorts)}&order=desc&page={rnd.randrange(1, pages + 1)}"
                      for _ in range(args.requests // 4)]
    filter_urls = [f"/boards/zdgz?unit={rnd.choice(['zjj', 'jtj'])}&state=registered&sort=deadline"
                   f"&page={rnd.randrange(1, 20)}" for _ in range(args.requests // 2)]
    timed(testapp, item_urls[:20] + first_urls[:20])  # compile templates, warm the index
    print(f"board size: {args.n} items")
    report("item page", timed(testapp, item_urls))
    report("listing, pages 1-5 (50 rows)", timed(testapp, first_urls))
    report("listing, any page, ascending", timed(testapp, deep_urls))
    report("listing, any page, descending", timed(testapp, deep_desc_urls))
    report("listing, unit+state filter", timed(testapp, filter_urls))
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
