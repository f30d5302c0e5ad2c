"""Data as sites stored it before issue 16's lean writes, made from a current site (for evolve tests)."""

from __future__ import annotations

from BTrees.OOBTree import OOBTree, OOTreeSet

from duban_archive.audit.log import SEP, ShardEntries, ShardTargets, shard_of
from duban_archive.notifications.outbox import ItemFire, get_outbox


def audit_as_bucket_shards(log, kind=OOBTree, targets=OOTreeSet) -> None:
    """The log's entries moved into shards of BTrees keyed by entry (time stored in every entry)."""
    shards = [kind() for _ in log.shards]
    indexes = [targets() for _ in log.shards]
    for key, entry in list(log.items()):
        n = shard_of(key, len(shards))
        shards[n][key] = tuple(entry.items())
        if entry.get("target"):
            indexes[n].add(f"{entry['target']}{SEP}{key}")
    log.shards, log.targets, log.retired = tuple(shards), tuple(indexes), ()


def audit_as_small_buckets(log) -> None:
    """The shape evolve step 3 left (small-bucket :class:`ShardEntries`)."""
    audit_as_bucket_shards(log, ShardEntries, ShardTargets)


def outbox_trees_as_before(site) -> None:
    """The outbox's message, per-item and inbox trees as plain OOBTrees."""
    box = get_outbox(site)
    box.messages, box.by_item = OOBTree(box.messages), OOBTree(box.by_item)
    for inbox in box.inboxes.values():
        inbox.entries = OOBTree(inbox.entries)


def plans_in_item_fire(site, kind=OOBTree) -> None:
    """Reminder plans kept in the outbox's ``item_fire`` tree, none on the items."""
    box = get_outbox(site)
    tree = kind()
    for item in site.item_index.values():
        if item.reminder_plan is not None:
            tree[item.item_id] = item.reminder_plan
            item.reminder_plan = None
    box.item_fire = tree


def items_as_before(site, registry) -> None:
    """Items carrying a pickled ``__acl__``, their status in their own dict (no ``ItemStatus``) and
    their deadlines as a dict of dicts."""
    from duban_archive.content_types.item import STATUS_FIELDS
    from duban_archive.workflows.deadlines import open_deadlines

    for item in site.item_index.values():
        item._p_activate()
        deadlines = open_deadlines(item)
        status = vars(item).pop("_status")
        for name in STATUS_FIELDS:
            if hasattr(status, name):
                vars(item)[name] = getattr(status, name)
        vars(item)["__acl__"] = registry.duban_workflows[item.workflow].acl_for(item)
        vars(item)["deadlines"] = deadlines
        item._p_changed = True


__all__ = ["ItemFire", "items_as_before", "audit_as_bucket_shards", "audit_as_small_buckets",
           "plans_in_item_fire"]
