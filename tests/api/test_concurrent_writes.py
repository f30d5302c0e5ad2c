"""Concurrent writes to one item, and writers the audit log serves at the same time, on a real server (ZEO).

Every request here appends to the audit log and most queue full-text work: both are
sharded, so concurrent requests no longer collide on their right-most buckets.
"""

from __future__ import annotations

import time

import transaction

from duban_archive.testing import Clients, http_call, run_threads

NEW_ITEM = {"title": "并发反馈测试事项", "source": "区政府常务会议", "content": "完成老旧小区改造",
            "requirement": "按月报送进展", "lead_unit": "zjj", "assist_units": ["jtj"],
            "registered_on": "2026-11-20", "deadline": "2026-12-31"}



def item_in_progress(clients: Clients) -> str:
    status, item = clients.send("supervisor", "POST", "/api/v1/boards/zdgz/items", NEW_ITEM)
    assert status == 201, item
    for name, user in (("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")):
        status, res = clients.send(user, "POST", f"/api/v1/items/{item['id']}/transitions/{name}", {})
        assert status == 200, (name, res)
    return item["id"]


def stored_audit(var) -> list[dict]:
    """The audit log as the storage itself holds it (the server has stopped)."""
    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    from duban_archive.content_types.site_access import ROOT_KEY

    db = DB(FileStorage(str(var / "Data.fs"), blob_dir=str(var / "blobs"), read_only=True))
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        entries = list(conn.root()[ROOT_KEY]["audit"])
        conn.close()
        return entries
    finally:
        db.close()


def test_concurrent_feedback_on_one_item(live_server):
    server = live_server(storage="zeo")
    clients = Clients(server, ("supervisor", "leader", "unit_head", "handler", "auditor"))
    item_id = item_in_progress(clients)
    before = len(clients.statuses)
    per_client, threads = 10, 4

    def post_feedback(k: int) -> None:
        for n in range(per_client):
            status, res = clients.send("handler", "POST", f"/api/v1/items/{item_id}/feedback",
                                       {"done": f"第{k}组第{n}次反馈", "progress": "按计划推进", "next_steps": "继续"})
            assert status == 201, (status, res)

    t0 = time.monotonic()
    assert run_threads(threads, post_feedback) == []
    took = time.monotonic() - t0
    statuses = clients.statuses[before:]
    print(f"\n{per_client * threads} feedback posts from {threads} clients in {took:.1f} s; "
          f"answers: {statuses.count(201)} x 201, {statuses.count(409)} x 409 (sent again)")
    assert set(statuses) <= {201, 409}
    status, feedback = clients.send("handler", "GET", f"/api/v1/items/{item_id}/feedback")
    assert status == 200
    texts = sorted(f["done"] for f in feedback)
    assert texts == sorted(f"第{k}组第{n}次反馈" for k in range(threads) for n in range(per_client))
    status, audit = clients.send("auditor", "GET", f"/api/v1/items/{item_id}/audit")
    assert status == 200
    assert sum(1 for e in audit if e["action"] == "feedback") == per_client * threads
    times = [e["time"] for e in audit]
    assert times == sorted(times)  # one trail, in time order, across the shards


def test_logins_and_auditor_reads_while_others_write(live_server):
    """Logins, an auditor's every look, feedback and transitions: all audit-logged at once."""
    server = live_server(storage="zeo")
    clients = Clients(server, ("supervisor", "leader", "unit_head", "handler", "auditor"))
    items = [item_in_progress(clients) for _ in range(2)]
    before = len(clients.statuses)
    rounds = 12
    logins: list[str] = []

    def work(k: int) -> None:
        for n in range(rounds):
            if k == 0:  # logging in writes a "login" entry
                user = ("handler", "supervisor", "auditor")[n % 3]
                status, res = clients.send(None, "POST", "/api/v1/auth/token",
                                           {"username": user, "password": "duban-demo"})
                assert status == 200, res
                logins.append(user)
            elif k == 1:  # every look by an auditor is on the record
                status, res = clients.send("auditor", "GET", f"/api/v1/items/{items[n % 2]}")
                assert status == 200, res
            elif k == 2:
                status, res = clients.send("handler", "POST", f"/api/v1/items/{items[n % 2]}/feedback",
                                           {"done": f"反馈{n}", "progress": "推进中"})
                assert status == 201, res
            else:  # a new item, approved and assigned
                status, item = clients.send("supervisor", "POST", "/api/v1/boards/zdgz/items",
                                            dict(NEW_ITEM, title=f"新事项{n}"))
                assert status == 201, item
                for name, user in (("approve", "leader"), ("assign", "supervisor")):
                    status, res = clients.send(user, "POST", f"/api/v1/items/{item['id']}/transitions/{name}", {})
                    assert status == 200, res

    t0 = time.monotonic()
    assert run_threads(4, work) == []
    took = time.monotonic() - t0
    statuses = clients.statuses[before:]
    print(f"\nmixed burst of {len(statuses)} requests from 4 clients in {took:.1f} s; "
          f"{statuses.count(409)} x 409 (sent again)")
    assert all(s < 500 for s in statuses)
    server.stop()
    entries = stored_audit(server.var)
    login_entries = [e for e in entries if e["action"] == "login" and e.get("via") == "api"]
    assert len(login_entries) >= len(logins) == rounds  # plus the clients' own token requests
    views = [e for e in entries if e["action"] == "view" and e["actor"] == "auditor"]
    assert len(views) == rounds
    assert [e["time"] for e in entries] == sorted(e["time"] for e in entries)


def test_eight_clients_creating_at_once_get_consecutive_numbers_without_retrying(server_layout):
    """事项编号 are drawn in a short transaction of their own: creations no longer conflict on the counter."""
    server = server_layout(workers=True)
    clients = Clients(server, ["supervisor"])
    numbers: list[str] = []

    def work(k: int) -> None:
        for i in range(5):
            # one try only: a 409 here would mean the counter still makes creations collide
            status, item = http_call(server.base, clients.tokens["supervisor"], "POST", "/api/v1/boards/zdgz/items",
                                {**NEW_ITEM, "title": f"并发立项 {k}-{i}"})
            assert status == 201, item
            with clients.lock:
                numbers.append(item["number"])

    assert run_threads(8, work) == []
    seqs = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert seqs == list(range(1, 41))  # unique, and no gap when every request succeeded
