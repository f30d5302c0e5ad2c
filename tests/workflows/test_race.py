"""Two users racing on the same transition: one wins, the other gets a clear 409, nothing half-done."""

import threading

import transaction
from pyramid.config import Configurator

from duban_archive.content_types.site_access import open_site
from duban_archive.events import StateChanged
from duban_archive.testing import api


def test_two_requests_firing_the_same_transition(app, testapp, make_item):
    item_id = make_item()
    api(testapp, "leader").post(f"/api/v1/items/{item_id}/transitions/approve", {})
    clients = [api(testapp, "supervisor"), api(testapp, "supervisor")]
    barrier = threading.Barrier(2, timeout=10)
    arrived = []

    def hold(event):  # both requests have fired in their own transaction before either commits
        if event.transition == "assign" and threading.current_thread().name.startswith("racer"):
            arrived.append(event.object.item_id)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

    config = Configurator(registry=app.registry)
    config.add_subscriber(hold, StateChanged)
    config.commit()
    results = {}

    def race(i):
        res = clients[i].post(f"/api/v1/items/{item_id}/transitions/assign", {"comment": f"racer {i}"},
                              status="*")
        results[i] = (res.status_int, res.json)

    threads = [threading.Thread(target=race, args=(i,), name=f"racer-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(arrived) == 2  # both really got as far as firing
    statuses = sorted(code for code, _ in results.values())
    assert statuses == [200, 409], results
    loser = next(body for code, body in results.values() if code == 409)
    assert loser["error"] == "conflict" and "待签收" in loser["message"] and "刷新" in loser["message"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.state == "assigned"
        assigns = [h for h in item.history if h["transition"] == "assign"]
        assert len(assigns) == 1  # the loser left no history entry ...
        trail = [e for e in site["audit"].for_target(item_id) if e.get("transition") == "assign"]
        assert len(trail) == 1  # ... and no audit entry


def test_conflicting_connections_without_the_web_layer(app, make_item):
    """The engine alone: the second commit conflicts; retried, it is refused with 409."""
    from ZODB.POSException import ConflictError

    from duban_archive.workflows.engine import WorkflowError

    from .helpers import fire

    item_id = make_item()
    reg = app.registry
    tm1, tm2 = transaction.TransactionManager(), transaction.TransactionManager()
    with open_site(reg, tm1) as s1, open_site(reg, tm2) as s2:
        fire(reg, s1, s1.get_item(item_id), "approve", "leader")
        fire(reg, s2, s2.get_item(item_id), "approve", "leader")
        tm1.commit()
        try:
            tm2.commit()
            raise AssertionError("the second commit must conflict")
        except ConflictError:
            tm2.abort()
        tm2.begin()
        item = s2.get_item(item_id)
        assert item.state == "approved" and len(item.history) == 2
        try:
            fire(reg, s2, item, "approve", "leader")
            raise AssertionError("must be refused")
        except WorkflowError as exc:
            assert exc.status == 409
