"""Capture-time checks: uploads answer at once, the background worker verifies signatures and decodes."""

from __future__ import annotations

import time

import pytest
import transaction

from duban_archive.archive.capture import pending_ids
from duban_archive.archive.filing import file_item
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api

from .conftest import OFFICER, PATH, make_photo
from .signing import altered, signed_pdf


@pytest.fixture
def worker(app, monkeypatch):
    """The capture worker of this process, as ``duban.capture_worker = true`` runs it; stopped afterwards."""
    monkeypatch.setitem(app.registry.settings, "duban.capture_worker", "true")
    monkeypatch.setitem(app.registry.settings, "duban.capture_poll", "0.5")
    yield
    running = getattr(app.registry, "duban_capture_worker", None)
    if running is not None:
        running.stop()
        running.join(30)


def _upload(client, item_id: str, data: bytes, filename: str, kind: str):
    return client.upload(f"/api/v1/items/{item_id}/attachments", {"kind": kind, "title": filename},
                         [("file", filename, data)])


def _checked(client, item_id: str, count: int, timeout: float = 120) -> dict[str, dict]:
    """The attachments' capture_check once none is pending (the worker is polled, not faked)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {a["filename"]: a["capture_check"] for a in client.get(f"/api/v1/items/{item_id}").json["attachments"]}
        if len(found) == count and all(c["status"] != "pending" for c in found.values()):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def test_uploads_are_checked_by_the_background_worker_and_shown(app, testapp, closed_item, worker):
    item_id = closed_item(photos=0, signed=0, close=False)
    handler = api(testapp, "handler")
    first = _upload(handler, item_id, signed_pdf(), "签名报告.pdf", "signed_report")
    # the upload answered before any check ran: its attachment is waiting (待检测)
    assert first.json["capture_check"]["status"] == "pending" and first.json["capture_check"]["label"] == "待检测"
    _upload(handler, item_id, altered(signed_pdf()), "被改过的签名报告.pdf", "signed_report")
    cut = make_photo(1200, 900)
    _upload(handler, item_id, cut[: len(cut) * 4 // 10], "截断照片.jpg", "photo")
    found = _checked(handler, item_id, 3)
    assert found["签名报告.pdf"]["status"] == "verified" and found["签名报告.pdf"]["label"] == "已验证"
    assert found["签名报告.pdf"]["signatures"] == 1 and "签名完整有效" in found["签名报告.pdf"]["detail"]
    assert found["签名报告.pdf"]["checked_at"]
    assert found["被改过的签名报告.pdf"]["status"] == "signature_invalid"
    assert found["被改过的签名报告.pdf"]["label"] == "签名无效"
    assert found["截断照片.jpg"]["status"] == "undecodable" and found["截断照片.jpg"]["label"] == "无法解码"
    with open_site(app.registry) as site:
        assert pending_ids(site) == []  # the queue is empty again
        atts = {a.filename: a.original_checks for a in site.get_item(item_id).attachments.values()}
        assert atts["签名报告.pdf"]["authenticity"][0]["passed"] is True  # plain data on the attachment
    # the item page's attachment list shows the same
    from duban_archive.testing import login

    login(testapp, "handler")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    for label in ("已验证", "签名无效", "无法解码"):
        assert f">{label}</span>" in page.text
    # the item JSON's 四性 (capture stage) carries them too, and an invalid signature is a failure
    checks = handler.get(f"/api/v1/items/{item_id}").json["checks"]
    assert checks["stage"] == "capture" and checks["failed"] >= 2 and checks["conclusion"] == "不通过"


def test_filings_report_puts_the_capture_result_beside_the_filing_one(app, testapp, closed_item, worker):
    item_id = closed_item(photos=0, signed=0, close=False)
    handler = api(testapp, "handler")
    _upload(handler, item_id, signed_pdf(), "签名报告.pdf", "signed_report")
    _upload(handler, item_id, make_photo(), "现场.jpg", "photo")
    _checked(handler, item_id, 2)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        rec = file_item(site, item, app.registry, retention="D30", actor="records_officer", principals=OFFICER)
        transaction.commit()
        report = rec.current.checks
    (sig,) = [c for c in report["sections"]["authenticity"] if c["id"] == "authenticity.signature"]
    assert sig["passed"] is True and sig["at_capture"] == "通过" and "采集时（" in sig["detail"]
    decoded = [c for c in report["sections"]["usability"] if c["id"] == "usability.original"]
    assert len(decoded) == 2 and all(c["at_capture"] == "通过" and "采集时（" in c["detail"] for c in decoded)


def test_without_a_worker_uploads_stay_pending_until_the_command_runs(app, testapp, closed_item):
    from duban_archive.archive.capture import run_pending

    item_id = closed_item(photos=0, signed=0, close=False)
    handler = api(testapp, "handler")
    res = _upload(handler, item_id, make_photo(), "现场.jpg", "photo")
    assert res.json["capture_check"]["status"] == "pending"
    assert getattr(app.registry, "duban_capture_worker", None) is None  # no thread was started
    with open_site(app.registry) as site:
        assert pending_ids(site) == [res.json["id"]]
    assert run_pending(app.registry) == 1  # what `duban-archive capture-checks INI` does
    assert _checked(handler, item_id, 1)["现场.jpg"]["status"] == "verified"


def test_an_original_that_cannot_be_read_is_recorded_unchecked_not_retried_for_ever(app, testapp, closed_item):
    import os

    from duban_archive.archive.capture import run_pending

    item_id = closed_item(photos=0, signed=0, close=False)
    handler = api(testapp, "handler")
    res = _upload(handler, item_id, make_photo(), "现场.jpg", "photo")
    with open_site(app.registry) as site:
        os.remove(site.attachment_index[res.json["id"]].blob.committed())  # the blob file lost on disk
    assert run_pending(app.registry) == 1
    found = _checked(handler, item_id, 1)["现场.jpg"]
    assert found["status"] == "unchecked" and found["label"] == "未检测" and "检测出错" in found["detail"]
    with open_site(app.registry) as site:
        assert pending_ids(site) == []
