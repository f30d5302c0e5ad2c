"""销毁 through the JSON API: request, reject, approve, the worklist and the 销毁清册, by the same rules
as the forms (two people, expired retention, legal hold); refusals change nothing; 410 afterwards.
Plus two approvers approving one request at once against a real server process: one purge."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import transaction
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import DEMO_PASSWORD, api, http_call, run_threads
from duban_archive.timeutil import frozen_now

from ..archive.conftest import close_item
from ..archive.test_disposal import REQUEST, _expired, _filed


@pytest.fixture
def closed_item(app, make_item):
    """Factory: a closed item without attachments (the archive tests' fixture adds some; not needed here)."""
    def factory(photos: int = 0, signed: int = 0, **fields) -> str:
        item_id = make_item(**fields)
        with open_site(app.registry) as site:
            close_item(app.registry, site.get_item(item_id))
            transaction.commit()
        return item_id

    return factory


def _requests(app, item_id: str) -> list[str]:
    with open_site(app.registry) as site:
        return [r["state"] for r in getattr(site["archive"][item_id], "disposal_requests", ())]


def test_request_reject_approve_and_register(app, testapp, closed_item):
    item_id, year = _filed(app, closed_item, title="旧档销毁测试")
    officer, approver, handler = (api(testapp, u) for u in ("records_officer", "approver", "handler"))
    url = f"/api/v1/items/{item_id}/disposal"
    res = officer.post(url, REQUEST, status=409)
    assert "保管期限未满" in res.json["message"]
    with frozen_now(_expired(year)):
        assert handler.post(url, REQUEST, status=403).json["error"] == "forbidden"
        approver.post(url, REQUEST, status=403)  # the approver does not ask
        res = officer.post(url, {"reason": "", "opinion": " ", "approver": "王主任"}, status=400)
        assert res.json["fields"] == {"reason": "请填写销毁理由", "opinion": "请填写鉴定意见",
                                      "approver": "不允许的字段（未知字段）"}
        officer.post(f"/api/v1/items/{item_id}/legal-hold", {"hold": True, "reason": "审计调查"})
        assert "冻结" in officer.post(url, REQUEST, status=409).json["message"]
        officer.post(f"/api/v1/items/{item_id}/legal-hold", {"hold": False})
        assert _requests(app, item_id) == []  # every refusal changed nothing
        res = officer.post(url, REQUEST, status=201)
        assert res.json["state"] == "pending" and res.json["requested_by"] == "records_officer"
        officer.post(url, REQUEST, status=409)
        assert [d["item_id"] for d in approver.get("/api/v1/disposals").json] == [item_id]
        handler.get("/api/v1/disposals", status=403)
        # the records officer cannot approve; the approver rejects with a reason, then approves a new request
        assert officer.post(f"{url}/approve", status=403).json["error"] == "forbidden"
        res = approver.post(f"{url}/reject", {}, status=400)
        assert res.json["fields"] == {"reason": "请填写驳回理由"}
        res = approver.post(f"{url}/reject", {"reason": "请补充鉴定意见"})
        assert res.json["state"] == "rejected" and res.json["decided_by"] == "approver"
        approver.post(f"{url}/approve", status=409)
        officer.post(url, REQUEST, status=201)
        entry = approver.post(f"{url}/approve").json
    assert entry["archival_code"] and entry["approved_by"] == "approver" and entry["title"] == "旧档销毁测试"
    assert {f["kind"] for f in entry["files"]} == {"归档包", "档案PDF"}
    assert all(len(f["sha256"]) == 64 and len(f["sm3"]) == 64 for f in entry["files"])
    assert _requests(app, item_id) == ["rejected", "approved"]
    # afterwards: the item answers 410 with an error code, the record still says what happened
    res = officer.get(f"/api/v1/items/{item_id}", status=410)
    assert res.json["error"] == "gone" and res.json["archival_code"] == entry["archival_code"]
    state = officer.get(url).json
    assert state["request"]["state"] == "approved" and state["disposal"]["audit_key"] == entry["audit_key"]
    register = api(testapp, "auditor").get("/api/v1/disposal-register").json
    assert [e["archival_code"] for e in register] == [entry["archival_code"]]
    handler.get("/api/v1/disposal-register", status=403)
    ws = load_workbook(io.BytesIO(officer.get("/api/v1/disposal-register.xlsx").body)).active
    assert ws["B3"].value == entry["archival_code"]


def test_openapi_describes_the_disposal_routes(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    for path, method in (("/api/v1/items/{id}/disposal", "post"), ("/api/v1/items/{id}/disposal", "get"),
                         ("/api/v1/items/{id}/disposal/approve", "post"),
                         ("/api/v1/items/{id}/disposal/reject", "post"),
                         ("/api/v1/disposals", "get"), ("/api/v1/disposal-register", "get"),
                         ("/api/v1/disposal-register.xlsx", "get"), ("/api/v1/disposal-register.pdf", "get")):
        assert method in spec["paths"][path], (path, method)
    # every URL of an item or attachment may answer 410 gone; the disposal routes (on the record) do not
    assert "410" in spec["paths"]["/api/v1/items/{id}"]["get"]["responses"]
    assert "410" in spec["paths"]["/api/v1/attachments/{id}/content"]["get"]["responses"]
    assert "410" not in spec["paths"]["/api/v1/items/{id}/disposal/approve"]["post"]["responses"]


def _prepare_live_site(server, monkeypatch) -> str:
    """Before the server starts: a D10 record of 年度 2012 with a pending request, and a second approver."""
    from duban_archive.archive.disposal import request_disposal
    from duban_archive.archive.filing import file_item
    from duban_archive.content_types.actions import create_item
    from duban_archive.scripts.env import load_registry
    from duban_archive.security.roles import user_principals
    from duban_archive.security.users import User

    done = server.cli("init", str(server.ini), "--demo=empty")
    assert done.returncode == 0, done.stderr
    server.initialised = True
    monkeypatch.setenv("DUBAN_VAR_DIR", str(server.var))
    registry = load_registry(str(server.ini))
    try:
        with frozen_now(datetime(2012, 3, 1, 9, 0)), open_site(registry) as site:
            item = create_item(site, site.boards["rcgl"], {
                "title": "二〇一二年并发销毁测试", "source": "区政府常务会议", "content": "完成清淤",
                "requirement": "按月报送进展", "lead_unit": "zjj", "assist_units": {"jtj"},
                "registered_on": datetime(2012, 3, 1).date(), "deadline": datetime(2012, 6, 30).date()}, "supervisor",
                registry)
            wf = registry.duban_workflows[item.workflow]
            from ..archive.conftest import PATH

            for name, actor, principals, data in PATH:
                wf.fire(item, name, actor, principals, data)
            users = site["users"]
            file_item(site, item, registry, retention="D10", actor="records_officer",
                      principals=user_principals("records_officer", ("records_officer",), "zfb"))
            second = users.add_user(User("approver2", "档案室 钱审批", roles=("disposal_approver",), unit="zfb"))
            second.set_password(DEMO_PASSWORD)
            second.must_change_password = False
            item_id = item.item_id
            transaction.commit()
        with frozen_now(datetime(2026, 1, 5, 9, 0)), open_site(registry) as site:
            request_disposal(site, item_id, REQUEST, actor="records_officer")
            transaction.commit()
    finally:
        registry._zodb_databases[""].close()
    return item_id


@pytest.mark.slow
def test_two_approvers_at_once_purge_once(tmp_path, monkeypatch):
    from duban_archive.testing import LiveServer

    server = LiveServer(tmp_path / "s", storage="zeo")
    item_id = _prepare_live_site(server, monkeypatch)
    server.start()
    try:
        tokens = {u: server.token(u) for u in ("approver", "approver2")}
        answers: list[tuple[int, object]] = []

        def approve(k: int) -> None:
            user = ("approver", "approver2")[k]
            answers.append(http_call(server.base, tokens[user], "POST", f"/api/v1/items/{item_id}/disposal/approve"))

        assert run_threads(2, approve) == []
        statuses = sorted(s for s, _ in answers)
        assert statuses == [200, 409], answers
        refused = next(res for s, res in answers if s == 409)
        assert refused["error"] == "already_decided" and "已由" in refused["message"], refused
        status, register = http_call(server.base, tokens["approver"], "GET", "/api/v1/disposal-register")
        assert status == 200 and len(register) == 1
        status, res = http_call(server.base, tokens["approver"], "GET", f"/api/v1/items/{item_id}")
        assert status == 410 and res["error"] == "gone"
    finally:
        server.stop()
    from .test_concurrent_writes import stored_audit

    purges = [e for e in stored_audit(server.var) if e["action"] == "dispose"]
    assert len(purges) == 1
