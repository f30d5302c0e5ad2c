"""Records officers transferring overlapping sets of records at once, against a real server process (ZEO).

Each record is claimed in one BTree key; two transfers claiming the same record conflict,
one is retried and then refused (409 ``already_transferred``).  Whatever the interleaving, no
record is transferred twice and nobody gets a 5xx.
"""

from __future__ import annotations

import itertools
import threading

from duban_archive.testing import Clients, run_threads

NEW_ITEM = {"source": "区政府常务会议", "content": "完成老旧小区改造", "requirement": "按月报送进展",
            "lead_unit": "zjj", "assist_units": ["jtj"], "registered_on": "2026-11-20", "deadline": "2026-12-31"}
TO_CLOSED = [("approve", "leader", {}), ("assign", "supervisor", {}), ("accept", "unit_head", {}),
             ("request_closure", "handler", {}), ("review", "supervisor", {}), ("close", "leader", {"grade": "A"})]
FORM = {"title": "并发移交", "description": "并发移交测试", "transferor_unit": "县委督查室",
        "receiver_unit": "县档案馆", "carrier": "online", "transferor": "王档案", "receiver": "李馆员",
        "reviewer": "赵主任", "transfer_date": "2026-12-04"}
ITEMS = 6
#: overlapping selections (indexes into the filed items), sent all at once, twice over
WINDOWS = [(0, 1, 2), (2, 3), (3, 4, 5), (5, 0), (1, 4), (0, 1, 2, 3, 4, 5)]


def test_overlapping_transfers_never_transfer_a_record_twice(live_server):
    server = live_server(storage="zeo")
    clients = Clients(server, ("supervisor", "leader", "unit_head", "handler", "records_officer"))
    filed: list[str] = []
    for n in range(ITEMS):
        status, item = clients.send("supervisor", "POST", "/api/v1/boards/zdgz/items",
                                    dict(NEW_ITEM, title=f"并发移交测试事项{n}"))
        assert status == 201, item
        for name, user, body in TO_CLOSED:
            status, res = clients.send(user, "POST", f"/api/v1/items/{item['id']}/transitions/{name}", body)
            assert status == 200, (name, status, res)
        status, res = clients.send("records_officer", "POST", f"/api/v1/items/{item['id']}/file",
                                   {"retention": "Y" if n % 2 else "D30"})
        assert status == 200, res
        filed.append(item["id"])

    jobs = list(itertools.chain(WINDOWS, reversed(WINDOWS)))
    lock = threading.Lock()
    answers: list[tuple[tuple[int, ...], int, dict]] = []
    before = len(clients.statuses)

    def send(k: int) -> None:
        window = jobs[k]
        status, res = clients.send("records_officer", "POST", "/api/v1/transfers",
                                   {**FORM, "items": [filed[i] for i in window]})
        with lock:
            answers.append((window, status, res))

    assert run_threads(len(jobs), send) == []
    statuses = clients.statuses[before:]
    print(f"\n{len(jobs)} overlapping transfers at once: answers {sorted(statuses)}")
    assert all(s < 500 for s in clients.statuses), statuses
    made = [res for _w, status, res in answers if status == 201]
    refused = [res for _w, status, res in answers if status != 201]
    assert made, answers
    assert all(r.get("error") in ("already_transferred", "conflict") for r in refused), refused
    claimed = [i["item_id"] for res in made for i in res["items"]]
    assert len(claimed) == len(set(claimed))  # no record in two transfers
    # what the server holds agrees with what it answered
    status, listed = clients.send("records_officer", "GET", "/api/v1/transfers")
    assert status == 200 and sorted(t["id"] for t in listed) == sorted(r["id"] for r in made)
    for res in made:
        for entry in res["items"]:
            status, item = clients.send("records_officer", "GET", f"/api/v1/items/{entry['item_id']}")
            assert status == 200 and item["transfer"]["id"] == res["id"], item
    status, left = clients.send("records_officer", "GET", "/api/v1/transfers/candidates")
    assert status == 200 and sorted(c["id"] for c in left) == sorted(set(filed) - set(claimed))
