"""Transactional indexing: queue in the transaction, apply after commit, survive kill -9."""

import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
import transaction

from duban_archive.catalog import indexer, parallel
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import get_state
from duban_archive.content_types.actions import add_feedback, create_item, edit_item
from duban_archive.content_types.site_access import open_site

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
ITEM = {"title": "推进老旧小区改造", "source": "区政府常务会议", "content": "完成 3 个老旧小区改造",
        "requirement": "按月报送进展", "lead_unit": "zjj", "assist_units": {"jtj"},
        "deadline": date(2026, 12, 31)}


def ids(app, q, principals=SUPERVISOR):
    return {h.id for h in get_catalog(app.registry).search(principals, q, per_page=100).hits}


def index_snapshot(app) -> dict:
    """Everything the index holds per item id: stored fields and indexed terms."""
    searcher = get_catalog(app.registry).engine.searcher()
    reader = searcher.reader()
    docs = {}
    for docnum, stored in reader.iter_docs():
        docs[stored["id"]] = {"stored": {k: v for k, v in stored.items()}, "terms": set()}
        by_num = docs[stored["id"]]
        by_num["docnum"] = docnum
    byid = {v["docnum"]: k for k, v in docs.items()}
    for fieldname, text in reader.all_terms():
        if fieldname in ("units_col",):
            continue
        for docnum in reader.postings(fieldname, text).all_ids():
            if docnum in byid:
                docs[byid[docnum]]["terms"].add((fieldname, text))
    for v in docs.values():
        del v["docnum"]
    return docs


def test_feedback_and_instruction_text_become_searchable(app, make_item):
    item_id = make_item(title="城区供暖管网改造")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        add_feedback(site, item, {"done": "更换供热管道 12 公里", "progress": "已完成换热站改造",
                                  "next_steps": "开展试运行"}, "handler", app.registry)
        transaction.commit()
    assert ids(app, "换热站") == {item_id}
    assert ids(app, "供热管道") == {item_id}


def test_edit_reindexes_and_aborted_transaction_queues_nothing(app, make_item):
    item_id = make_item(title="原来的标题：垃圾分类")
    with open_site(app.registry) as site:
        edit_item(site, site.get_item(item_id), {"title": "新的标题：餐厨垃圾处理"}, "supervisor", app.registry)
        transaction.commit()
        transaction.begin()  # see the indexer's cleanup commit
        assert get_state(site).pending() == 0
    assert ids(app, "餐厨") == {item_id} and ids(app, "垃圾分类") == set()
    # an aborted attempt (as a conflict retry would do) leaves neither queue entry nor index change
    with open_site(app.registry) as site:
        edit_item(site, site.get_item(item_id), {"title": "不会保存的标题：扬尘治理"}, "supervisor",
                  app.registry)
        transaction.abort()
        site._p_jar.sync()
        assert get_state(site).pending() == 0
    assert ids(app, "扬尘") == set() and ids(app, "餐厨") == {item_id}


def test_crash_between_commit_and_indexing_is_repaired_by_the_queue(app, make_item):
    catalog = get_catalog(app.registry)
    catalog.inline = False  # the process "dies" before its after-commit hook runs
    a = make_item(title="防汛物资储备")
    b = make_item(title="防汛应急演练")
    assert ids(app, "防汛") == set()
    with open_site(app.registry) as site:
        assert get_state(site).pending() == 2
    catalog.indexer.apply_pending()  # the next writer (restart, worker, indexer process)
    assert ids(app, "防汛") == {a, b}
    catalog.indexer.apply_pending()  # idempotent: nothing left, nothing doubled
    assert get_catalog(app.registry).search(SUPERVISOR, "防汛").total == 2


