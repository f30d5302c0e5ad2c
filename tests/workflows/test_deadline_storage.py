"""How an item's open deadlines are stored (issue 16): what the moment made of them positionally, the
definition's title and rules only when they differ from it — read back as the same records."""

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.workflows import deadlines as dl


def test_deadlines_are_stored_lean_and_read_back_whole(app, make_item):
    item_id = make_item()
    wf = app.registry.duban_workflows["duban"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf.fire(item, "approve", "leader", ["role:leader"], site=site)
        wf.fire(item, "assign", "supervisor", ["role:supervisor"], {"problem_kind": "general"}, site=site)
        transaction.commit()
        records = dl.open_deadlines(item)
        assert {"due", "accept_by", "solve"} <= set(records)
        solve = records["solve"]
        assert solve["title"] == wf.find_deadline("solve").title and solve["due"].tzinfo is not None
        assert all(len(row) == len(dl.DYNAMIC) for row in item.deadlines)  # no titles, no rules stored
        assert item.next_due == min(r["due"] for r in records.values())

        # a record that is not its definition's (here: a title of its own) keeps what differs
        records["solve"] = {**solve, "title": "解决时限（延期后）"}
        dl.store(item, records)
        transaction.commit()
        assert dl.open_deadlines(item)["solve"]["title"] == "解决时限（延期后）"
        assert dl.open_deadlines(item) == records
        before = item._status._p_serial
        dl.store(item, dl.open_deadlines(item))  # unchanged: nothing written
        transaction.commit()
        assert item._status._p_serial == before

        # what a reader changes in its records is its own: the next reader sees what is stored
        mine = dl.open_deadlines(item)
        mine["solve"]["title"] = "改了没有存"
        assert dl.open_deadlines(item)["solve"]["title"] == "解决时限（延期后）"
        assert [d["title"] for d in dl.item_deadlines(item) if d["name"] == "solve"] == ["解决时限（延期后）"]
