"""The 督办 workflow (seeds 001, 002, 004) through the Python API on a real FileStorage."""

from datetime import date, datetime

import pytest
import transaction

from duban_archive.content_types.actions import add_feedback, edit_item
from duban_archive.content_types.site_access import open_site
from duban_archive.timeutil import CST, frozen_now
from duban_archive.workflows.deadlines import item_deadlines
from duban_archive.workflows.engine import WorkflowError

from .helpers import add_user, available, fire

T0 = datetime(2026, 3, 9, 9, 0, tzinfo=CST)  # a Monday


def _to_progress(registry, site, item, problem_kind="general"):
    fire(registry, site, item, "approve", "leader")
    fire(registry, site, item, "assign", "supervisor", problem_kind=problem_kind)
    fire(registry, site, item, "accept", "unit_head")


def test_full_lifecycle_ends_closed_with_history_and_lights(app, make_item):
    reg = app.registry
    item_id = make_item(deadline=date(2026, 4, 30))
    with frozen_now(T0), open_site(reg) as site:
        item = site.get_item(item_id)
        assert available(reg, site, item, "leader") == {"approve"}
        assert available(reg, site, item, "supervisor") == set()
        fire(reg, site, item, "approve", "leader")
        fire(reg, site, item, "assign", "supervisor", problem_kind="general")
        names = {d["name"]: d for d in item_deadlines(item, T0)}
        assert names["accept_by"]["due"] == "2026-03-09T23:59:59+08:00"
        assert names["report_3d"]["due"] == "2026-03-12T09:00:00+08:00"
        assert names["solve"]["due"] == "2026-03-16T09:00:00+08:00"
        assert names["due"]["due"] == "2026-04-30T23:59:59+08:00"
        assert item.next_due == datetime(2026, 3, 9, 23, 59, 59, tzinfo=CST)
        assert available(reg, site, item, "unit_head") == {"accept", "decline"}
        assert available(reg, site, item, "handler2") == set()  # assisting unit cannot sign for it
        fire(reg, site, item, "accept", "unit_head")
        assert "accept_by" not in {d["name"] for d in item_deadlines(item, T0)}
        add_feedback(site, item, {"done": "已部署", "progress": "施工中", "next_steps": "验收"}, "handler", reg)
        assert "report_3d" not in {d["name"] for d in item_deadlines(item, T0)}  # 3 天反馈 met
        fire(reg, site, item, "request_closure", "handler")
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "return", "supervisor")
        assert exc.value.status == 400 and "reason" in exc.value.fields
        fire(reg, site, item, "return", "supervisor", reason="照片不全")
        assert item.state == "in_progress"
        fire(reg, site, item, "request_closure", "handler")
        fire(reg, site, item, "review", "supervisor")
        fire(reg, site, item, "close", "leader", grade="B")
        assert item.state == "closed" and item.next_due is None and item_deadlines(item) == []
        assert [h["transition"] for h in item.history] == [
            "", "approve", "assign", "accept", "request_closure", "return", "request_closure", "review", "close"]
        assert item.history[5]["fields"] == {"reason": "照片不全"}
        assert item.history[2]["deadlines"][0]["name"] == "accept_by"
        # ready for filing: only the records officer sees it in 待归档, and no button offers `file`
        assert available(reg, site, item, "records_officer") == set()
        fire(reg, site, item, "file", "records_officer")
        assert item.state == "archived"
        trail = [e for e in site["audit"].for_target(item_id) if e["action"] == "transition"]
        assert len(trail) == 9 and trail[-1]["new"] == "archived"
        transaction.commit()


def test_decline_needs_a_reason_and_goes_back_to_the_supervisor(app, make_item):
    reg = app.registry
    item_id = make_item()
    with open_site(reg) as site:
        item = site.get_item(item_id)
        fire(reg, site, item, "approve", "leader")
        fire(reg, site, item, "assign", "supervisor")
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "decline", "unit_head", reason="  ")
        assert exc.value.status == 400 and exc.value.fields["reason"]
        assert item.state == "assigned" and len(item.history) == 3  # nothing changed
        fire(reg, site, item, "decline", "unit_head", reason="不属于本单位职责")
        assert item.state == "declined"
        assert available(reg, site, item, "supervisor") == {"assign"}


def test_extension_once_at_most_two_months_with_leader_approval(app, make_item):
    reg = app.registry
    item_id = make_item(deadline=date(2026, 4, 30))
    with frozen_now(T0), open_site(reg) as site:
        item = site.get_item(item_id)
        _to_progress(reg, site, item)
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "request_extension", "unit_head", new_deadline="2026-07-15", reason="征地未完成")
        assert exc.value.status == 400 and "2 个月" in exc.value.fields["new_deadline"]
        fire(reg, site, item, "request_extension", "unit_head", new_deadline="2026-06-30", reason="征地未完成")
        assert item.state == "extension_requested"
        assert "request_extension" not in available(reg, site, item, "unit_head")
        fire(reg, site, item, "approve_extension", "leader")
        assert item.deadline == date(2026, 6, 30)
        assert {d["name"]: d["due"] for d in item_deadlines(item)}["due"] == "2026-06-30T23:59:59+08:00"
        assert "request_extension" not in available(reg, site, item, "unit_head")  # only once
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "request_extension", "unit_head", new_deadline="2026-07-10", reason="再延")
        assert exc.value.status == 403 and "只能延期一次" in exc.value.message