@pytest.mark.parametrize(("procs", "max_postings"), [(1, None), (2, None), (2, 50)])
def test_reindex_equals_incremental_index(app, make_item, monkeypatch, procs, max_postings):
    monkeypatch.setattr(indexer, "PARALLEL_MIN_ITEMS", 0)  # two forked workers even for six items,
    monkeypatch.setattr(parallel, "BATCH", 2)  # and both get some
    if max_postings:  # workers close a segment at this size (bounded memory on a large archive)
        monkeypatch.setattr(parallel, "MAX_POSTINGS", max_postings)
    for i in range(6):
        item_id = make_item("zdgz" if i % 2 else "rcgl", title=f"第{i}项：推进13710工作机制",
                            content=f"依据晋市政办〔2020〕{i}号文件办理。", registered_on=date(2025 + i % 2, 3, 1))
    with open_site(app.registry) as site:
        add_feedback(site, site.get_item(item_id), {"done": "已召开专题会", "progress": "进展顺利"},
                     "handler", app.registry)
        transaction.commit()
    incremental = index_snapshot(app)
    assert len(incremental) == 6
    assert get_catalog(app.registry).indexer.rebuild(procs=procs) == 6
    rebuilt = index_snapshot(app)
    assert rebuilt == incremental
    # the workers' segments, one each (several when capped), make one index
    segments = len(get_catalog(app.registry).engine.open()._segments())
    assert segments == procs if not max_postings else segments > procs
    third = ids(app, '"晋市政办〔2020〕3号"')
    assert len(third) == 1 and third == ids(app, "第3项")


def _write_items(app, n: int, title: str) -> list[str]:
    out = []
    with open_site(app.registry) as site:
        for i in range(n):
            values = dict(ITEM, title=f"{title}{i}", content=f"第{i}号事项：加强安全生产监管，排查隐患。" * 2)
            out.append(create_item(site, site.boards["zdgz"], values, "supervisor", app.registry).item_id)
        transaction.commit()
    return out


def test_indexer_process_killed_mid_indexing_recovers(ini_path, var_dir, capsys):
    """A real ``duban-archive indexer`` process, SIGKILLed mid-way, then restarted."""
    from pyramid.paster import get_app

    from duban_archive.content_types.bootstrap import add_demo_content

    app = get_app(ini_path)
    get_catalog(app.registry).inline = False
    get_catalog(app.registry).engine.open()  # an index exists: the indexer applies the queue
    with open_site(app.registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
    expected = _write_items(app, 120, "安全生产检查")
    for db in app.registry._zodb_databases.values():
        db.close()  # FileStorage: one process at a time

    cli = [sys.executable, "-m", "duban_archive.scripts.cli", "indexer", ini_path, "--once", "--batch", "20"]
    env = dict(os.environ, DUBAN_VAR_DIR=str(var_dir))
    proc = subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    try:
        line = proc.stdout.readline()  # the first batch is in the index: kill while it goes on
        assert line.startswith("已索引"), line
        time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    done = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    # and a full rebuild from the command line says what it did
    from duban_archive.scripts.cli import main

    assert main(["reindex", ini_path]) == 0
    out = capsys.readouterr()
    assert "已重建全文索引：120 件" in out.out and "重建全文索引" in out.err  # tqdm's bar

    app = get_app(ini_path)
    try:
        with open_site(app.registry) as site:
            assert get_state(site).pending() == 0
        res = get_catalog(app.registry).search(SUPERVISOR, "安全生产检查", per_page=100)
        assert res.total == 120  # every item once: nothing lost, nothing doubled
        reader = get_catalog(app.registry).engine.searcher().reader()
        indexed = sorted(stored["id"] for _, stored in reader.iter_docs())
        assert indexed == sorted(expected)
    finally:
        for db in app.registry._zodb_databases.values():
            db.close()


def test_background_worker_indexes_right_after_commit(app, make_item):
    """``duban.run_workers = true`` (make run): commits wake the in-process worker thread."""
    catalog = get_catalog(app.registry)
    catalog.start_worker(interval=30)  # long poll: only the after-commit wake-up can be this quick
    try:
        time.sleep(0.2)
        item_id = make_item(title="后台索引线程测试：桥梁安全巡检")
        deadline = time.monotonic() + 10
        while ids(app, "桥梁安全巡检") != {item_id} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ids(app, "桥梁安全巡检") == {item_id}
    finally:
        catalog.worker.stop()
        catalog.worker.join(timeout=10)
