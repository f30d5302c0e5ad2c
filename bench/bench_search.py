"""Benchmark: full-text search and bulk reindex over realistic Chinese items.

    .venv/bin/python bench/bench_search.py             # 20 000 items (a few minutes)
    .venv/bin/python bench/bench_search.py --n 100000  # the size issue 4 names
    .venv/bin/python bench/bench_search.py --n 100000 --keep /tmp/b100k  # generate once, rerun quickly

Items are generated from the vocabulary of the customer's own documents
(``shared/seeds``): titles, contents and feedback are sentences of the seeds,
spread over 12 units, 9 boards and three years, most of them 交办 so that
unit users see only their units' items.  Then:

* bulk reindex (``Indexer.rebuild``, 2 processes) — items/s, target ≥ 800;
* index size per item;
* queries (words, phrases, document numbers, boolean, field filters) as a
  supervisor (sees everything), unit handlers and an auditor — median and
  p95 in ms including the permission filter, facets and snippets; targets
  median ≤ 20 ms, p95 ≤ 50 ms;
* the first query after an item was edited and re-indexed (a new searcher: what
  an office sees all day), 20 times, so whoosh's segment merges are among them;
* the reference: tantivy-py (``pip install 'duban_archive[bench]'``) over the same
  items and queries, fed the project's own segmentation (each text field as the
  whitespace-joined words of ``analysis.words``, tokenised by whitespace), the
  permission principals and facet values as raw terms, and our ratio to it.  Query
  strings are translated to tantivy's syntax (fields, ranges, phrases of our words);
  the permission filter and facet filters are part of every tantivy query, facets are
  counted with tantivy's own ``count`` per value and snippets left out (ours include
  them).  Without tantivy the column is skipped with a message.

Prints median, p95 and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

UNITS = [("zjj", "市住建局"), ("jtj", "市交通运输局"), ("cgj", "市城管局"), ("dcz", "东城街道办事处"),
         ("fgw", "市发展改革委"), ("jyj", "市教育局"), ("wjw", "市卫生健康委"), ("sthj", "市生态环境局"),
         ("nyj", "市农业农村局"), ("gaj", "市公安局"), ("scj", "市市场监管局"), ("yjj", "市应急管理局")]
TOPICS = ["老旧小区改造", "农村公路建设", "河长制巡河", "安全生产检查", "营商环境优化", "12345热线工单办理",
          "垃圾分类", "秸秆禁烧", "学校食堂食品安全", "重点工程项目推进", "招商引资项目落地", "技改项目投产",
          "扬尘污染治理", "森林防火", "城市燃气管道更新", "防汛物资储备", "社区养老服务", "市场价格监管"]
VERBS = ["推进", "落实", "加快", "开展", "完成", "督促", "做好", "抓好"]


def seed_sentences() -> list[str]:
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text("utf-8", "replace")
        for s in re.split(r"(?<=[。！？])", text):
            s = re.sub(r"\s+", "", s)
            if 12 <= len(s) <= 120:
                out.append(s)
    return out or ["按照“13710”工作制度要求，承办单位应在3日内反馈办理进展情况。"]


def open_app():
    """The app on ``$DUBAN_VAR_DIR`` with inline indexing off: generate first, then measure the rebuild."""
    from pyramid.paster import get_app

    from duban_archive.catalog.fulltext import get_catalog

    app = get_app(str(ROOT / "testing.ini"))
    catalog = get_catalog(app.registry)
    catalog.inline = False
    return app, catalog


def build(n: int, batch: int):
    import transaction

    from duban_archive.content_types.actions import add_feedback, create_item
    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site
    from duban_archive.security.units import Unit

    app, catalog = open_app()
    sentences = seed_sentences()
    rnd = random.Random(4)
    t0 = time.perf_counter()
    with open_site(app.registry, create=True) as site:
        add_demo_content(site)
        for uid, title in UNITS:
            if uid not in site["units"]:
                site["units"].add_unit(Unit(uid, title, None, uid.upper(), "department"))
        transaction.commit()
        boards = [b for b in site.boards.values() if b.item_type == "supervision_item"]
        for i in range(n):
            topic = rnd.choice(TOPICS)
            lead = rnd.choice(UNITS)[0]
            values = {
                "title": f"{rnd.choice(VERBS)}{topic}（第{i}项）",
                "source": rnd.choice(["区政府常务会议", "《政府工作报告》", "市长专题会议", "领导批示"]),
                "content": "".join(rnd.sample(sentences, 3)) + f"重点做好{topic}工作。",
                "requirement": rnd.choice(sentences),
                "lead_unit": lead, "assist_units": {rnd.choice(UNITS)[0]} - {lead},
                "registered_on": date(2024, 1, 1) + timedelta(days=rnd.randrange(1000)),
                "deadline": date(2025, 1, 1) + timedelta(days=rnd.randrange(700)),
            }
            item = create_item(site, rnd.choice(boards), values, "supervisor", app.registry)
            if rnd.random() < 0.8:  # 交办: the units see it from now on
                wf = app.registry.duban_workflows[item.workflow]
                wf.fire(item, "approve", "leader", ["role:leader"])
                wf.fire(item, "assign", "supervisor", ["role:supervisor"])
            if rnd.random() < 0.3:
                add_feedback(site, item, {"done": rnd.choice(sentences), "progress": rnd.choice(sentences),
                                          "next_steps": rnd.choice(sentences)}, "handler", app.registry)
            if (i + 1) % batch == 0:
                transaction.commit()
                site._p_jar.cacheGC()
                print(f"  {i + 1} items, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        transaction.commit()
    print(f"created {n} items in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return app, catalog


def principals_for(kind: str, unit: str = "zjj") -> list[str]:
    base = ["system.Everyone", "system.Authenticated"]
    if kind == "supervisor":
        return base + ["user:supervisor", "role:supervisor", "unit:zfb"]
    if kind == "auditor":
        return base + ["user:auditor", "role:auditor", "unit:zfb"]
    return base + [f"user:h-{unit}", "role:handler", f"unit:{unit}", f"unit:{unit}:handler"]


QUERIES = [
    ("老旧小区", {}), ('"老旧小区改造"', {}), ("13710", {}), ("督办 反馈", {}), ("安全生产 AND 检查", {}),
    ("垃圾分类 OR 秸秆禁烧", {}), ("防汛 NOT 演练", {}), ("title:森林防火", {}), ("承办单位", {"year": 2025}),
    ("营商环境", {"board": "zdgz"}), ('"信息督办系统"', {}), ("12345热线", {}), ("燃气管道", {"unit": "jtj"}),
    ("第123项", {}), ("食品安全", {"state": "assigned"}), ("催办", {}), ("办结 销号", {}), ("扬尘", {}),
    ("registered_on:[20250101 to 20250630] 招商", {}), ("养老服务", {"year": 2024}),
    ("督办", {"sort": "registered_on"}), ("改造", {"page": 3}), ("", {"state": "assigned", "sort": "deadline"}),
]


def bench_queries(catalog, rounds: int) -> list[float]:
    users = [principals_for("supervisor"), principals_for("auditor")] + [
        principals_for("handler", u) for u, _ in UNITS[:6]]
    for q, kw in QUERIES:  # warm the searcher and caches
        catalog.search(users[0], q, **kw)
    times, cpu = [], []
    for r in range(rounds):
        for i, (q, kw) in enumerate(QUERIES):
            who = users[(r + i) % len(users)]
            t, c = time.perf_counter(), time.process_time()
            catalog.search(who, q, **kw)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return times, cpu


def first_query_after_change(app, catalog, times: int = 20) -> list[float]:
    """What an office sees all day: an item changes, the indexer writes it, the next search
    opens a new searcher (whoosh re-opens every segment) and runs."""
    import transaction

    from duban_archive.content_types.actions import edit_item
    from duban_archive.content_types.site_access import open_site

    out = []
    users = principals_for("supervisor")
    with open_site(app.registry) as site:
        items = list(site.item_index.values())[:times]
        for k, item in enumerate(items):
            transaction.abort()  # a fresh snapshot: the indexer committed the queue meanwhile
            edit_item(site, item, {"title": f"{item.title}（第{k}次补充）"}, "supervisor", app.registry)
            transaction.commit()
            catalog.indexer.apply_pending()
            t = time.perf_counter()
            q, kw = QUERIES[k % len(QUERIES)]
            catalog.search(users, q, **kw)
            out.append((time.perf_counter() - t) * 1000)
    return out


# -- the reference: tantivy-py ----------------------------------------------
TANTIVY_TEXT = ("title", "body", "files")
TANTIVY_RAW = ("id", "number", "board", "state", "units", "retention", "allowed")


def _seg(text: str) -> str:
    from duban_archive.catalog.analysis import normalize, words

    return " ".join(w for _, w, _, _ in words(normalize(text), search=True))


def tantivy_build(app, path: Path):
    """The same documents, segmented by our analyzer, in a tantivy index (returns index, seconds)."""
    import tantivy

    from duban_archive.catalog.documents import build_document
    from duban_archive.content_types.site_access import open_site

    sb = tantivy.SchemaBuilder()
    for name in TANTIVY_TEXT:
        sb.add_text_field(name, stored=True, tokenizer_name="whitespace", index_option="position")
    for name in TANTIVY_RAW:
        sb.add_text_field(name, stored=name in ("id", "number"), tokenizer_name="raw", fast=True)
    sb.add_integer_field("year", stored=False, indexed=True, fast=True)
    sb.add_date_field("registered_on", stored=False, indexed=True, fast=True)
    schema = sb.build()
    path.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema, path=str(path))
    t = time.perf_counter()
    writer = index.writer(heap_size=200_000_000, num_threads=2)
    with open_site(app.registry) as site:
        for k, item in enumerate(site.item_index.values()):
            d = build_document(item, app.registry)
            doc = tantivy.Document()
            for name in TANTIVY_TEXT:
                doc.add_text(name, _seg(d.get(name, "")))
            doc.add_text("id", d["id"])
            doc.add_text("number", d.get("number", "").lower())
            for name in ("board", "state", "retention"):
                doc.add_text(name, d.get(name, ""))
            for u in d.get("units", "").split(","):
                doc.add_text("units", u)
            for p in d.get("allowed", "").split(","):
                doc.add_text("allowed", p)
            if "year" in d:
                doc.add_integer("year", d["year"])
            if "registered_on" in d:
                doc.add_date("registered_on", d["registered_on"])
            writer.add_document(doc)
            if k % 5000 == 0:
                site._p_jar.cacheGC()
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return index, time.perf_counter() - t


def _tantivy_query_string(q: str, kw: dict, principals: list[str]) -> str:
    """Our query syntax in tantivy's, the text segmented by our analyzer."""
    import re as _re

    out = []
    ranges = []

    def keep_range(m) -> str:
        a, b = "-".join(m.groups()[:3]), "-".join(m.groups()[3:])
        ranges.append(f"registered_on:[{a}T00:00:00Z TO {b}T23:59:59Z]")
        return ""

    q = _re.sub(r"registered_on:\[(\d{4})(\d\d)(\d\d) to (\d{4})(\d\d)(\d\d)\]", keep_range, q)
    out.extend(ranges)
    for part in _re.findall(r'"[^"]*"|\S+', q):
        if part in ("AND", "OR", "NOT"):
            out.append(part)
            continue
        field = None
        if ":" in part and not part.startswith('"'):
            field, part = part.split(":", 1)
        words = _seg(part.strip('"')).split()
        if not words:
            continue
        phrase = '"' + " ".join(words) + '"'
        if field:
            out.append(f"{field}:{phrase}")
        else:
            out.append("(" + " OR ".join(f"{f}:{phrase}" for f in TANTIVY_TEXT) + ")")
    text = " ".join(out)
    filt = ["(" + " OR ".join(f'allowed:"{p}"' for p in principals) + ")"]
    for name, field in (("board", "board"), ("state", "state"), ("unit", "units")):
        if kw.get(name):
            filt.append(f'{field}:"{kw[name]}"')
    if kw.get("year"):
        filt.append(f"year:{kw['year']}")
    return " AND ".join(([f"({text})"] if text else []) + filt)


