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


def test_planning_one_item_merges_with_planning_another(app):
    tm, conn, outbox = outbox_on_own_connection(app)
    outbox.schedule_item("zdgz-2026-0001", None, START)  # nothing due yet for this one
    tm.commit()
    conn.close()
    tm1, conn1, box1 = outbox_on_own_connection(app)
    tm2, conn2, box2 = outbox_on_own_connection(app)
    box1.schedule_item("zdgz-2026-0001", START + timedelta(days=3), START)  # its first reminder is planned
    box2.schedule_item("zdgz-2026-0002", START + timedelta(days=1), START)  # meanwhile another item's
    tm1.commit()
    # the same bucket of item_fire: merged — with None stored for "nothing planned", BTrees compared
    # (None, …) with (epoch, …), failed, and made this a ConflictError
    tm2.commit()
    for c in (conn1, conn2):
        c.close()
    tm, conn, outbox = outbox_on_own_connection(app)
    assert set(outbox.due_items(START + timedelta(days=4))) == {"zdgz-2026-0001", "zdgz-2026-0002"}
    outbox.unschedule("zdgz-2026-0001")
    assert outbox.due_items(START + timedelta(days=4)) == ["zdgz-2026-0002"]
    tm.abort()
    conn.close()

