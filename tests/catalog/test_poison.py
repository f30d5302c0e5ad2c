"""A poison-proof indexer: one item that cannot be indexed is logged, flagged, reported and skipped."""

from __future__ import annotations

import logging

import pytest
import transaction

from duban_archive.catalog import documents, indexer, parallel
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import get_state, queue_item
from duban_archive.content_types.actions import edit_item
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
BROKEN = "坏掉的正文\ud83d截断的表情"  # a lone surrogate, as a half-copied emoji stored before the text policy


def ids(app, q):
    return {h.id for h in get_catalog(app.registry).search(SUPERVISOR, q, per_page=100).hits}


def _poison(app, item_id, value=BROKEN, attr="content") -> None:
    """Store a value the document builder cannot take, bypassing validation (as old data would be)."""
    with open_site(app.registry) as site:
        setattr(site.get_item(item_id), attr, value)
        queue_item(site, item_id)
        transaction.commit()


def _flag(app, item_id):
    with open_site(app.registry) as site:
        return site.get_item(item_id).index_problem


def test_one_broken_item_does_not_block_the_queue(app, make_item, testapp, caplog):
    catalog = get_catalog(app.registry)
    catalog.inline = False  # queue several items, apply them in one cycle
    good_a = make_item(title="农村饮水安全巩固")
    bad = make_item(title="农村道路硬化工程")
    good_b = make_item(title="农村电网改造升级")
    _poison(app, bad)
    with open_site(app.registry) as site:
        assert get_state(site).pending() >= 3

    with caplog.at_level(logging.ERROR, logger="duban_archive.catalog.indexer"):
        catalog.indexer.apply_pending()
    assert bad in caplog.text and "U+D83D" in caplog.text
    # the others are searchable, the queue is empty, the broken one is left out (no stale version)
    assert ids(app, "农村") == {good_a, good_b}
    assert ids(app, "饮水安全") == {good_a} and ids(app, "电网") == {good_b}
    with open_site(app.registry) as site:
        assert get_state(site).pending() == 0
    problem = _flag(app, bad)
    assert "无法建立全文索引" in problem["message"] and "U+D83D" in problem["message"]
    assert problem["at"] is not None
    assert _flag(app, good_a) is None

    # users see it: item JSON and the item page
    client = api(testapp, "supervisor")
    data = client.get(f"/api/v1/items/{bad}").json
    assert "U+D83D" in data["index_problem"]["message"] and data["index_problem"]["at"]
    assert client.get(f"/api/v1/items/{good_a}").json["index_problem"] is None

    # a later cycle goes on; fixing the field through the normal edit reindexes it and clears the flag
    catalog.inline = True
    other = make_item(title="农村污水治理")
    assert other in ids(app, "污水")
    with open_site(app.registry) as site:
        edit_item(site, site.get_item(bad), {"content": "修复后的正文：硬化道路 30 公里"}, "supervisor",
                  app.registry)
        transaction.commit()
    assert ids(app, "硬化道路") == {bad}
    assert _flag(app, bad) is None
    assert client.get(f"/api/v1/items/{bad}").json["index_problem"] is None


def _poison_history(app, item_id) -> None:
    """A history comment that is not a string (as a careless migration might store)."""
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        item.history.append({"action": "comment", "actor": "supervisor", "comment": 12345})
        queue_item(site, item_id)
        transaction.commit()


def test_flag_shown_on_the_item_page_and_cleared(app, make_item, testapp):
    catalog = get_catalog(app.registry)
    good = make_item(title="老旧管网改造")
    bad = make_item(title="老旧电梯更新")
    catalog.inline = False
    _poison_history(app, bad)
    catalog.indexer.apply_pending()
    assert ids(app, "老旧") == {good}
    assert "TypeError" in _flag(app, bad)["message"]
    login(testapp, "supervisor")
    note = testapp.get(f"/boards/zdgz/{bad}").html.find(id="index-problem")
    assert note is not None and "无法建立全文索引" in note.text and "TypeError" in note.text
    assert testapp.get(f"/boards/zdgz/{good}").html.find(id="index-problem") is None
    with open_site(app.registry) as site:  # repaired: the next cycle takes it and clears the flag
        site.get_item(bad).history[-1]["comment"] = "12345"
        site.get_item(bad).history._p_changed = True
        queue_item(site, bad)
        transaction.commit()
    catalog.indexer.apply_pending()
    assert ids(app, "老旧") == {good, bad} and _flag(app, bad) is None
    assert testapp.get(f"/boards/zdgz/{bad}").html.find(id="index-problem") is None