#: facets as tantivy terms aggregations (the same five as ours)
TANTIVY_FACETS = {name: {"terms": {"field": field, "size": 200}} for name, field in (
    ("board", "board"), ("state", "state"), ("unit", "units"), ("year", "year"), ("retention", "retention"))}


def tantivy_search(index, q: str, kw: dict, principals: list[str], facets: bool = True):
    searcher = index.searcher()
    query = index.parse_query(_tantivy_query_string(q, kw, principals), list(TANTIVY_TEXT))
    page = int(kw.get("page", 1))
    if kw.get("sort") == "registered_on":
        res = searcher.search(query, limit=20 * page, count=True, order_by_field="registered_on")
    else:
        res = searcher.search(query, limit=20 * page, count=True)
    for _score, addr in res.hits[-20:]:
        searcher.doc(addr)
    if facets:
        searcher.aggregate(query, TANTIVY_FACETS)
    return res.count


BOARDS_SEEN: list[str] = []
STATES_SEEN: list[str] = []


def bench_tantivy(index, rounds: int) -> tuple[list[float], list[float]]:
    users = [principals_for("supervisor"), principals_for("auditor")] + [
        principals_for("handler", u) for u, _ in UNITS[:6]]
    for q, kw in QUERIES:
        tantivy_search(index, q, kw, users[0])
    times, cpu = [], []
    for r in range(rounds):
        for i, (q, kw) in enumerate(QUERIES):
            who = users[(r + i) % len(users)]
            t, c = time.perf_counter(), time.process_time()
            tantivy_search(index, q, kw, who)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return times, cpu


