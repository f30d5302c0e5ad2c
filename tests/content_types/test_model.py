"""The content model on a real FileStorage: boards, numbering, items, ACLs."""

from datetime import date

import transaction

from duban_archive.content_types.actions import edit_item
from duban_archive.content_types.site_access import open_site
from duban_archive.timeutil import today


def test_site_has_every_board_of_the_seeds(site):
    titles = {b.title for b in site.boards.values()}
    assert {"日常管理事项", "重点工作任务", "重大改革事项", "重点工程项目", "重点技改项目",
            "重点招商项目", "互联网+督查交办件", "12345 工单", "人大建议政协提案"} <= titles
    assert len(site.boards) == 9


def test_item_numbers_run_per_board_per_year(app, make_item):
    first = make_item("zdgz")
    second = make_item("zdgz")
    other = make_item("rcgl")
    old = make_item("zdgz", registered_on=date(2025, 3, 1))
    year = today().year
    assert (first, second, other, old) == (
        f"zdgz-{year}-0001", f"zdgz-{year}-0002", f"rcgl-{year}-0001", "zdgz-2025-0001"
    )
    with open_site(app.registry) as site:
        item = site.get_item(second)
        assert item.number == second.upper()
        assert item.state == "registered"
        assert len(site.boards["zdgz"]) == 3
        assert item.__parent__ is site.boards["zdgz"]


def test_edit_records_old_and_new_in_audit(app, make_item):
    item_id = make_item(title="原标题")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        changes = edit_item(site, item, {"title": "新标题"}, "supervisor", app.registry)
        transaction.commit()
        assert changes == {"title": ("原标题", "新标题")}
        trail = [e for e in site["audit"].for_target(item_id) if e["action"] == "edit"]
        assert trail[-1]["old"] == "原标题" and trail[-1]["new"] == "新标题"


def test_item_acl_follows_state_and_units(app, make_item):
    item_id = make_item(lead_unit="zjj", assist_units={"jtj"})
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        granted = {(p, perm) for _, p, perm in item.__acl__ if isinstance(perm, str)}
        assert ("role:leader", "view") in granted
        # before 交办 the units do not see the item
        assert not any(p.startswith("unit:zjj") for p, _ in granted)
        wf = app.registry.duban_workflows["duban"]
        wf.fire(item, "approve", "leader", ["role:leader"])
        wf.fire(item, "assign", "supervisor", ["role:supervisor"])
        granted = {(p, perm) for _, p, perm in item.__acl__ if isinstance(perm, str)}
        assert ("unit:zjj", "view") in granted and ("unit:jtj", "view") in granted
        # only the lead unit's head may sign for it
        signers = {p for _, p, perm in item.__acl__ if perm == "view"}
        assert "unit:jtj:unit_head" not in signers
        transaction.commit()
