"""Requests re-run after a real ZODB conflict see the same body; exhausted retries answer 409.

The conflict is real: while the request runs, another connection changes the
same item and commits, so the request's own commit raises ConflictError and
pyramid_retry runs it again.
"""

from __future__ import annotations

import hashlib
import os

import pytest
import transaction
from pyramid.config import Configurator

from duban_archive.content_types.attachment import Attachment
from duban_archive.content_types.site_access import ROOT_KEY
from duban_archive.events import ObjectAdded
from duban_archive.testing import api, login
from duban_archive.timeutil import now

from .api.conftest import advance, png_bytes


@pytest.fixture
def in_progress(app, make_item):
    item_id = make_item(lead_unit="zjj", assist_units={"jtj"})
    advance(app, item_id, ("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head"))
    return item_id


def interfere(app, item_id: str, times: int) -> list[int]:
    """On the first ``times`` attempts of an upload, commit a change to the item from elsewhere."""
    db = app.registry._zodb_databases[""]
    attempts: list[int] = []

    def on_added(event) -> None:
        if not isinstance(event.object, Attachment):
            return
        attempts.append(len(attempts))
        if len(attempts) > times:
            return
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            conn.root()[ROOT_KEY].get_item(item_id).modified = now()
            tm.commit()
        finally:
            conn.close()

    config = Configurator(registry=app.registry)
    config.add_subscriber(on_added, ObjectAdded)
    config.commit()
    return attempts


def attachment_count(app, item_id: str) -> int:
    db = app.registry._zodb_databases[""]
    conn = db.open(transaction_manager=transaction.TransactionManager())
    try:
        return len(conn.root()[ROOT_KEY].get_item(item_id).attachments)
    finally:
        conn.close()


def test_api_upload_retried_after_a_conflict_is_stored_whole(app, testapp, in_progress):
    attempts = interfere(app, in_progress, times=2)
    data = b"%PDF-1.4\n" + os.urandom(300_000) + b"\n%%EOF\n"
    handler = api(testapp, "handler")
    res = handler.upload(f"/api/v1/items/{in_progress}/attachments", {"kind": "signed_report"},
                         [("file", "报告.pdf", data)])
    assert len(attempts) == 3  # two conflicts, then the attempt that committed
    assert res.json["size"] == len(data) and res.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert handler.get(res.json["url"]).body == data
    assert attachment_count(app, in_progress) == 1


def test_form_upload_retried_after_a_conflict_is_stored_whole(app, testapp, in_progress):
    attempts = interfere(app, in_progress, times=1)
    login(testapp, "handler")
    photo = png_bytes((40, 30))
    form = testapp.get(f"/boards/zdgz/{in_progress}/@@upload").forms["upload-form"]
    form["kind"] = "photo"
    form["file"] = ("现场.png", photo)
    form.submit(status=303)
    assert len(attempts) == 2
    handler = api(testapp, "handler")
    listed = handler.get(f"/api/v1/items/{in_progress}").json["attachments"]
    assert [a["sha256"] for a in listed] == [hashlib.sha256(photo).hexdigest()]


def test_exhausted_retries_answer_json_409_and_keep_nothing(app, testapp, in_progress):
    attempts = interfere(app, in_progress, times=100)
    handler = api(testapp, "handler")
    res = handler.upload(f"/api/v1/items/{in_progress}/attachments", {"kind": "other"},
                         [("file", "a.txt", b"hello")], status=409)
    assert res.json["error"] == "conflict" and "请重试" in res.json["message"]
    assert res.headers["Retry-After"] == "1"
    assert len(attempts) == int(app.registry.settings["retry.attempts"])
    assert attachment_count(app, in_progress) == 0
