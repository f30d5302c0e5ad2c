"""Per-item report jobs (ledger export, statistics, bulletin): one item with a bad stored value is
left out, logged and named; the rest is produced."""

from __future__ import annotations

import io
import logging
from datetime import date, datetime

import transaction
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.reports.bulletin import bulletin_data, bulletin_xlsx
from duban_archive.reports.ledger import export_ledger
from duban_archive.reports.stats import statistics
from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now


def _break_close_time(app, item_id) -> None:
    """A 办结 history entry whose time is text, not a datetime (as a hand-repaired record might hold)."""
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        item.history.append({"transition": "close", "actor": "leader", "time": "2026-05-15 10:00"})
        transaction.commit()


def _three(app, make_item):
    good = [make_item(title="城区排水防涝"), make_item(title="城区路灯维修")]
    bad = make_item(title="城区公厕改造")
    _break_close_time(app, bad)
    with open_site(app.registry) as site:
        number = site.get_item(bad).number
    return good, bad, number


def test_ledger_export_leaves_out_and_names_a_broken_item(app, make_item, testapp, caplog):
    good, bad, number = _three(app, make_item)
    with caplog.at_level(logging.ERROR, logger="duban_archive.reports"), open_site(app.registry) as site:
        blob = export_ledger(site, app.registry, list(site.item_index.values()))
        numbers = {site.get_item(i).number for i in good}
    assert bad in caplog.text
    wb = load_workbook(io.BytesIO(blob))
    rows = list(wb["电子台账"].iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} >= numbers and number not in {r[0] for r in rows[1:]}
    skipped = list(wb["未导出事项"].iter_rows(values_only=True))
    assert skipped[0] == ("事项编号", "原因")
    assert skipped[1][0] == number and "未能纳入台账" in skipped[1][1]
    # through the API too
    body = api(testapp, "supervisor").get("/api/v1/ledger.xlsx").body
    wb = load_workbook(io.BytesIO(body))
    assert [r[0] for r in wb["未导出事项"].iter_rows(values_only=True)][1:] == [number]
    assert len(list(wb["电子台账"].iter_rows(values_only=True))) == len(rows)


def test_ledger_cell_openpyxl_refuses(app, make_item):
    """A field holding an object openpyxl cannot store: the row is left out, not the workbook."""
    good = make_item(title="绿化补植")
    bad = make_item(title="绿化养护")
    with open_site(app.registry) as site:
        site.get_item(bad).source = {"来源": "会议"}
        transaction.commit()
    with open_site(app.registry) as site:
        blob = export_ledger(site, app.registry, [site.get_item(good), site.get_item(bad)])
        bad_number = site.get_item(bad).number
    wb = load_workbook(io.BytesIO(blob))
    assert len(list(wb["电子台账"].iter_rows(values_only=True))) == 2
    assert [r[0] for r in wb["未导出事项"].iter_rows(values_only=True)][1:] == [bad_number]


def test_statistics_count_the_rest(app, make_item, testapp):
    good, bad, number = _three(app, make_item)
    with open_site(app.registry) as site:
        items = list(site.item_index.values())
        stats = statistics(site, app.registry, items)
    assert stats["total"] == len(items) - 1
    assert [(s["id"], s["number"]) for s in stats["skipped"]] == [(bad, number)]
    assert "未能纳入统计" in stats["skipped"][0]["reason"]
    data = api(testapp, "supervisor").get("/api/v1/stats").json
    assert data["total"] == len(items) - 1 and [s["id"] for s in data["skipped"]] == [bad]
    # nothing of the broken item was half-counted
    with open_site(app.registry) as site:
        clean = statistics(site, app.registry, [i for i in site.item_index.values() if i.item_id != bad])
    assert {k: v for k, v in clean.items() if k != "skipped"} == {k: v for k, v in stats.items() if k != "skipped"}


def test_bulletin_names_left_out_items(app, make_item, testapp):
    good, bad, number = _three(app, make_item)
    overdue = make_item(title="城区停车泊位施划", deadline=date(2026, 1, 31))
    with open_site(app.registry) as site:  # overdue, with a 督办级别 that is not a number
        item = site.get_item(overdue)
        item.state = "in_progress"
        item.escalation_level = "高"
        overdue_number = item.number
        transaction.commit()
    with open_site(app.registry) as site:
        data = bulletin_data(site, app.registry, "2026-05", as_of=date(2026, 5, 31))
    assert {s["id"] for s in data["skipped"]} == {bad, overdue}
    assert overdue not in {o["id"] for o in data["overdue"]}
    wb = load_workbook(io.BytesIO(bulletin_xlsx(data)))
    assert {r[0] for r in wb["未纳入事项"].iter_rows(values_only=True)} == {"事项编号", number, overdue_number}
    with frozen_now(datetime(2026, 5, 31, 20, tzinfo=CST)):
        got = api(testapp, "supervisor").get("/api/v1/reports/bulletin?month=2026-05").json
    assert {s["id"] for s in got["skipped"]} == {bad, overdue}