def tantivy_after_change(app, index, times: int = 20) -> list[float]:
    """Edit = delete + add one document, commit, reload; then the first query."""
    import tantivy

    out = []
    users = principals_for("supervisor")
    writer = index.writer(heap_size=50_000_000, num_threads=1)
    for k in range(times):
        doc = tantivy.Document()
        doc.add_text("id", f"bench-change-{k}")
        doc.add_text("title", _seg(f"补充事项第{k}次"))
        for p in users:
            doc.add_text("allowed", p)
        writer.delete_documents("id", f"bench-change-{k - 1}")
        writer.add_document(doc)
        writer.commit()
        index.reload()
        t = time.perf_counter()
        q, kw = QUERIES[k % len(QUERIES)]
        tantivy_search(index, q, kw, users)
        out.append((time.perf_counter() - t) * 1000)
    return out


def stats(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return statistics.median(values), values[max(0, int(len(values) * 0.95) - 1)]


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the rebuild's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def reference(app, data: Path, times, cpu, after, size, n, rss_before, rounds) -> None:
    """The tantivy column and our ratio to it (median, p95, first query after a change, size, RSS)."""
    try:
        import tantivy  # noqa: F401
    except ImportError:
        print("tantivy reference: skipped — tantivy-py is not installed "
              "(pip install 'duban_archive[bench]' or pip install tantivy)")
        return
    import shutil

    from duban_archive.content_types.site_access import open_site

    with open_site(app.registry) as site:
        BOARDS_SEEN[:] = sorted(site.boards.keys())
    STATES_SEEN[:] = ["registered", "approved", "assigned", "accepted", "closed", "archived"]
    path = data / "tantivy"
    shutil.rmtree(path, ignore_errors=True)
    index, built = tantivy_build(app, path)
    tsize = dir_size(path)
    ttimes, tcpu = bench_tantivy(index, rounds)
    tafter = tantivy_after_change(app, index)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    om, op = stats(times)
    tm, tp = stats(ttimes)
    am, amax = statistics.median(after), max(after)
    tam, tamax = statistics.median(tafter), max(tafter)
    print(f"tantivy {tantivy.__version__ if hasattr(tantivy, '__version__') else ''} reference "
          f"(our segmentation, same items and queries; built in {built:.1f} s from ZODB, one process "
          f"analysing, 2 indexing threads):")
    print("                       ours        tantivy     ratio")
    print(f"  median (ms)          {om:8.1f}    {tm:8.1f}    {om / tm:5.2f}")
    print(f"  p95 (ms)             {op:8.1f}    {tp:8.1f}    {op / tp:5.2f}")
    ocm, ocp = stats(cpu)
    tcm, tcp = stats(tcpu)
    print(f"  CPU median (ms)      {ocm:8.1f}    {tcm:8.1f}    {ocm / tcm:5.2f}")
    print(f"  CPU p95 (ms)         {ocp:8.1f}    {tcp:8.1f}    {ocp / tcp:5.2f}")
    print(f"  first after change   {am:8.1f}    {tam:8.1f}    {am / tam:5.2f}   (median of 20; max ours "
          f"{amax:.1f}, tantivy {tamax:.1f})")
    print(f"  index KiB per item   {size / n / 1024:8.2f}    {tsize / n / 1024:8.2f}    "
          f"{size / tsize:5.2f}")
    print(f"  peak RSS (MB)        {rss_before:8.0f}    {rss:8.0f}    (process peak before / after "
          f"tantivy: ours includes the ZODB cache)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--keep", metavar="DIR", help="keep the generated items in DIR and reuse them next time")
    ap.add_argument("--no-tantivy", action="store_true", help="skip the tantivy reference")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="duban-bench-search-") as tmp:
        data = Path(args.keep or tmp)
        data.mkdir(parents=True, exist_ok=True)
        os.environ["DUBAN_VAR_DIR"] = str(data)
        marker = data / f"generated-{args.n}"
        if marker.exists():
            print("reusing the items generated before", file=sys.stderr)
            app, catalog = open_app()
        else:
            app, catalog = build(args.n, args.batch)
            marker.touch()
        t = time.perf_counter()
        cpu0 = cpu_seconds()
        n = catalog.indexer.rebuild(procs=args.procs)
        elapsed = time.perf_counter() - t
        cpu = cpu_seconds() - cpu0
        size = dir_size(data / "index")
        print(f"reindex: {n} items in {elapsed:.1f} s wall = {n / elapsed:.0f} items/s ({args.procs} processes); "
              f"CPU {cpu:.1f} s = {cpu / n * 1000:.1f} ms per item, i.e. ≈{n / (cpu / args.procs):.0f} items/s "
              f"if the {args.procs} cores were idle (load average now {os.getloadavg()[0]:.1f})")
        print(f"index size: {size / 1e6:.1f} MB = {size / max(n, 1) / 1024:.2f} KiB per item")
        t = time.perf_counter()
        catalog.search(principals_for("supervisor"), "督办")
        cold = (time.perf_counter() - t) * 1000
        print(f"first query after the rebuild (a new generation, every segment cold): {cold:.1f} ms")
        times, cpu = bench_queries(catalog, args.rounds)
        for label, values in (("wall", sorted(times)), ("CPU", sorted(cpu))):
            p95 = values[int(len(values) * 0.95) - 1]
            print(f"query {label} ({len(values)} queries, facets + snippets + permission filter): "
                  f"median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms")
        slow = {}
        for q, kw in QUERIES:
            t = time.perf_counter()
            res = catalog.search(principals_for("supervisor"), q, **kw)
            slow[q] = ((time.perf_counter() - t) * 1000, res.total)
        for q, (ms, total) in sorted(slow.items(), key=lambda kv: -kv[1][0])[:5]:
            print(f"  slowest as supervisor: {q!r}: {ms:.1f} ms, {total} hits")
        after = first_query_after_change(app, catalog)
        print(f"first query after an item was re-indexed (new searcher, {len(after)} times): "
              f"median {statistics.median(after):.1f} ms, max {max(after):.1f} ms")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS: {rss:.0f} MB (this process: ZODB cache, searcher), largest rebuild worker {kids:.0f} MB")
        if args.no_tantivy:
            print("tantivy reference: skipped (--no-tantivy)")
        else:
            reference(app, data, times, cpu, after, size, n, rss, args.rounds)
        for db in app.registry._zodb_databases.values():
            db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
