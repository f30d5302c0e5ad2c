"""What a transition writes of an item (issue 16): its small ItemStatus, not the item with its fields;
the ACL is derived, never stored."""

import pytest
import transaction
from pyramid.authorization import ALL_PERMISSIONS, Deny, Everyone

from duban_archive.content_types.item import ItemStatus
from duban_archive.content_types.site_access import open_site


def test_a_transition_rewrites_the_status_not_the_item(app, make_item):
    item_id = make_item()
    wf = app.registry.duban_workflows["duban"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        item_serial, status_serial, serials = item._p_serial, item._status._p_serial, item.serials()
        wf.fire(item, "approve", "leader", ["role:leader"], site=site)
        transaction.commit()
        assert item._p_serial == item_serial  # title, content … not written again
        assert item._status._p_serial != status_serial and item.serials() != serials
        assert item.state == item._status.state == "approved" and "state" not in vars(item)
        assert item.modified == item._status.modified


def test_the_acl_is_derived_and_cannot_be_assigned(app, make_item):
    item_id = make_item()
    wf = app.registry.duban_workflows["duban"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf.fire(item, "approve", "leader", ["role:leader"], site=site)
        wf.fire(item, "assign", "supervisor", ["role:supervisor"], {"problem_kind": "general"}, site=site)
        assert item.__acl__ == wf.acl_for(item) and "__acl__" not in vars(item)
        assert any("unit:zjj" in p for _, p, _ in item.__acl__)
        item.lead_unit = "jtj"  # the units changed (转办): the ACL follows at once
        assert item.__acl__ == wf.acl_for(item) and any("unit:jtj" in p for _, p, _ in item.__acl__)
        with pytest.raises(AttributeError):
            item.__acl__ = ()
        item.workflow = "no_such_workflow"  # a workflow this site does not define grants nothing
        assert item.__acl__ == ((Deny, Everyone, ALL_PERMISSIONS),)
        transaction.abort()


def test_an_item_stored_before_gets_its_status_on_first_change(app, make_item):
    item_id = make_item()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        status = vars(item).pop("_status")  # as pickled before issue 16: the status in the item's dict
        vars(item).update({k: v for k, v in vars(status).items() if not k.startswith("_p_")})
        item._p_changed = True
        transaction.commit()
        assert item.state == status.state and item._status is None
        item.modified = status.modified
        assert isinstance(item._status, ItemStatus) and "state" not in vars(item)
        assert item.state == status.state and item.deadlines == status.deadlines
        transaction.abort()
