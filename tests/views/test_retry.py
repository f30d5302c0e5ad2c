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

from ..api.conftest import advance, png_bytes


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


def test_a_retried_upload_reuses_the_parse_of_its_body(app, testapp, in_progress, monkeypatch):
    """The body is parsed (spooled, digested) once; every attempt gets the same file from its start."""
    from duban_archive.views import multipart

    parses: list[int] = []
    parse = multipart.parse

    def counting_parse(*args, **kw):
        parses.append(1)
        return parse(*args, **kw)

    monkeypatch.setattr(multipart, "parse", counting_parse)
    attempts = interfere(app, in_progress, times=2)
    data = b"%PDF-1.4\n" + os.urandom(2_000_000) + b"\n%%EOF\n"  # spooled to disk, SM3 in its thread
    handler = api(testapp, "handler")
    res = handler.upload(f"/api/v1/items/{in_progress}/attachments", {"kind": "other"},
                         [("file", "整改报告.pdf", data)])
    assert len(attempts) == 3 and len(parses) == 1
    assert res.json["size"] == len(data) and res.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert handler.get(res.json["url"]).body == data
    assert attachment_count(app, in_progress) == 1


def test_a_retry_whose_file_was_closed_parses_the_rewound_body_again(app, testapp, in_progress, monkeypatch):
    from pyramid.threadlocal import get_current_request

    from duban_archive.views import multipart

    parses: list[int] = []
    parse = multipart.parse

    def counting_parse(*args, **kw):
        parses.append(1)
        return parse(*args, **kw)

    monkeypatch.setattr(multipart, "parse", counting_parse)
    attempts = interfere(app, in_progress, times=1)

    def close_the_upload(event) -> None:  # a view that closes what it read
        if isinstance(event.object, Attachment) and len(attempts) == 1:
            get_current_request().POST["file"].file.close()

    config = Configurator(registry=app.registry)
    config.add_subscriber(close_the_upload, ObjectAdded)
    config.commit()
    data = b"%PDF-1.4\n" + os.urandom(600_000) + b"\n%%EOF\n"
    handler = api(testapp, "handler")
    res = handler.upload(f"/api/v1/items/{in_progress}/attachments", {"kind": "other"}, [("file", "a.pdf", data)])
    assert len(attempts) == 2 and len(parses) == 2
    assert res.json["sha256"] == hashlib.sha256(data).hexdigest()
    assert handler.get(res.json["url"]).body == data


def test_a_body_that_is_a_file_of_its_own_is_not_copied_for_retries():
    import io
    import tempfile

    from duban_archive.views.retry import seekable_body

    with tempfile.TemporaryFile() as buffered:  # what waitress hands the app: the body alone, at its start
        buffered.write(b"x" * 1000)
        buffered.seek(0)
        environ = {"wsgi.input": buffered, "CONTENT_LENGTH": "1000"}
        seekable_body(environ)
        assert environ["webob.is_body_seekable"] is True and buffered.tell() == 0

    class Socket(io.RawIOBase):
        def readable(self) -> bool:
            return True

    read_from = io.BytesIO(b"x" * 1000)
    read_from.read(10)
    for environ in ({"wsgi.input": io.BytesIO(b"x" * 1000), "CONTENT_LENGTH": "10"},  # more than the body
                    {"wsgi.input": read_from, "CONTENT_LENGTH": "990"},  # not at its start
                    {"wsgi.input": Socket(), "CONTENT_LENGTH": "10"},  # a stream
                    {"wsgi.input": io.BytesIO(b"x")}):  # no length
        seekable_body(environ)
        assert "webob.is_body_seekable" not in environ  # pyramid_retry copies these, as before
