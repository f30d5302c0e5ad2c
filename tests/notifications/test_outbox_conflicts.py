"""Re-planning reminders of different items at the same time merges instead of conflicting."""

from __future__ import annotations

from datetime import datetime, timedelta

import transaction

from duban_archive.content_types.site_access import ROOT_KEY
from duban_archive.timeutil import CST

START = datetime(2026, 12, 1, 9, 0, tzinfo=CST)


def outbox_on_own_connection(app):
    tm = transaction.TransactionManager()
    conn = app.registry._zodb_databases[""].open(transaction_manager=tm)
    return tm, conn, conn.root()[ROOT_KEY]["outbox"]


def test_planning_one_item_merges_with_planning_another(app, make_item):
    first, second = make_item(), make_item()
    tm, conn, outbox = outbox_on_own_connection(app)
    outbox.schedule_item(conn.root()[ROOT_KEY].get_item(first), None, START)  # nothing due yet for this one
    tm.commit()
    conn.close()
    tm1, conn1, box1 = outbox_on_own_connection(app)
    tm2, conn2, box2 = outbox_on_own_connection(app)
    box1.schedule_item(conn1.root()[ROOT_KEY].get_item(first), START + timedelta(days=3), START)  # its first reminder
    box2.schedule_item(conn2.root()[ROOT_KEY].get_item(second), START + timedelta(days=1), START)  # meanwhile another's
    tm1.commit()
    # each plan is kept on its own item, the schedule's sets merge (with None stored for "nothing
    # planned" in a shared tree, BTrees compared (None, …) with (epoch, …), failed, and conflicted)
    tm2.commit()
    for c in (conn1, conn2):
        c.close()
    tm, conn, outbox = outbox_on_own_connection(app)
    site = conn.root()[ROOT_KEY]
    assert {first, second} <= set(outbox.due_items(START + timedelta(days=4)))
    assert outbox.plan_of(site.get_item(first))[0] == int((START + timedelta(days=3)).timestamp())
    outbox.unschedule(first, site.get_item(first))
    due = outbox.due_items(START + timedelta(days=4))
    assert second in due and first not in due
    assert site.get_item(first).reminder_plan is None
    tm.abort()
    conn.close()
