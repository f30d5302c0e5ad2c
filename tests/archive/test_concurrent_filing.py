"""立卷归档 by several records officers' clients at once, against a real server process (ZEO).

The 件号 is drawn in a short transaction of its own and reserved for the item, so
concurrent filings neither hold a counter across the dossier render nor get
renumbered by a retry: N closed items filed at once get exactly 件号 1..N.
"""

from __future__ import annotations

import queue
import time

from duban_archive.testing import Clients, run_threads

NEW_ITEM = {"source": "区政府常务会议", "content": "完成老旧小区改造", "requirement": "按月报送进展",
            "lead_unit": "zjj", "assist_units": ["jtj"], "registered_on": "2026-11-20", "deadline": "2026-12-31"}
#: from 已登记 to 已办结, each transition as the demo user who may fire it
TO_CLOSED = [("approve", "leader", {}), ("assign", "supervisor", {}), ("accept", "unit_head", {}),
             ("request_closure", "handler", {}), ("review", "supervisor", {}), ("close", "leader", {"grade": "A"})]
ITEMS = 8
CLIENTS = 4



def test_concurrent_filing_numbers_items_1_to_n(live_server):
    server = live_server(storage="zeo")
    clients = Clients(server, ("supervisor", "leader", "unit_head", "handler", "records_officer"))
    todo: queue.Queue[int] = queue.Queue()
    for n in range(ITEMS):
        todo.put(n)
    closed: list[str] = []

    def bring_to_closed(_k: int) -> None:  # the mixed burst: create, approve, assign, accept, ... close
        while True:
            try:
                n = todo.get_nowait()
            except queue.Empty:
                return
            status, item = clients.send("supervisor", "POST", "/api/v1/boards/zdgz/items",
                                        dict(NEW_ITEM, title=f"并发归档测试事项{n}"))
            assert status == 201, item
            for name, user, body in TO_CLOSED:
                status, res = clients.send(user, "POST", f"/api/v1/items/{item['id']}/transitions/{name}", body)
                assert status == 200, (name, status, res)
            closed.append(item["id"])

    t0 = time.monotonic()
    assert run_threads(CLIENTS, bring_to_closed) == []
    setup = time.monotonic() - t0
    assert len(closed) == ITEMS
    status, waiting = clients.send("records_officer", "GET", "/api/v1/archive/queue")
    assert status == 200 and sorted(q["id"] for q in waiting) == sorted(closed)

    to_file: queue.Queue[str] = queue.Queue()
    for item_id in closed:
        to_file.put(item_id)
    filed: dict[str, dict] = {}
    answers: list[int] = []
    before = len(clients.statuses)

    def file_items(_k: int) -> None:
        while True:
            try:
                item_id = to_file.get_nowait()
            except queue.Empty:
                return
            status, res = clients.send("records_officer", "POST", f"/api/v1/items/{item_id}/file", {"retention": "Y"})
            answers.append(status)
            assert 200 <= status < 300, (item_id, status, res)
            filed[item_id] = res

    t0 = time.monotonic()
    assert run_threads(CLIENTS, file_items) == []
    filing = time.monotonic() - t0
    statuses = clients.statuses[before:]
    print(f"\n{ITEMS} items closed by {CLIENTS} clients in {setup:.1f} s, filed in {filing:.1f} s; "
          f"filing answers {sorted(statuses)}; 409s while closing: "
          f"{sum(1 for s in clients.statuses[:before] if s == 409)}")
    assert all(s < 500 for s in clients.statuses)
    assert all(s == 200 or s == 409 for s in statuses)
    pieces = sorted(res["piece"] for res in filed.values())
    assert pieces == list(range(1, ITEMS + 1))  # no gap, no duplicate
    codes = [res["archival_code"] for res in filed.values()]
    assert len(set(codes)) == ITEMS and all(c.endswith(f"-{res['piece']:04d}") for c, res in
                                            zip(codes, filed.values(), strict=True))
    # what the server holds agrees with what it answered
    for item_id in filed:
        status, item = clients.send("records_officer", "GET", f"/api/v1/items/{item_id}")
        assert status == 200 and item["state"] == "archived", item
    status, waiting = clients.send("records_officer", "GET", "/api/v1/archive/queue")
    assert status == 200 and waiting == []
    year = codes[0].split("·")[1][:4]
    status, table = clients.send("records_officer", "GET", f"/api/v1/filing-list?year={year}&format=json")
    assert status == 200 and sorted(r["档号"] for r in table) == sorted(codes)
    by_number = {r["文号"]: r["档号"] for r in table}
    assert len(by_number) == ITEMS