def test_transfer_changes_the_lead_unit_and_the_acl(app, make_item):
    reg = app.registry
    item_id = make_item(lead_unit="zjj", assist_units={"jtj"})
    with open_site(reg) as site:
        item = site.get_item(item_id)
        _to_progress(reg, site, item)
        with pytest.raises(WorkflowError):
            fire(reg, site, item, "request_transfer", "unit_head", new_lead_unit="zjj", reason="同一单位")
        fire(reg, site, item, "request_transfer", "unit_head", new_lead_unit="cgj", reason="属城管职责")
        assert item.lead_unit == "zjj"  # nothing moves before approval
        fire(reg, site, item, "approve_transfer", "leader")
        assert item.lead_unit == "cgj" and item.state == "assigned"
        viewers = {p for _, p, perm in item.__acl__ if perm == "view"}
        assert "unit:cgj" in viewers and "unit:zjj" not in viewers
        assert available(reg, site, item, "unit_head") == set()  # 住建局 no longer signs for it
        edits = [e for e in site["audit"].for_target(item_id) if e["action"] == "edit"]
        assert edits[-1]["old"] == "zjj" and edits[-1]["new"] == "cgj"


def test_long_running_reporting_cadence_follows_the_plan_length(app, make_item):
    reg = app.registry
    cases = [(date(2026, 5, 1), "2026-03-16"), (date(2026, 7, 20), "2026-03-23"), (date(2026, 12, 1), "2026-04-09")]
    ids = [make_item("zdgc") for _ in cases]  # the 重点工程 cadence (seed 002 重点工程项目督办制度 四（一）4)
    with frozen_now(T0), open_site(reg) as site:
        for item_id, (plan_until, first_report) in zip(ids, cases, strict=True):
            item = site.get_item(item_id)
            _to_progress(reg, site, item, problem_kind="major")
            fire(reg, site, item, "request_long_running", "handler", plan="分三期推进",
                 plan_until=plan_until.isoformat())
            fire(reg, site, item, "approve_long_running", "supervisor")
            got = {d["name"]: d["due"] for d in item_deadlines(item)}
            assert got["next_report"].startswith(first_report), (plan_until, got)
            assert "solve" not in got


def test_long_running_feedback_restarts_the_reporting_clock(app, make_item):
    reg = app.registry
    item_id = make_item("zdgc")
    with open_site(reg) as site:
        with frozen_now(T0):
            item = site.get_item(item_id)
            _to_progress(reg, site, item)
            fire(reg, site, item, "request_long_running", "handler", plan="方案", plan_until="2026-05-01")
            fire(reg, site, item, "approve_long_running", "supervisor")
        with frozen_now(datetime(2026, 3, 13, 10, 0, tzinfo=CST)):
            add_feedback(site, item, {"done": "一期", "progress": "50%", "next_steps": "二期"}, "handler", reg)
        got = {d["name"]: d["due"] for d in item_deadlines(item)}
        assert got["next_report"] == "2026-03-20T10:00:00+08:00"


def test_cancel_needs_two_different_leaders(app, make_item):
    reg = app.registry
    item_id = make_item()
    with open_site(reg) as site:
        add_user(site, "leader2", ("leader",), "zfb")
        item = site.get_item(item_id)
        _to_progress(reg, site, item)
        fire(reg, site, item, "request_cancel", "unit_head", reason="规划调整，暂不具备落实条件")
        fire(reg, site, item, "review_cancel", "leader")
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "cancel", "leader")
        assert exc.value.status == 403
        fire(reg, site, item, "cancel", "leader2")
        assert item.state == "closed"


def test_editing_the_deadline_moves_the_due_light(app, make_item):
    reg = app.registry
    item_id = make_item(deadline=date(2026, 4, 30))
    with open_site(reg) as site:
        item = site.get_item(item_id)
        edit_item(site, item, {"deadline": date(2026, 5, 31)}, "supervisor", reg)
        assert {d["name"]: d["due"] for d in item_deadlines(item)}["due"] == "2026-05-31T23:59:59+08:00"
        assert item.next_due == datetime(2026, 5, 31, 23, 59, 59, tzinfo=CST)


def test_wrong_role_and_stale_state_are_403_and_409(app, make_item):
    reg = app.registry
    item_id = make_item()
    with open_site(reg) as site:
        item = site.get_item(item_id)
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "approve", "supervisor")
        assert exc.value.status == 403
        fire(reg, site, item, "approve", "leader")
        with pytest.raises(WorkflowError) as exc:
            fire(reg, site, item, "approve", "leader")
        assert exc.value.status == 409 and "已审签" in exc.value.message
