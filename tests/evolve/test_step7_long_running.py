"""Evolve step 7: 持续推进 items of monthly boards lose the weekly 重点工程 clock they were given."""

from datetime import date, datetime, timedelta

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import long_running_monthly_reports
from duban_archive.security.roles import user_principals
from duban_archive.timeutil import CST, frozen_now
from duban_archive.workflows import deadlines as dl


def _long_running(app, make_item, board, moment):
    with frozen_now(moment):
        item_id = make_item(board, deadline=date(2026, 6, 30), registered_on=moment.date())
        with open_site(app.registry) as site:
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, who, data in [("approve", "leader", None), ("assign", "supervisor", None),
                                    ("accept", "unit_head", None),
                                    ("request_long_running", "handler", {"plan": "分期", "plan_until": "2026-12-20"}),
                                    ("approve_long_running", "supervisor", None)]:
                u = site["users"][who]
                wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), data, site=site)
            transaction.commit()
    return item_id


def test_seed002_step7_weekly_clock_of_a_monthly_board_becomes_monthly(app, make_item):
    moment = datetime(2026, 5, 12, 9, 0, tzinfo=CST)
    zdgz = _long_running(app, make_item, "zdgz", moment)
    zdgc = _long_running(app, make_item, "zdgc", moment)
    with open_site(app.registry) as site:
        assert [name for _, name, _ in pending(site)] == []  # a new site is born at generation 7
        item = site.get_item(zdgz)
        old = dict(dl.open_deadlines(item))
        weekly = {**old.pop("monthly_report"), "name": "next_report", "due": moment + timedelta(days=7)}
        dl.store(item, {**old, "next_report": weekly})  # as the code before issue 14 left it
        transaction.commit()
    with frozen_now(moment), open_site(app.registry) as site:
        message = long_running_monthly_reports(site, app.registry)
        transaction.commit()
    assert message.startswith("1 个持续推进事项改为按月报送进展")
    with open_site(app.registry) as site:
        got = dl.open_deadlines(site.get_item(zdgz))
        assert "next_report" not in got and got["monthly_report"]["due"] == datetime(2026, 5, 31, 23, 59, 59,
                                                                                   tzinfo=CST)
        assert "next_report" in dl.open_deadlines(site.get_item(zdgc))  # 重点工程 keeps its cadence
