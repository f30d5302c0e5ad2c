"""The listing index: filters, the "allowed" filter, worklists, paging — always in step with ZODB."""

from datetime import date, timedelta

import transaction

from duban_archive.catalog.listing import query_items, reindex_item
from duban_archive.content_types.site_access import open_site
from duban_archive.timeutil import now, today

SUPERVISOR = ["system.Authenticated", "user:supervisor", "role:supervisor"]
HANDLER_ZJJ = ["system.Authenticated", "user:handler", "role:handler", "unit:zjj", "unit:zjj:handler"]
HEAD_ZJJ = ["system.Authenticated", "user:unit_head", "role:unit_head", "unit:zjj", "unit:zjj:unit_head"]
HANDLER_JTJ = ["system.Authenticated", "user:handler2", "role:handler", "unit:jtj", "unit:jtj:handler"]


def _advance(registry, site, item_id, *names):
    wf = registry.duban_workflows["duban"]
    item = site.get_item(item_id)
    actors = {"approve": ("leader", ["role:leader"]), "assign": ("supervisor", ["role:supervisor"]),
              "accept": ("unit_head", HEAD_ZJJ)}
    for name in names:
        actor, principals = actors[name]
        wf.fire(item, name, actor, principals)


def test_new_item_is_listed_at_once_for_supervisor_not_for_units(app, make_item):
    item_id = make_item(lead_unit="zjj")
    with open_site(app.registry) as site:
        total, items = query_items(site, SUPERVISOR, board="zdgz")
        assert (total, [i.item_id for i in items]) == (1, [item_id])
        assert query_items(site, HANDLER_ZJJ, board="zdgz")[0] == 0  # not yet 交办


def test_units_see_their_items_after_assignment_only(app, make_item):
    mine = make_item(lead_unit="zjj", assist_units=set())
    theirs = make_item(lead_unit="jtj", assist_units=set())
    with open_site(app.registry) as site:
        _advance(app.registry, site, mine, "approve", "assign")
        _advance(app.registry, site, theirs, "approve", "assign")
        transaction.commit()
        assert [i.item_id for i in query_items(site, HANDLER_ZJJ)[1]] == [mine]
        assert [i.item_id for i in query_items(site, HANDLER_JTJ)[1]] == [theirs]
        assert query_items(site, HANDLER_ZJJ, unit="jtj")[0] == 0


def test_worklist_follows_state(app, make_item):
    item_id = make_item(lead_unit="zjj")
    with open_site(app.registry) as site:
        assert [i.item_id for i in query_items(site, ["role:leader"], worklist="to_approve")[1]] == [item_id]
        _advance(app.registry, site, item_id, "approve", "assign")
        assert query_items(site, ["role:leader"], worklist="to_approve")[0] == 0
        assert [i.item_id for i in query_items(site, HEAD_ZJJ, worklist="to_accept")[1]] == [item_id]
        assert [i.item_id for i in query_items(site, HEAD_ZJJ, worklist="*")[1]] == [item_id]
        # the handler signs nothing: 签收 is the unit head's
        assert query_items(site, HANDLER_ZJJ, worklist="to_accept")[0] == 0


def test_filters_sort_and_paging(app, make_item):
    ids = [make_item(deadline=date(2026, 12, 1) - timedelta(days=i), lead_unit="zjj" if i % 2 else "jtj")
           for i in range(7)]
    with open_site(app.registry) as site:
        total, page = query_items(site, SUPERVISOR, sort="number", start=2, limit=3)
        assert total == 7 and [i.item_id for i in page] == ids[2:5]
        total, page = query_items(site, SUPERVISOR, sort="deadline", limit=2)
        assert [i.item_id for i in page] == [ids[6], ids[5]]
        assert query_items(site, SUPERVISOR, unit="zjj")[0] == 3
        assert query_items(site, SUPERVISOR, state="registered")[0] == 7
        assert query_items(site, SUPERVISOR, year=2025)[0] == 0
        assert query_items(site, SUPERVISOR, year=today().year)[0] == 7


def test_overdue_uses_next_due_and_open_states(app, make_item):
    late, fine = make_item(), make_item()
    with open_site(app.registry) as site:
        site.get_item(late).next_due = now() - timedelta(hours=1)
        site.get_item(fine).next_due = now() + timedelta(days=1)
        for item_id in (late, fine):
            reindex_item(site, site.get_item(item_id), app.registry)
        assert [i.item_id for i in query_items(site, SUPERVISOR, overdue=True)[1]] == [late]
        assert [i.item_id for i in query_items(site, SUPERVISOR, overdue=False)[1]] == [fine]
