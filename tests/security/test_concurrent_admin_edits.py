"""Two administrators changing the same account at once, against a real server process (ZEO).

Without a revision both changes land (a ZODB conflict is retried by the server, or answered with
a JSON 409 the client repeats) and neither loses the other's field; with the revision they both
read, one wins and the other gets 409 ``stale`` — never a 500, never a silent overwrite.
"""

from __future__ import annotations

import threading

from duban_archive.testing import Clients, http_call, run_threads


def test_concurrent_admin_edits_never_lose_a_field(live_server):
    server = live_server()
    clients = Clients(server, ["admin", "secadmin"])
    rounds = 8

    def work(k: int) -> None:
        for n in range(rounds):
            if k == 0:
                status, res = clients.send("admin", "PATCH", "/api/v1/users/handler",
                                           {"title": f"刘承办{n}", "phone": f"1390000{n:04d}"})
            else:
                roles = ["handler", "unit_head"] if n % 2 else ["handler"]
                status, res = clients.send("secadmin", "PUT", "/api/v1/users/handler/roles", {"roles": roles})
            assert status == 200, (status, res)

    assert run_threads(2, work) == []
    assert clients.count(500) == 0 and all(s in (200, 409) for s in clients.statuses)
    status, user = http_call(server.base, clients.tokens["admin"], "GET", "/api/v1/users/handler")
    assert status == 200
    last = rounds - 1
    assert (user["title"], user["phone"]) == (f"刘承办{last}", f"1390000{last:04d}")
    assert user["roles"] == (["handler", "unit_head"] if last % 2 else ["handler"])
    assert user["revision"] >= 2 * rounds - 1  # round 0 grants what handler already holds: no change

    # two system administrators with the same revision: one wins, the other is told 409 stale
    status, _ = clients.send("secadmin", "PUT", "/api/v1/users/leader/roles", {"roles": ["leader", "sysadmin"]})
    assert status == 200
    clients.tokens["leader"] = server.token("leader")
    for n in range(4):
        status, user = http_call(server.base, clients.tokens["admin"], "GET", "/api/v1/users/handler2")
        revision = user["revision"]
        barrier = threading.Barrier(2)
        answers: dict[str, tuple[int, dict]] = {}

        values = {"admin": ("email", f"chen{n}@jtj.example.cn"), "leader": ("phone", f"1380000{n:04d}")}

        def edit(k: int, revision: int = revision, barrier: threading.Barrier = barrier,
                 answers: dict = answers, values: dict = values) -> None:
            who = ("admin", "leader")[k]
            field, value = values[who]
            barrier.wait()
            answers[who] = clients.send(who, "PATCH", "/api/v1/users/handler2", {field: value, "revision": revision})

        assert run_threads(2, edit) == []
        assert sorted(a[0] for a in answers.values()) == [200, 409], answers
        loser = next(who for who, a in answers.items() if a[0] == 409)
        winner = "leader" if loser == "admin" else "admin"
        assert answers[loser][1]["error"] == "stale"
        status, user = http_call(server.base, clients.tokens["admin"], "GET", "/api/v1/users/handler2")
        assert user[values[winner][0]] == values[winner][1]  # the winner's change is there
        assert user[values[loser][0]] != values[loser][1]  # the refused one wrote nothing
        assert user["revision"] == revision + 1
    assert clients.count(500) == 0
