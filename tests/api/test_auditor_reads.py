"""Every look an auditor (审计员) takes through the JSON API is audit-logged (issue 12).

Each read path is requested with the demo ``auditor``'s bearer token; afterwards the audit
trail has one new entry naming the item (``target``, or ``items`` for a list) and the ``via``.
Other roles' reads are not logged (downloads stay logged for everyone, as before).
"""

from __future__ import annotations

from datetime import date

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.testing import api

from .conftest import advance, png_bytes


def entries(app) -> list[dict]:
    with open_site(app.registry) as site:
        return list(site["audit"])


def reads(app, actor: str = "auditor") -> list[dict]:
    return [e for e in entries(app) if e["action"] == "view" and e["actor"] == actor]


def one_new_read(app, before: int, via: str) -> dict:
    new = reads(app)[before:]
    assert [e["via"] for e in new] == [via], new
    return new[0]


def upload_photo(testapp, item_id: str) -> str:
    return api(testapp, "handler").upload(f"/api/v1/items/{item_id}/attachments", {"kind": "photo"},
                                          [("file", "现场.png", png_bytes())]).json["id"]


def test_item_detail_records_attachments_and_audit_trail(app, testapp, in_progress):
    att = upload_photo(testapp, in_progress)
    api(testapp, "handler").post(f"/api/v1/items/{in_progress}/feedback", {"done": "已完成", "progress": "推进中"},
                                 status=201)
    auditor = api(testapp, "auditor")
    base = f"/api/v1/items/{in_progress}"
    for url, via in ((base, "api"), (base + "/feedback", "api.feedback"),
                     (base + "/instructions", "api.instructions"), (base + "/attachments", "api.attachments"),
                     (base + "/audit", "api.audit")):
        n = len(reads(app))
        auditor.get(url)
        assert one_new_read(app, n, via)["target"] == in_progress, url

    n = len(entries(app))
    res = auditor.get(f"/api/v1/attachments/{att}/content")
    assert res.body == png_bytes()
    new = entries(app)[n:]
    assert [(e["action"], e["target"], e["attachment"], e["via"]) for e in new] == [
        ("download", in_progress, att, "api")]


def test_lists_search_and_worklist_name_the_items_shown(app, testapp, in_progress, make_item):
    other = make_item(title="审计抽查：专项资金拨付")
    auditor = api(testapp, "auditor")

    n = len(reads(app))
    listed = auditor.get("/api/v1/items", params={"per_page": 1, "sort": "number"}).json
    entry = one_new_read(app, n, "api.items")
    assert entry["items"] == tuple(i["id"] for i in listed["items"]) == (in_progress,)
    assert entry["target"] == "" and entry["count"] == 1 and entry["page"] == 1

    n = len(reads(app))
    auditor.get("/api/v1/boards/zdgz/items")
    entry = one_new_read(app, n, "api.board_items")
    assert set(entry["items"]) == {in_progress, other} and entry["board"] == "zdgz"

    n = len(reads(app))
    found = auditor.get("/api/v1/search", params={"q": "专项资金"}).json
    assert [r["id"] for r in found["results"]] == [other]
    entry = one_new_read(app, n, "api.search")
    assert entry["items"] == (other,) and entry["q"] == "专项资金"

    n = len(reads(app))
    auditor.get("/api/v1/search", params={"q": "专项资金", "format": "xlsx"})
    assert one_new_read(app, n, "api.search_export")["items"] == (other,)

    with open_site(app.registry) as site:  # an auditor who also signs off sees 待审签 in the worklist
        site["users"]["auditor"].roles = ("auditor", "leader")
        transaction.commit()
    n = len(reads(app))
    buckets = auditor.get("/api/v1/worklist").json["buckets"]
    shown = {i["id"] for b in buckets for i in b["items"]}
    assert other in shown
    assert set(one_new_read(app, n, "api.worklist")["items"]) == shown


def test_exports_and_reports_name_the_items(app, testapp, in_progress, make_item):
    late = make_item(title="逾期事项", deadline=date(2025, 1, 31))
    advance(app, late, ("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head"))
    auditor = api(testapp, "auditor")

    n = len(entries(app))
    auditor.get("/api/v1/ledger.xlsx", params={"board": "zdgz"})
    new = entries(app)[n:]
    assert [(e["action"], e.get("what") or e.get("via")) for e in new] == [("export", "ledger"), ("view", "api.ledger")]
    assert set(new[1]["items"]) == {in_progress, late} and new[1]["board"] == "zdgz"

    n = len(reads(app))
    data = auditor.get("/api/v1/reports/bulletin", params={"month": "2099-12"}).json
    overdue = [o["id"] for o in data["overdue"]]
    assert late in overdue
    assert one_new_read(app, n, "api.bulletin")["items"] == tuple(overdue)

    n = len(reads(app))
    messages = auditor.get("/api/v1/outbox").json["messages"]
    about = [m["item"] for m in messages if m["item"]]
    assert about, "assigning the items queued notices about them"
    assert set(one_new_read(app, n, "api.outbox")["items"]) == set(about)


def test_dossier_preview_and_archived_downloads(app, testapp, in_progress):
    with open_site(app.registry) as site:
        item = site.get_item(in_progress)
        wf = app.registry.duban_workflows[item.workflow]
        for name, user, data in (("request_closure", "handler", {}), ("review", "supervisor", {}),
                                 ("close", "leader", {"grade": "A"})):
            u = site["users"][user]
            wf.fire(item, name, user, user_principals(u.username, u.roles, u.unit), data, site=site)
        transaction.commit()
    auditor = api(testapp, "auditor")
    url = f"/api/v1/items/{in_progress}"

    n = len(reads(app))
    assert auditor.get(url + "/dossier.pdf").body.startswith(b"%PDF")  # a preview: not filed yet
    assert one_new_read(app, n, "api.dossier_preview")["target"] == in_progress

    api(testapp, "records_officer").post(url + "/file", {})
    n = len(entries(app))
    auditor.get(url + "/dossier.pdf")
    auditor.get(url + "/package.zip")
    new = entries(app)[n:]
    assert [(e["action"], e["actor"], e["target"], e["what"], e["via"]) for e in new] == [
        ("download", "auditor", in_progress, "dossier", "api"), ("download", "auditor", in_progress, "package", "api")]


def test_other_roles_reads_are_not_logged(app, testapp, in_progress):
    att = upload_photo(testapp, in_progress)
    n = len(entries(app))
    for user in ("supervisor", "leader", "admin"):
        client = api(testapp, user)
        client.get("/api/v1/items")
        client.get("/api/v1/boards/zdgz/items")
        client.get(f"/api/v1/items/{in_progress}")
        client.get(f"/api/v1/items/{in_progress}/attachments")
        client.get(f"/api/v1/items/{in_progress}/feedback")
        client.get("/api/v1/search", params={"q": "老旧小区"})
        client.get("/api/v1/worklist")
        client.get("/api/v1/outbox")
    new = entries(app)[n:]
    assert not [e for e in new if e["action"] == "view"], new
    api(testapp, "supervisor").get(f"/api/v1/attachments/{att}/content")  # downloads: logged for everyone
    assert entries(app)[-1]["action"] == "download"
