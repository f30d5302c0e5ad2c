"""``tick`` also fires time-driven workflow transitions (12345: 超过退单时限视同签收)."""

from datetime import datetime

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.notifications.delivery import run_tick
from duban_archive.timeutil import CST, frozen_now


def test_tick_accepts_a_ticket_nobody_declined_in_time(app, make_item):
    reg = app.registry
    ticket_id = make_item("hotline", ticket_kind="consultation", lead_unit="zjj")
    with open_site(reg) as site:
        with frozen_now(datetime(2026, 3, 9, 9, 0, tzinfo=CST)):  # Monday morning dispatch
            reg.duban_workflows["hotline"].fire(site.get_item(ticket_id), "dispatch", "supervisor",
                                                ["role:supervisor"], site=site)
        transaction.commit()
    early = run_tick(reg, moment=datetime(2026, 3, 9, 18, 0, tzinfo=CST))
    late = run_tick(reg, moment=datetime(2026, 3, 11, 8, 0, tzinfo=CST))
    again = run_tick(reg, moment=datetime(2026, 3, 11, 8, 5, tzinfo=CST))
    assert (early.automatic, late.automatic, again.automatic) == (0, 1, 0)
    with open_site(reg) as site:
        ticket = site.get_item(ticket_id)
        assert ticket.state == "in_progress"
        assert ticket.history[-1]["transition"] == "deemed_accepted"