def test_flag_escaped_on_the_item_page(app, make_item, testapp):
    item_id = make_item(title="转义检查")
    with open_site(app.registry) as site:
        site.get_item(item_id).index_problem = {"message": "<script>alert(1)</script>", "at": None}
        transaction.commit()
    login(testapp, "supervisor")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_writer_failure_on_one_document_is_skipped_too(app, make_item, monkeypatch):
    """A document that passes the check but fails inside the index writer (half-added): the batch is
    written again without it."""
    monkeypatch.setattr(documents, "check_document", lambda doc: None)  # the analyser meets the surrogate
    catalog = get_catalog(app.registry)
    catalog.inline = False
    good = make_item(title="河道清淤整治")
    bad = make_item(title="河道护岸加固")
    _poison(app, bad)
    catalog.indexer.apply_pending()
    assert ids(app, "河道") == {good}
    assert "UnicodeEncodeError" in _flag(app, bad)["message"]
    with open_site(app.registry) as site:
        assert get_state(site).pending() == 0


def test_non_string_value_is_skipped(app, make_item):
    """A stored value of the wrong type (assisting units holding a number, not unit ids)."""
    catalog = get_catalog(app.registry)
    catalog.inline = False
    good = make_item(title="背街小巷整治")
    bad = make_item(title="背街小巷亮化")
    _poison(app, bad, value={42}, attr="assist_units")
    catalog.indexer.apply_pending()
    assert ids(app, "背街小巷") == {good}
    assert "TypeError" in _flag(app, bad)["message"]


@pytest.mark.parametrize(("procs", "check"), [(1, True), (2, True), (1, False), (2, False)])
def test_rebuild_skips_flags_and_reports(app, make_item, monkeypatch, procs, check):
    """``rebuild`` (serial and on two forked workers), whether the document check or the writer finds it."""
    monkeypatch.setattr(indexer, "PARALLEL_MIN_ITEMS", 0)
    monkeypatch.setattr(parallel, "BATCH", 2)
    if not check:
        monkeypatch.setattr(documents, "check_document", lambda doc: None)
    made = [make_item(title=f"第{i}项：城市绿道建设") for i in range(6)]
    bad = made[3]
    _poison(app, bad)
    skipped: dict[str, str] = {}
    n = get_catalog(app.registry).indexer.rebuild(procs=procs, skipped=skipped)
    assert n == 5
    assert list(skipped) == [bad] and "无法建立全文索引" in skipped[bad]
    assert ids(app, "绿道") == set(made) - {bad}
    assert _flag(app, bad)["message"] == skipped[bad]
    # fixed: the next rebuild takes it and clears the flag
    with open_site(app.registry) as site:
        site.get_item(bad).content = "修复后的绿道正文"
        transaction.commit()
    skipped.clear()
    assert get_catalog(app.registry).indexer.rebuild(procs=procs, skipped=skipped) == 6
    assert skipped == {} and _flag(app, bad) is None


def test_reindex_command_prints_skipped_items_and_exits_1(app, make_item, ini_path, capsys):
    from duban_archive.scripts.cli import main

    good = make_item(title="智慧停车场建设")
    bad = make_item(title="智慧灯杆建设")
    _poison(app, bad)
    with open_site(app.registry) as site:
        number = site.get_item(bad).number
    for db in app.registry._zodb_databases.values():
        db.close()
    capsys.readouterr()
    assert main(["reindex", ini_path, "--quiet"]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out  # (testing.ini logs at DEBUG, where the log line's details go)
    assert "cannot index" in out.err  # the one log line
    assert "以下 1 件事项无法建立索引" in out.out
    line = next(line for line in out.out.splitlines() if bad in line)
    assert number in line and "U+D83D" in line
    assert good not in out.out


def test_reindex_command_exits_0_when_all_indexed(app, make_item, ini_path, capsys):
    from duban_archive.scripts.cli import main

    make_item(title="全部正常")
    for db in app.registry._zodb_databases.values():
        db.close()
    assert main(["reindex", ini_path, "--quiet"]) == 0
    assert "无法建立索引" not in capsys.readouterr().out
