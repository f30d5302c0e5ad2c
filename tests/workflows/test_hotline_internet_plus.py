"""12345 tickets (seed 003) and 互联网+督查 items (seed 000): their clocks and rules."""

from datetime import datetime

import pytest
import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.timeutil import CST, frozen_now
from duban_archive.workflows.commands import run_automatic
from duban_archive.workflows.deadlines import item_deadlines
from duban_archive.workflows.engine import WorkflowError

from .helpers import attach, available, fire


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


def dues(item) -> dict[str, str]:
    return {d["name"]: d["due"] for d in item_deadlines(item)}


def test_hotline_clock_decline_twice_and_visit(app, make_item):
    reg = app.registry
    ids = [make_item("hotline", ticket_kind=kind, lead_unit="zjj") for kind in ("complaint", "consultation")]
    with open_site(reg) as site:
        ticket, quick = (site.get_item(i) for i in ids)
        with frozen_now(at("2026-02-13 15:00")):  # Friday afternoon before the Spring Festival
            fire(reg, site, ticket, "dispatch", "supervisor")
        got = dues(ticket)
        assert got["sign_by"] == "2026-02-14T12:00:00+08:00"  # make-up Saturday noon
        assert got["decline_by"] == "2026-02-14T23:59:59+08:00"
        assert got["limit"] == "2026-03-02T23:59:59+08:00"  # complaint: 7 working days
        with frozen_now(at("2026-02-14 10:00")):
            fire(reg, site, ticket, "decline", "unit_head", reason="不属于本单位职责")
            assert not getattr(ticket, "improper_decline", False)
            fire(reg, site, ticket, "dispatch", "supervisor")  # the platform sends it back to the same unit
            assert dues(ticket)["sign_by"] == "2026-02-14T17:30:00+08:00"
            fire(reg, site, ticket, "decline", "handler", reason="仍不属于")
        assert ticket.improper_decline is True and ticket.improper_declines == ("zjj",)  # 不当退单
        with frozen_now(at("2026-03-09 09:00")):  # Monday morning
            fire(reg, site, quick, "dispatch", "supervisor")
            assert dues(quick)["sign_by"] == "2026-03-09T17:30:00+08:00"
            assert dues(quick)["limit"] == "2026-03-10T23:59:59+08:00"  # consultation: 1 working day
            assert available(reg, site, quick, "handler2") == set()
        with frozen_now(at("2026-03-11 08:00")):  # the decline window is over: 视同签收
            with pytest.raises(WorkflowError) as exc:
                fire(reg, site, quick, "decline", "unit_head", reason="晚了")
            assert "视同" in exc.value.message
            assert run_automatic(site, reg) == 1
            assert quick.state == "in_progress" and quick.history[-1]["actor"] == "system"
            assert quick.history[-1]["transition"] == "deemed_accepted"
            assert run_automatic(site, reg) == 0  # idempotent
            # seed 003 「在规定办理时限届满前1个工作日 … 提出延期报备」: the limit ended on 03-10, too late now
            # (延期 in time: tests/seed003/test_annex2_4_4_extension.py)
            with pytest.raises(WorkflowError) as exc:
                fire(reg, site, quick, "request_extension", "unit_head", days=1, reason="需现场核实")
            assert "延期申请时限已过" in exc.value.fields["days"]
            fire(reg, site, quick, "reply", "handler", reply="已答复政策依据", approved_by="王科长")
            fire(reg, site, quick, "return", "supervisor", reason="未注明文号")
            fire(reg, site, quick, "reply", "handler", reply="补充文号", approved_by="王科长")
            fire(reg, site, quick, "approve_reply", "supervisor")
            assert "limit" not in dues(quick)
            with pytest.raises(WorkflowError) as exc:
                fire(reg, site, quick, "close", "supervisor", satisfaction="dissatisfied", claim_reasonable=True,
                     grade="C")
            assert "重办" in exc.value.fields["satisfaction"]
            fire(reg, site, quick, "redo", "supervisor", reason="诉求合理，未解决")
            assert quick.state == "in_progress" and quick.redo_count == 1
            assert dues(quick)["limit"] == "2026-03-12T23:59:59+08:00"
            fire(reg, site, quick, "reply", "handler", reply="已解决", approved_by="王科长")
            fire(reg, site, quick, "approve_reply", "supervisor")
            fire(reg, site, quick, "close", "supervisor", satisfaction="basically_satisfied", grade="B")
        assert quick.state == "closed" and quick.satisfaction == "basically_satisfied"
        transaction.commit()


def test_internet_plus_stages_in_working_days(app, make_item):
    reg = app.registry
    ids = [make_item("internet_plus", plan_needed=flag) for flag in (False, True)]
    with open_site(reg) as site:
        solvable, planned = (site.get_item(i) for i in ids)
        with frozen_now(at("2026-09-29 10:00")):  # Tuesday before National Day
            for item in (solvable, planned):
                fire(reg, site, item, "approve", "leader")
                fire(reg, site, item, "assign", "supervisor")
        got = dues(solvable)
        assert got["receive"] == "2026-09-29T23:59:59+08:00"
        assert got["deploy"] == "2026-09-30T23:59:59+08:00"
        assert got["verify"] == "2026-10-08T23:59:59+08:00"
        assert got["follow_up"] == "2026-10-12T23:59:59+08:00"  # 5 WD: 9-30, 10-8, 10-9, 10-10, 10-12
        assert dues(planned)["follow_up"] == "2026-10-14T23:59:59+08:00"  # 7 WD
        lights = {d["name"]: d["light"] for d in item_deadlines(solvable, at("2026-10-09 09:00"))}
        assert lights["verify"] == "red" and lights["follow_up"] == "green"
        lights = {d["name"]: d["light"] for d in item_deadlines(solvable, at("2026-10-10 09:00"))}
        assert lights["follow_up"] == "yellow"  # the 3rd working day is over: inside the 3-5 window
        with frozen_now(at("2026-10-09 09:00")):
            fire(reg, site, solvable, "accept", "unit_head")
            fire(reg, site, solvable, "deploy", "unit_head", arrangement="部署")
            fire(reg, site, solvable, "verify", "handler", findings="属实", confirmed=True)
            assert set(dues(solvable)) == {"follow_up", "due"}  # stage deadlines met; 办结时限 remains
            fire(reg, site, solvable, "improve", "handler", measures="整改")
            with pytest.raises(WorkflowError) as exc:
                fire(reg, site, solvable, "report", "unit_head", signed_by="张局长", sealed=True)
            assert exc.value.status == 400 and "attachments" in exc.value.fields
            attach(reg, site, solvable)
            with pytest.raises(WorkflowError) as exc:
                fire(reg, site, solvable, "report", "unit_head", signed_by="张局长")
            assert "公章" in exc.value.fields["sealed"]
            fire(reg, site, solvable, "report", "unit_head", signed_by="张局长", sealed=True)
            fire(reg, site, solvable, "request_closure", "unit_head")
            fire(reg, site, solvable, "review", "supervisor")
            fire(reg, site, solvable, "close", "leader", grade="A")
        assert solvable.state == "closed" and solvable.next_due is None
