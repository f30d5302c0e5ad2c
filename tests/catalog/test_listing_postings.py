"""The issue-16 listing layout: what users see through it (real ZODB, the real workflow engine).

Sort orders across pages, worklists per unit, losing view access, and a site stored with the
old (hypatia) listing: it keeps answering, and evolve step 3 (lean_writes) rebuilds it with the same answers.
"""

from datetime import date, timedelta

import transaction

from duban_archive.catalog.listing import Listing, get_listing, query_items, reindex_item
from duban_archive.content_types.site_access import open_site
from duban_archive.workflows.worklist import bucket, worklist

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor", "unit:zfb"]
LEADER = ["system.Everyone", "system.Authenticated", "user:leader", "role:leader", "unit:zfb"]
HEAD_ZJJ = ["system.Authenticated", "user:unit_head", "role:unit_head", "unit:zjj", "unit:zjj:unit_head"]
HANDLER_ZJJ = ["system.Authenticated", "user:handler", "role:handler", "unit:zjj", "unit:zjj:handler"]
HEAD_JTJ = ["system.Authenticated", "user:unit_head2", "role:unit_head", "unit:jtj", "unit:jtj:unit_head"]
HANDLER_JTJ = ["system.Authenticated", "user:handler2", "role:handler", "unit:jtj", "unit:jtj:handler"]
ACTORS = {"approve": ("leader", LEADER), "assign": ("supervisor", SUPERVISOR)}


def _fire(registry, site, item_id, name, principals=None, actor=None, **data):
    item = site.get_item(item_id)
    default_actor, default_principals = ACTORS.get(name, ("system", []))
    registry.duban_workflows[item.workflow].fire(item, name, actor or default_actor,
                                                 principals or default_principals, data, site=site)


def _ids(result):
    return [i.item_id for i in result[1]]


def test_every_sort_order_is_right_across_pages_in_both_directions(app, make_item):
    base = date(2026, 9, 1)
    ids = [make_item(deadline=base + timedelta(days=(i * 7) % 5), registered_on=base - timedelta(days=(i * 3) % 4))
           for i in range(13)]
    with open_site(app.registry) as site:
        items = {i: site.get_item(i) for i in ids}
        _fire(app.registry, site, ids[3], "approve")  # a later 最近更新 and a new state for a few
        items[ids[3]].modified += timedelta(hours=2)
        reindex_item(site, items[ids[3]], app.registry)
        transaction.commit()
        keys = {
            "number": lambda it: it.number,
            "deadline": lambda it: (it.deadline, it.number),
            "registered_on": lambda it: (it.registered_on, it.number),
            "modified": lambda it: (it.modified.replace(minute=0, second=0, microsecond=0), it.number),
            "due": lambda it: (it.next_due, it.number),
        }
        for sort, key in keys.items():
            expected = [it.item_id for it in sorted(items.values(), key=key)]
            for reverse in (False, True):
                want = expected[::-1] if reverse else expected  # ties by 事项编号, reversed with the rest
                for who, board in ((SUPERVISOR, "zdgz"), (SUPERVISOR, None), (LEADER, "zdgz")):
                    pages = []
                    for start in range(0, 13, 5):
                        total, page = query_items(site, who, board=board, sort=sort, reverse=reverse,
                                                  start=start, limit=5)
                        assert total == 13
                        pages += [it.item_id for it in page]
                    assert pages == want, (sort, reverse, board)
        # a filter that leaves part of the board: the order is kept, the pages are of the filtered set
        registered = [i for i in expected if site.get_item(i).state == "registered"]
        by_deadline = [it.item_id for it in sorted(items.values(), key=keys["deadline"]) if it.state == "registered"]
        assert len(registered) == 12
        assert _ids(query_items(site, SUPERVISOR, board="zdgz", state="registered", sort="deadline",
                                start=10, limit=5)) == by_deadline[10:]


def test_a_unit_sees_exactly_its_bucket_and_loses_items_it_may_no_longer_view(app, make_item):
    ours = make_item(lead_unit="zjj", assist_units={"jtj"})
    theirs = make_item(lead_unit="jtj", assist_units=set())
    alone = make_item(lead_unit="zjj", assist_units=set())
    with open_site(app.registry) as site:
        for item_id in (ours, theirs, alone):
            _fire(app.registry, site, item_id, "approve")
            _fire(app.registry, site, item_id, "assign", problem_kind="general")
        transaction.commit()
        assert _ids(bucket(site, HEAD_ZJJ, "to_accept")) == [ours, alone]
        assert _ids(bucket(site, HEAD_JTJ, "to_accept")) == [theirs]  # 协办 is no 签收
        assert bucket(site, HANDLER_ZJJ, "to_accept")[0] == 0  # 签收 is the unit head's
        assert _ids(query_items(site, HANDLER_JTJ, board="zdgz")) == [ours, theirs]  # 协办 may view
        # 退单: the declined item is the lead unit's and the supervisor's only; 协办 loses it everywhere
        _fire(app.registry, site, ours, "decline", HEAD_ZJJ, "unit_head", reason="不属于本单位职责")
        transaction.commit()
        assert _ids(query_items(site, HANDLER_JTJ, board="zdgz")) == [theirs]
        assert _ids(query_items(site, HANDLER_JTJ)) == [theirs]
        assert _ids(query_items(site, HANDLER_JTJ, worklist="*")) == []
        assert _ids(bucket(site, HEAD_ZJJ, "to_accept")) == [alone]
        assert ours in _ids(bucket(site, SUPERVISOR, "to_assign"))
        names = {b["name"]: [i.item_id for i in b["items"]] for b in worklist(site, HEAD_JTJ)}
        assert names.get("to_accept") == [theirs] and ours not in sum(names.values(), [])


