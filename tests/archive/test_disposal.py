"""销毁 as the domain decides it: two people, expired retention, legal hold, and a purge that leaves
nothing of the record's content in Data.fs, the blob directory, the index or any URL — only the
销毁清册 entry with the digests of what was destroyed."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
import transaction

from duban_archive.archive.disposal import (
    approve_disposal,
    pending_requests,
    register,
    reject_disposal,
    request_disposal,
)
from duban_archive.archive.filing import file_item, set_legal_hold
from duban_archive.content_types.actions import add_attachment, add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.errors import Refusal
from duban_archive.testing import api, login
from duban_archive.timeutil import frozen_now

from .conftest import OFFICER

#: in the item's 内容, a feedback text and an uploaded original: must be gone after the purge and a pack
MARKER = "QZXDESTROYME7391"
#: a word of the title: must no longer be found by search
TITLE_WORD = "鸳鸯湖清淤"
REQUEST = {"reason": "保管期限届满", "opinion": "经鉴定小组鉴定，已无继续保存价值"}


def _expired(year: int) -> datetime:
    return datetime(year + 11, 1, 5, 9, 0)  # D10 of 年度 year runs out at the end of year + 10


def _filed(app, closed_item, **fields) -> tuple[str, int]:
    item_id = closed_item(photos=0, signed=0, board="rcgl", **fields)  # 日常管理事项: 定期10年
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention=None, actor="records_officer",
                        principals=OFFICER)
        year = rec.year
        transaction.commit()
    return item_id, year


def _refused(fn, *args, **kw) -> Refusal:
    with pytest.raises(Refusal) as info:
        fn(*args, **kw)
    transaction.abort()
    return info.value


def test_two_people_expired_retention_and_legal_hold(app, closed_item):
    item_id, year = _filed(app, closed_item)
    with open_site(app.registry) as site:
        # not before the 保管期限 ran out
        exc = _refused(request_disposal, site, item_id, REQUEST, actor="records_officer")
        assert exc.status == 409 and "保管期限未满" in exc.message
        with frozen_now(_expired(year)):
            # only the records officer asks, and with both reason and 鉴定意见
            assert _refused(request_disposal, site, item_id, REQUEST, actor="handler").status == 403
            exc = _refused(request_disposal, site, item_id, {"reason": " ", "opinion": ""}, actor="records_officer")
            assert exc.status == 400 and exc.fields == {"reason": "请填写销毁理由", "opinion": "请填写鉴定意见"}
            # a legal hold blocks the request
            set_legal_hold(site, item_id, hold=True, reason="审计调查", actor="records_officer")
            exc = _refused(request_disposal, site, item_id, REQUEST, actor="records_officer")
            assert exc.status == 409 and "冻结" in exc.message and "审计调查" in exc.message
            set_legal_hold(site, item_id, hold=False, reason="", actor="records_officer")
            request_disposal(site, item_id, REQUEST, actor="records_officer")
            transaction.commit()
            assert [r.item_id for r, _ in pending_requests(site)] == [item_id]
            assert _refused(request_disposal, site, item_id, REQUEST, actor="records_officer").status == 409
            # the approver is an account holding the role — never the requester, never a typed name
            exc = _refused(approve_disposal, site, item_id, actor="records_officer", registry=app.registry)
            assert exc.status == 403 and "档案鉴定审批人" in exc.message
            site["users"]["records_officer"].roles = ("records_officer", "disposal_approver")
            transaction.commit()
            exc = _refused(approve_disposal, site, item_id, actor="records_officer", registry=app.registry)
            assert exc.status == 403 and "不能审批自己提出的销毁申请" in exc.message
            # a hold set after the request still blocks the approval
            set_legal_hold(site, item_id, hold=True, reason="诉讼", actor="records_officer")
            transaction.commit()
            exc = _refused(approve_disposal, site, item_id, actor="approver", registry=app.registry)
            assert exc.status == 409 and "诉讼" in exc.message
            set_legal_hold(site, item_id, hold=False, reason="", actor="records_officer")
            # rejection needs a reason, and leaves the record as it was
            exc = _refused(reject_disposal, site, item_id, {"reason": ""}, actor="approver")
            assert exc.fields == {"reason": "请填写驳回理由"}
            reject_disposal(site, item_id, {"reason": "鉴定意见不充分"}, actor="approver")
            transaction.commit()
            assert pending_requests(site) == [] and site.get_item(item_id) is not None
            assert _refused(approve_disposal, site, item_id, actor="approver", registry=app.registry).status == 409
            actions = [e["action"] for e in site["audit"].for_target(item_id)]
            assert actions.count("disposal_request") == 1 and "disposal_reject" in actions
            assert "dispose" not in actions and site["archive"][item_id].disposed is None


def test_a_transferred_record_is_destroyed_by_its_receiver_not_here(app, closed_item):
    """Once 移交 to the 档案馆 the record is in the receiver's custody: the office may not destroy it
    unless the transfer is cancelled first."""
    from duban_archive.archive.transfer import cancel_transfer, create_transfer, transfer_schema
    from duban_archive.validation import validate

    from .test_transfer import FORM

    item_id, year = _filed(app, closed_item)
    with open_site(app.registry) as site:
        t = create_transfer(site, validate(transfer_schema(), {**FORM, "items": [item_id]}), actor="records_officer")
        tid = t.transfer_id
        transaction.commit()
        with frozen_now(_expired(year)):
            exc = _refused(request_disposal, site, item_id, REQUEST, actor="records_officer")
            assert exc.status == 409 and "移交县档案馆" in exc.message and tid in exc.message
            cancel_transfer(site, tid, actor="records_officer", reason="载体无法读取")
            transaction.commit()
            request_disposal(site, item_id, REQUEST, actor="records_officer")
            transaction.commit()
            assert [r.item_id for r, _ in pending_requests(site)] == [item_id]


def test_permanent_records_are_never_destroyed(app, closed_item):
    item_id = closed_item(photos=0, signed=0)  # 重点工作任务 -> 永久
    with open_site(app.registry) as site:
        file_item(site, site.get_item(item_id), app.registry, retention=None, actor="records_officer",
                  principals=OFFICER)
        transaction.commit()
        with frozen_now(datetime(2999, 1, 1)):
            exc = _refused(request_disposal, site, item_id, REQUEST, actor="records_officer")
    assert "永久保管的档案不得销毁" in exc.message


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def _listed(app, board: str) -> list[str]:
    from duban_archive.catalog.listing import query_items

    with open_site(app.registry) as site:
        _total, items = query_items(site, ["role:supervisor", "role:records_officer"], board=board, limit=500)
        return [i.item_id for i in items]


def _search_hits(testapp, q: str) -> int:
    return api(testapp, "supervisor").get("/api/v1/search", params={"q": q}).json["total"]


def test_approval_purges_every_byte_and_leaves_the_register_entry(app, testapp, closed_item, var_dir):
    from duban_archive.storage.maintenance import pack

    item_id, year = _filed_with_marker(app, closed_item)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        board = item.board_id
        originals = {a.__name__: (a.filename, a.sha256, a.sm3) for a in item.attachments.values()}
        rec = site["archive"][item_id]
        packages = [(v.sha256, v.sm3, v.dossier_sha256) for v in rec.versions]
        code = rec.archival_code
    assert len(originals) == 1 and packages
    assert item_id in _listed(app, board)
    needle = MARKER.encode()
    datafs, blobs = var_dir / "Data.fs", var_dir / "blobs"
    assert needle in datafs.read_bytes() and _files_holding(blobs, needle)
    assert _files_holding(var_dir / "cache", needle) and _files_holding(var_dir / "index", needle.lower())
    assert _search_hits(testapp, MARKER) == 1 and _search_hits(testapp, TITLE_WORD) >= 1
    att_id = next(iter(originals))
    officer = api(testapp, "records_officer")
    officer.get(f"/api/v1/items/{item_id}/package.zip")
    with frozen_now(_expired(year)):
        with open_site(app.registry) as site:
            request_disposal(site, item_id, REQUEST, actor="records_officer")
            transaction.commit()
            entry = approve_disposal(site, item_id, actor="approver", registry=app.registry)
            transaction.commit()
    pack(app.registry, 0)
    # gone from the database file, the blob directory, the extracted-text cache and the index files
    assert needle not in datafs.read_bytes()
    assert _files_holding(blobs, needle) == []
    assert _files_holding(var_dir / "cache", needle) == []
    assert _files_holding(var_dir / "index", needle.lower()) == []
    assert _search_hits(testapp, MARKER) == 0 and _search_hits(testapp, TITLE_WORD) == 0
    with open_site(app.registry) as site:
        assert site.get_item(item_id) is None and att_id not in site.attachment_index
        assert item_id not in site.boards[board]
    assert item_id not in _listed(app, board)  # board listing and worklists
    with open_site(app.registry) as site:
        box = site["outbox"]  # the approvers' notices named the item: gone with it
        assert item_id not in box.by_item and not any(m.item_id == item_id for m in box.messages.values())
        rec = site["archive"][item_id]
        assert list(rec.versions) == [] and rec.disposed == _expired(year).date()
        # the 销毁清册 entry: in the audit log and on the record, with every digest
        logged = [e for e in site["audit"].for_target(item_id) if e["action"] == "dispose"]
        assert len(logged) == 1 and logged[0]["actor"] == "approver"
        assert register(site)[0]["archival_code"] == code
    files = [dict(f) for f in logged[0]["files"]]
    assert {(f["sha256"], f["sm3"]) for f in files if f["kind"] == "原件"} == {(s, m) for _, s, m in originals.values()}
    assert {(f["sha256"], f["sm3"]) for f in files if f["kind"] == "归档包"} == {(s, m) for s, m, _ in packages}
    assert {f["sha256"] for f in files if f["kind"] == "档案PDF"} == {d for _, _, d in packages}
    assert all(len(f["sm3"]) == 64 for f in files)
    assert logged[0]["title"] == f"{TITLE_WORD}工程" and logged[0]["retention"] == "D10"
    assert (logged[0]["requested_by"], logged[0]["approved_by"]) == ("records_officer", "approver")
    assert logged[0]["reason"] == REQUEST["reason"] and logged[0]["opinion"] == REQUEST["opinion"]
    assert entry["pages"] > 0 and entry["pieces"] == 1
    # every URL of the item and the record: 410 naming the 销毁清册 entry
    login(testapp, "records_officer")
    for url in (f"/boards/{board}/{item_id}", f"/boards/{board}/{item_id}/@@edit",
                f"/boards/{board}/{item_id}/attachments/{att_id}/@@download", f"/archive/{item_id}"):
        res = testapp.get(url, status=410)
        assert code in res.text and "销毁清册" in res.text
    testapp.reset()
    for url in (f"/api/v1/items/{item_id}", f"/api/v1/items/{item_id}/dossier.pdf",
                f"/api/v1/items/{item_id}/package.zip", f"/api/v1/attachments/{att_id}/content"):
        res = officer.get(url, status=410)
        assert res.json["error"] == "gone" and res.json["archival_code"] == code
    # the 档案室 still lists the 档号, marked destroyed; a second approval is a clear refusal
    with open_site(app.registry) as site:
        exc = _refused(approve_disposal, site, item_id, actor="approver", registry=app.registry)
    assert exc.status == 409 and "approver" in exc.message


def _filed_with_marker(app, closed_item) -> tuple[str, int]:
    """A closed 定期10年 item whose 内容, one feedback and one original carry :data:`MARKER`, filed."""
    item_id = closed_item(photos=0, signed=0, board="rcgl", close=False, title=f"{TITLE_WORD}工程",
                          content=f"清淤内容 {MARKER}")
    from .conftest import PATH

    registry = app.registry
    with open_site(registry) as site:
        item = site.get_item(item_id)
        add_feedback(site, item, {"done": f"已清淤 {MARKER}", "progress": "完成", "next_steps": "无",
                                  "signed_by": "张局长", "sealed": True}, "handler", registry)
        add_attachment(site, item, io.BytesIO(f"会议纪要\n{MARKER}\n".encode()), "会议纪要.txt", "other",
                       "会议纪要", "handler", max_bytes=10 ** 8)
        wf = registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        transaction.commit()
    with open_site(registry) as site:
        rec = file_item(site, site.get_item(item_id), registry, retention=None, actor="records_officer",
                        principals=OFFICER)
        year = rec.year
        transaction.commit()
    return item_id, year
