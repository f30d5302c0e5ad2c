"""Evolve step 9 (lean_transactions) on a site stored with the structures before it: items with a
pickled ACL, their status in their own dict and deadlines as dicts; reminder plans in the outbox's
``item_fire`` tree; small-bucket audit shards.  Everything reads the same before and after, and the
next writes are the lean ones."""

import transaction

from duban_archive.audit.log import AuditPages
from duban_archive.catalog.listing import _pairs, get_listing, query_items
from duban_archive.content_types.item import ItemStatus
from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import lean_transactions
from duban_archive.notifications.outbox import Appended, ItemFire, get_outbox
from duban_archive.workflows.deadlines import item_deadlines

from .old_shapes import audit_as_small_buckets, items_as_before, outbox_trees_as_before, plans_in_item_fire

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
UNIT = ["system.Everyone", "system.Authenticated", "user:h", "unit:zjj", "unit:zjj:handler", "role:handler"]


def _what_users_see(site, item_ids):
    out = {}
    for item_id in item_ids:
        item = site.get_item(item_id)
        out[item_id] = (item.state, item.modified, item.next_due, item_deadlines(item), tuple(item.__acl__),
                        item.reminder_plan or get_outbox(site).plan_of(item),
                        [e["action"] for e in site["audit"].for_target(item_id)])
    listing = {who: [i.item_id for i in query_items(site, p, limit=500)[1]] for who, p in
               (("supervisor", SUPERVISOR), ("unit", UNIT))}
    worklist = [i.item_id for i in query_items(site, UNIT, worklist="*", limit=500)[1]]
    return out, listing, worklist, len(site["audit"]), get_outbox(site).due_items(item.modified.replace(year=2030))


def test_step9_converts_an_old_site_and_changes_nothing_users_see(app, make_item):
    wf = app.registry.duban_workflows["duban"]
    ids = [make_item(title=f"老结构事项{i}") for i in range(3)]
    with open_site(app.registry) as site:
        for item_id in ids[1:]:
            item = site.get_item(item_id)
            wf.fire(item, "approve", "leader", ["role:leader"], site=site)
            wf.fire(item, "assign", "supervisor", ["role:supervisor"], {"problem_kind": "general"}, site=site)
        transaction.commit()
        plans_in_item_fire(site, ItemFire)
        items_as_before(site, app.registry)
        audit_as_small_buckets(site["audit"])
        outbox_trees_as_before(site)
        messages = {k: v._p_oid for k, v in get_outbox(site).messages.items()}
        site.generation = 8  # as step 8 (三员分立) left it: step 9 is the next one due
        transaction.commit()
        old = site.get_item(ids[2])
        old._p_activate()
        assert "__acl__" in vars(old) and isinstance(vars(old)["deadlines"], dict) and old._status is None
        before = _what_users_see(site, ids)
        assert [name for _, name, _ in pending(site)][0] == "lean_transactions"

        message = lean_transactions(site, app.registry)
        transaction.commit()
        assert "3 个事项改为精简存储（其中 3 个去掉存储的权限表）" in message
        assert "个事项的提醒计划移到事项上" in message and "审计日志改为分页存储" in message
        for item_id in ids:
            item = site.get_item(item_id)
            item._p_activate()
            assert "__acl__" not in vars(item) and "state" not in vars(item)
            assert isinstance(item._status, ItemStatus) and isinstance(item.deadlines, tuple)
        assert get_outbox(site).item_fire is None and "消息索引" in message
        box = get_outbox(site)
        assert isinstance(box.messages, Appended) and isinstance(box.by_item, Appended)
        assert all(isinstance(inbox.entries, Appended) for inbox in box.inboxes.values()) and box.inboxes
        assert {k: v._p_oid for k, v in box.messages.items()} == messages and messages  # the same messages
        assert isinstance(site["audit"].shards[0], AuditPages) and site["audit"].retired
        assert _what_users_see(site, ids) == before

        # the next transition writes the lean structures and the trail goes on in order
        wf.fire(site.get_item(ids[1]), "accept", "unit_head", UNIT + ["unit:zjj:unit_head", "role:unit_head"],
                site=site)
        transaction.commit()
        trail = list(site["audit"].for_target(ids[1]))
        assert [e["action"] for e in trail] == ["create", "transition", "transition", "transition"]
        assert [e["time"] for e in trail] == sorted(e["time"] for e in trail)
        assert len(site["audit"]) == before[3] + 1

        again = lean_transactions(site, app.registry)  # idempotent
        assert again.startswith("0 个事项") and "审计" not in again and "提醒" not in again and "消息" not in again


def test_step9_relists_an_item_whose_stored_acl_the_definitions_no_longer_give(app, make_item):
    """A stored ACL naming a role the definitions dropped (as 三员分立 dropped ``admin``): the derived
    ACL no longer names it, and step 9 moves the item's listing keys to what is granted now."""
    item_id = make_item()
    wf = app.registry.duban_workflows["duban"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        stale = tuple(wf.acl_for(item)) + (("Allow", "role:retired_role", "view"),)
        items_as_before(site, app.registry)
        item._p_activate()
        vars(item)["__acl__"] = stale
        listing = get_listing(site)  # … and listed under it, as the ACL stored then gave
        old_doc = listing.document(item, app.registry, listing.docid_for(item.item_id, item.number))
        old_doc = old_doc[:4] + (old_doc[4] + ",role:retired_role",) + old_doc[5:]
        listing._apply(_pairs(vars(item)["_listing_doc"]), _pairs(old_doc))
        vars(item)["_listing_doc"] = old_doc
        item._p_changed = True
        transaction.commit()
        assert [i.item_id for i in query_items(site, ["role:retired_role"], limit=50)[1]] == [item_id]

        assert "1 个事项按现行权限重新列入列表索引" in lean_transactions(site, app.registry)
        transaction.commit()
        assert query_items(site, ["role:retired_role"], limit=50)[1] == []
        assert item_id in [i.item_id for i in query_items(site, SUPERVISOR, limit=500)[1]]
