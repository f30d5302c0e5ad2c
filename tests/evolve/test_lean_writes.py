"""Evolve step 3 (lean_writes) on data pickled before issue 16: the audit log's big-bucket shards
and the outbox's ``item_fire`` map.  Nothing is lost, trails read as before, new writes are lean."""

import transaction

from duban_archive.audit.log import AuditPages
from duban_archive.content_types.site_access import open_site
from duban_archive.evolve.steps import lean_writes
from duban_archive.notifications.outbox import ItemFire, get_outbox

from .old_shapes import audit_as_bucket_shards, plans_in_item_fire


def _as_before_issue_16(site) -> None:
    audit_as_bucket_shards(site["audit"])
    plans_in_item_fire(site)


def test_old_audit_shards_are_kept_readonly_and_new_entries_go_to_small_buckets(app, make_item):
    first = make_item(title="老数据事项")
    with open_site(app.registry) as site:
        _as_before_issue_16(site)
        transaction.commit()
        assert first in get_outbox(site).item_fire
        log = site["audit"]
        wf = app.registry.duban_workflows["duban"]
        wf.fire(site.get_item(first), "approve", "leader", ["role:leader"], site=site)
        transaction.commit()
        before = [e["action"] for e in log.for_target(first)]
        count, fire = len(log), dict(get_outbox(site).item_fire.items())
        # re-planned: the plan moved onto the item (step 9's shape); the old tree keeps the others'
        assert before == ["create", "transition"] and first not in fire
        assert site.get_item(first).reminder_plan is not None
        old = log.shards

        assert "审计日志改用小分桶" in lean_writes(site, app.registry)
        transaction.commit()
        assert all(isinstance(s, AuditPages) for s in log.shards) and log.retired[0][0] is old[0]
        assert isinstance(get_outbox(site).item_fire, ItemFire) and dict(get_outbox(site).item_fire.items()) == fire
        assert [e["action"] for e in log.for_target(first)] == before and len(log) == count

        wf.fire(site.get_item(first), "assign", "supervisor", ["role:supervisor"], {"problem_kind": "general"},
                site=site)
        transaction.commit()
        trail = list(log.for_target(first))
        assert [e["action"] for e in trail] == ["create", "transition", "transition"]
        assert [e["time"] for e in trail] == sorted(e["time"] for e in trail)
        assert len(log) == count + 1 and len(list(log)) == len(log)
        newest = max(k for k in log.entries.keys())
        assert log.entries[newest]["new"] == "assigned"
        oldest_key = next(iter(log.entries.keys()))
        assert log.get(oldest_key)["action"] in ("create", "login", "user")  # found in a retired shard

        second = lean_writes(site, app.registry)  # idempotent: the listing is rebuilt, the rest stays
        assert "审计" not in second and "提醒计划" not in second
        assert len(log.retired) == len(old)