def test_worklist_shows_items_worked_without_view_only_to_callers_who_may_view(app, make_item):
    """A profile may put a role in worklist_roles that the state does not let view: the item is shown
    to a caller holding that role only when another of the caller's principals may view it."""
    item_id = make_item(lead_unit="zjj")
    with open_site(app.registry) as site:
        state = app.registry.duban_workflows["duban"].states["registered"]
        saved = state.worklist_roles
        state.worklist_roles = saved + ("lead:handler",)  # handlers of zjj work it, but may not view it yet
        try:
            reindex_item(site, site.get_item(item_id), app.registry)
            assert bucket(site, HANDLER_ZJJ, "to_approve")[0] == 0
            assert _ids(bucket(site, HANDLER_ZJJ + ["role:leader"], "to_approve")) == [item_id]
        finally:
            state.worklist_roles = saved
            reindex_item(site, site.get_item(item_id), app.registry)
        transaction.abort()


def _legacy_listing():
    """A listing as pickled before issue 16: the hypatia catalog the old code wrote."""
    import BTrees
    from hypatia.catalog import Catalog
    from hypatia.field import FieldIndex
    from hypatia.keyword import KeywordIndex

    family = BTrees.family64
    listing = Listing.__new__(Listing)
    listing.catalog = Catalog(family=family)
    for name in ("board", "state", "registered_on", "deadline", "modified", "due", "open"):
        listing.catalog[name] = FieldIndex(name, family=family)
    for name in ("units", "allowed", "worklist"):
        listing.catalog[name] = KeywordIndex(name, family=family)
    listing.docids = family.OI.BTree()
    listing.item_ids = family.IO.BTree()
    listing.prefix_ordinals = family.OI.BTree()
    return listing


def test_a_site_with_the_old_listing_keeps_working_and_evolve_rebuilds_it(app, make_item):
    from duban_archive.evolve.steps import lean_writes

    ids = [make_item(lead_unit="zjj" if i % 2 else "jtj", deadline=date(2026, 10, 1) + timedelta(days=i % 3))
           for i in range(5)]
    with open_site(app.registry) as site:
        site.remove("listing")
        legacy = site.add("listing", _legacy_listing())
        for item_id in ids:
            reindex_item(site, site.get_item(item_id), app.registry)
        _fire(app.registry, site, ids[0], "approve")  # kept up to date by the old code
        _fire(app.registry, site, ids[0], "assign", problem_kind="general")
        transaction.commit()
        questions = [dict(board="zdgz", sort="deadline"), dict(sort="number", reverse=True),
                     dict(state="registered"), dict(unit="jtj", sort="deadline", reverse=True)]
        answers = [(query_items(site, SUPERVISOR, **q)[0], _ids(query_items(site, SUPERVISOR, **q))) for q in questions]
        assert get_listing(site) is legacy and answers[0][0] == 5
        assert _ids(bucket(site, HEAD_JTJ, "to_accept")) == [ids[0]]  # ids[0] is led by jtj
        assert "5 个事项" in lean_writes(site, app.registry)
        transaction.commit()
        fresh = get_listing(site)
        assert fresh is not legacy and fresh.postings is not None
        assert [(query_items(site, SUPERVISOR, **q)[0], _ids(query_items(site, SUPERVISOR, **q)))
                for q in questions] == answers
        assert _ids(bucket(site, HEAD_JTJ, "to_accept")) == [ids[0]]
        assert lean_writes(site, app.registry)  # idempotent: a second run rebuilds the same answers
        assert [_ids(query_items(site, SUPERVISOR, **q)) for q in questions] == [a[1] for a in answers]


def test_overdue_and_due_soon_buckets_cut_at_the_exact_moment_and_page_across_the_cut(app, make_item):
    from datetime import datetime

    from duban_archive.timeutil import CST, frozen_now

    moment = datetime(2026, 11, 2, 10, 0, 30, tzinfo=CST)
    dues = {"yesterday": moment - timedelta(days=1), "minute_early": moment - timedelta(seconds=20),
            "minute_late": moment + timedelta(seconds=20), "soon": moment + timedelta(minutes=5),
            "tomorrow": moment + timedelta(days=1), "later": moment + timedelta(days=3)}
    ids = {name: make_item() for name in dues}
    with open_site(app.registry) as site, frozen_now(moment):
        for name, item_id in ids.items():  # every item waits for 审签 (to_approve, the leader's)
            item = site.get_item(item_id)
            item.next_due = dues[name]
            reindex_item(site, item, app.registry)
        overdue = [ids["yesterday"], ids["minute_early"]]
        soon = [ids["minute_late"], ids["soon"], ids["tomorrow"]]
        assert _ids(bucket(site, LEADER, "overdue")) == overdue
        assert _ids(bucket(site, LEADER, "due_soon")) == soon
        assert bucket(site, LEADER, "due_soon", start=1, limit=1) == (3, [site.get_item(ids["soon"])])
        assert _ids(bucket(site, LEADER, "overdue", start=1, limit=5)) == [ids["minute_early"]]
        assert _ids(query_items(site, LEADER, worklist="*", overdue=False, sort="due", reverse=True,
                                limit=2)) == [ids["later"], ids["tomorrow"]]
        assert bucket(site, LEADER, "to_approve")[0] == 6
        assert bucket(site, HANDLER_ZJJ, "overdue")[0] == 0  # not theirs, and they may not view it yet
        # the listing's overdue filter (not a worklist) agrees
        assert _ids(query_items(site, SUPERVISOR, overdue=True)) == sorted(overdue)
        transaction.abort()
