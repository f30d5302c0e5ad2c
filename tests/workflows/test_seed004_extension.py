"""Seed 004 二（五）: 延期 is asked for before the 办结时限 expires; a later request is refused, changes nothing."""

from datetime import date, datetime

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now


def at(*a):
    return datetime(*a, tzinfo=CST)


def _in_progress(app, make_item, deadline):
    with frozen_now(at(2026, 5, 4, 9, 0)):
        item_id = make_item("zdgz", deadline=deadline, registered_on=date(2026, 5, 4))
        with open_site(app.registry) as site:
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, who in [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")]:
                u = site["users"][who]
                wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), site=site)
            transaction.commit()
    return item_id


def test_seed004_2_5_extension_after_expiry_is_refused(app, testapp, make_item):
    # 「因客观条件不具备、确实不能在规定期限内办结的事项，由承办单位在到期前向县政府督查室书面说明原因…
    # 经县政府领导同意后更改办结时限」: 办结时限 2026-05-29 expires at 2026-05-29 23:59:59
    item_id = _in_progress(app, make_item, date(2026, 5, 29))
    handler = api(testapp, "handler")
    body = {"new_deadline": "2026-06-30", "reason": "征地手续未完成"}
    with frozen_now(at(2026, 5, 30, 0, 0, 1)):
        refused = handler.post(f"/api/v1/items/{item_id}/transitions/request_extension", body, status=409).json
    assert "到期前" in refused["message"] and "2026-05-29 23:59" in refused["message"]
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.state == "in_progress" and item.history[-1]["transition"] == "accept"
    # one minute before the end of the last day it is still in time
    with frozen_now(at(2026, 5, 29, 23, 59)):
        ok = handler.post(f"/api/v1/items/{item_id}/transitions/request_extension", body).json
    assert ok["state"] == "extension_requested"
