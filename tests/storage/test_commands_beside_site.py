"""Admin commands run while the site serves (``make run``'s ZEO layout), or say in one line why not."""

from __future__ import annotations

import json

from openpyxl import Workbook

from duban_archive.testing import http_call

from .test_concurrent_uploads import NEW_ITEM


def ledger(path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["事项名称", "任务来源", "督办内容", "办理要求", "承办单位", "完成时限"])
    ws.append(["背街小巷整治", "常务会议", "整治 5 条背街小巷", "按月报送", "市住建局", "2026-11-30"])
    wb.save(path)


def test_tick_fixity_reindex_and_import_ledger_beside_the_running_site(live_server, tmp_path):
    server = live_server(storage="zeo", workers=True)
    sup = server.token("supervisor")
    status, item = http_call(server.base, sup, "POST", "/api/v1/boards/zdgz/items", json.dumps(NEW_ITEM).encode())
    assert status == 201
    ini = str(server.ini)
    for args in (("tick", ini), ("fixity", ini), ("reindex", ini, "--quiet", "--procs", "1")):
        done = server.cli(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stdout, done.stderr)
    xlsx = tmp_path / "台账.xlsx"
    ledger(xlsx)
    done = server.cli("import-ledger", ini, str(xlsx))
    assert done.returncode == 0, done.stderr
    # the site sees what the command wrote, and keeps answering
    status, listing = http_call(server.base, sup, "GET", "/api/v1/boards/rcgl/items")
    assert status == 200 and "背街小巷整治" in json.dumps(listing, ensure_ascii=False)
    status, again = http_call(server.base, sup, "GET", f"/api/v1/items/{item['id']}")
    assert status == 200 and again["title"] == NEW_ITEM["title"]


def test_a_command_against_an_exclusively_held_database_says_why_in_one_line(live_server):
    server = live_server(storage="embedded", workers=False)
    done = server.cli("tick", str(server.ini))
    assert done.returncode == 3
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "duban.storage = zeo" in done.stderr and "数据库正被另一个进程独占使用" in done.stderr
