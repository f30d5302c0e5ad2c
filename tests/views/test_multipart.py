"""Every multipart body goes through the streaming parser (issue 16): fields, files, names, limits.

The parser is used on its own first (what a part becomes), then through the
app: ``cgi.FieldStorage`` is made to fail, so any form that still reached it
would fail too — the API upload, the upload page, a deform form and the
workflow panel's form with a file all still work.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import tempfile

import pytest
from gmssl import func, sm3
from webob import Request

from duban_archive.testing import api, login
from duban_archive.views import multipart as mpart

from ..api.conftest import snapshot
from .conftest import item_url, png_bytes

BOUNDARY = "b0undary-7d1f"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"


def sm3_hex(data: bytes) -> str:
    return sm3.sm3_hash(func.bytes_to_list(data))


def part(name: str, value: bytes | str, disposition_tail: str = "", headers: str = "") -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"{disposition_tail}\r\n{headers}\r\n'
            .encode() + value + b"\r\n")


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def parse(raw: bytes, max_file: int = 10 << 20, length: int | None = -1):
    return mpart.parse(io.BytesIO(raw), CTYPE, len(raw) if length == -1 else length, max_file=max_file,
                       max_body=50 << 20)


@pytest.fixture(autouse=True)
def own_temp_dir(tmp_path, monkeypatch):
    """Spooled files go to a directory of this test's own (other test processes spool too)."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))


def spooled_files() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "duban-upload-*")))


# -- the parser on its own -------------------------------------------------------------------------
def test_fields_and_files_keep_their_order_bytes_and_digests():
    big = os.urandom(mpart.MEMORY_PART + 70_000)  # spooled to disk
    small = b"%PDF-1.4\n" + os.urandom(1000)  # stays in memory
    form = parse(body(part("kind", "photo"), part("title", "现场照片"),
                      part("file", big, '; filename="a.bin"', "Content-Type: application/octet-stream\r\n"),
                      part("file", small, '; filename="b.pdf"', "Content-Type: application/pdf\r\n"),
                      part("empty", b"", '; filename=""')))
    md = form.multidict()
    assert list(md.keys()) == ["kind", "title", "file", "file", "empty"]
    assert md["kind"] == "photo" and md["title"] == "现场照片"
    assert md["empty"] == ""  # a file input left empty: a string, as WebOb gave it
    first, second = md.getall("file")
    for upload, data in ((first, big), (second, small)):
        assert upload.file.read() == data and upload.value == data
        assert upload.length == len(data)
        assert upload.sha256 == hashlib.sha256(data).hexdigest() and upload.sm3 == sm3_hex(data)
        assert upload.file.upload_digests.head == data[:8192]
    assert (first.filename, first.type, second.type) == ("a.bin", "application/octet-stream", "application/pdf")
    assert os.path.exists(first.file.name)  # above MEMORY_PART: a named temp file
    assert isinstance(second.file, io.BytesIO)
    # another attempt gets the same parts rewound
    assert form.rewind() and first.file.read() == big
    form.close()
    assert not os.path.exists(first.file.name)


@pytest.mark.parametrize("disposition, expected", [
    ('; filename="整改报告.pdf"', "整改报告.pdf"),  # raw UTF-8, as every browser sends it
    ("; filename*=UTF-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf", "整改报告.pdf"),  # RFC 5987
    ('; filename="report.pdf"; filename*=utf-8\'zh\'%E6%8A%A5%E5%91%8A.pdf', "报告.pdf"),  # both: the extended wins
    ('; filename="say %22hi%22.pdf"', 'say "hi".pdf'),  # HTML5 quoting of a double quote
    ('; filename="C:\\Users\\liu\\桌面\\现场.png"', "现场.png"),  # an old IE sending the whole path
])
def test_file_names_are_decoded_as_clients_send_them(disposition, expected):
    form = parse(body(part("file", b"x", disposition)))
    assert form.multidict()["file"].filename == expected


def test_a_gbk_file_name_from_an_old_windows_client_is_read_too():
    raw = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
           + "整改报告.pdf".encode("gbk") + b'"\r\n\r\nx\r\n' + f"--{BOUNDARY}--\r\n".encode())
    assert parse(raw).multidict()["file"].filename == "整改报告.pdf"


def test_text_in_another_charset_or_transfer_encoding_is_decoded():
    form = parse(body(part("a", "进展".encode("gb18030"), headers="Content-Type: text/plain; charset=gb18030\r\n"),
                      part("b", "5Lit5paH", headers="Content-Transfer-Encoding: base64\r\n")))
    assert form.multidict().mixed() == {"a": "进展", "b": "中文"}


@pytest.mark.parametrize("raw", [
    body(part("kind", "photo"))[:-10],  # cut short: no closing boundary
    b"no boundary anywhere in this body",
    f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"a\"\n\nx\r\n--{BOUNDARY}--\r\n".encode(),  # bare LF
    f"--{BOUNDARY}\r\nX-Broken\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),  # a header without a colon
    f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),  # no Content-Disposition
])
def test_malformed_bodies_are_refused_with_400_and_leave_no_file(raw):
    before = spooled_files()
    with pytest.raises(mpart.FormRefused) as refused:
        parse(part("file", os.urandom(mpart.MEMORY_PART * 2), '; filename="a.bin"') + raw)
    assert refused.value.status == 400 and "格式有误" in refused.value.message
    assert spooled_files() == before


def test_a_body_that_ends_before_its_length_is_refused():
    """A connection cut in the middle of a file: what arrived is refused, not stored short."""
    raw = body(part("kind", "photo"), part("file", os.urandom(600_000), '; filename="a.bin"'))
    before = spooled_files()
    with pytest.raises(mpart.FormRefused) as refused:
        parse(raw[:400_000], length=len(raw))
    assert refused.value.status == 400 and spooled_files() == before


def test_a_file_over_the_limit_is_dropped_at_the_limit_and_handed_on_marked():
    """Nothing of it stays (memory or disk); the view refuses it with 413 and can show its form again."""
    before = spooled_files()
    data = os.urandom(mpart.MEMORY_PART * 3)
    form = parse(body(part("file", data, '; filename="a.bin"'), part("title", "标题")), max_file=300_000)
    upload = form.multidict()["file"]
    assert upload.digests.over_limit == 300_000 and upload.length == len(data)
    assert upload.file.read() == b"" and upload.sha256 == ""
    assert form.multidict()["title"] == "标题"  # the fields after it are read
    assert spooled_files() == before


def test_limits_refuse_with_413():
    before = spooled_files()
    with pytest.raises(mpart.FormRefused) as refused:
        parse(body(*[part(f"f{n}", "x") for n in range(mpart.MAX_PARTS + 1)]))
    assert refused.value.status == 413 and "字段过多" in refused.value.message
    with pytest.raises(mpart.FormRefused) as refused:
        parse(body(*[part("file", "x", f'; filename="{n}.txt"') for n in range(mpart.MAX_FILES + 1)]))
    assert refused.value.status == 413 and "文件过多" in refused.value.message
    with pytest.raises(mpart.FormRefused) as refused:
        parse(body(part("content", "字" * (mpart.MAX_TEXT // 3 + 1))))
    assert refused.value.status == 413 and "文字内容" in refused.value.message
    assert spooled_files() == before


def test_an_empty_body_is_an_empty_form_and_no_boundary_is_malformed():
    assert parse(b"").fields == []
    with pytest.raises(mpart.FormRefused):
        mpart.parse(io.BytesIO(b"x"), "multipart/form-data", 1, max_file=10, max_body=10)


# -- through the app ---------------------------------------------------------------------------------
@pytest.fixture
def no_cgi(monkeypatch):
    """WebOb's own parsing (cgi.FieldStorage) fails for multipart: only the streaming parser may read them.

    (Small url-encoded forms — the login page — are still WebOb's.)
    """
    import webob.request

    original = webob.request.cgi_FieldStorage

    def refuse(*args, **kw):
        if "multipart" in kw["environ"].get("CONTENT_TYPE", ""):
            raise AssertionError("cgi.FieldStorage parsed a multipart form")
        return original(*args, **kw)

    monkeypatch.setattr(webob.request, "cgi_FieldStorage", refuse)


def raw_post(app, path: str, raw: bytes, headers: dict[str, str], ctype: str = CTYPE):
    req = Request.blank(path, method="POST", body=raw, headers={"Content-Type": ctype, **headers},
                        environ={"REMOTE_ADDR": "127.0.0.1"})
    return req.get_response(app)


def test_api_upload_with_chinese_names_never_touches_cgi(app, testapp, in_progress_item, no_cgi):
    handler = api(testapp, "handler")
    data = b"%PDF-1.4\n" + os.urandom(400_000) + b"\n%%EOF\n"
    raw = body(part("kind", "signed_report"), part("title", "盖章报告"),
               part("file", data, "; filename*=UTF-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf",
                    "Content-Type: application/pdf\r\n"))
    res = raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", raw, handler.headers)
    assert res.status_int == 201, res.text
    meta = res.json
    assert meta["filename"] == "整改报告.pdf" and meta["title"] == "盖章报告"
    assert meta["sha256"] == hashlib.sha256(data).hexdigest() and meta["sm3"] == sm3_hex(data)
    got = handler.get(meta["url"])
    assert got.body == data
    assert "filename*=UTF-8''%E6%95%B4%E6%94%B9%E6%8A%A5%E5%91%8A.pdf" in got.headers["Content-Disposition"]


def test_html_forms_go_through_the_streaming_parser(app, testapp, in_progress_item, no_cgi):
    login(testapp, "handler")
    form = testapp.get(item_url(in_progress_item) + "/@@feedback").forms["feedback_report-form"]
    assert form.enctype == "multipart/form-data"  # deform posts every form as multipart
    form["done"] = "完成道路测量"
    form["progress"] = "已完成 60%"
    assert "已提交反馈" in form.submit(status=303).follow().text

    photo = png_bytes()
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    form["title"] = "现场照片"
    form["file"] = ("现场 照片.png", photo, "image/png")
    page = form.submit(status=303).follow()
    assert "已上传：现场 照片.png" in page.text
    res = testapp.get(page.html.find("a", href=lambda h: h and h.endswith("@@download"))["href"])
    assert res.body == photo


def test_workflow_panel_form_with_a_file_goes_through_the_streaming_parser(app, testapp, in_progress_item,
                                                                           no_cgi):
    login(testapp, "handler")
    page = testapp.get(item_url(in_progress_item))
    form = page.forms["wf-form-request_closure"]
    report = b"%PDF-1.4\n" + os.urandom(5000) + b"\n%%EOF\n"
    if "comment" in form.fields:
        form["comment"] = "已整改完毕"
    form["attachment_kind"] = "signed_report"
    form["file"] = ("办结报告.pdf", report, "application/pdf")
    form.submit(status=303)
    listed = api(testapp, "handler").get(f"/api/v1/items/{in_progress_item}").json
    assert [a["sha256"] for a in listed["attachments"]] == [hashlib.sha256(report).hexdigest()]
    assert [a["filename"] for a in listed["attachments"]] == ["办结报告.pdf"]


@pytest.mark.parametrize("raw", [body(part("kind", "photo"))[:-12], b"--nothing-like-the-boundary\r\n"])
def test_a_malformed_upload_is_400_in_chinese_and_changes_nothing(app, testapp, in_progress_item, raw):
    handler = api(testapp, "handler")
    login(testapp, "handler")
    before = snapshot(app, in_progress_item)
    data = part("file", b"%PDF-1.4\n" + os.urandom(400_000), '; filename="a.pdf"')
    res = raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", part("kind", "other") + data + raw,
                   handler.headers)
    assert res.status_int == 400 and res.json["error"] == "invalid" and "格式有误" in res.json["message"]
    page = testapp.get(item_url(in_progress_item) + "/@@upload")
    csrf = page.forms["upload-form"]["csrf_token"].value
    cookie = f"duban_session={testapp.cookies['duban_session']}"
    res = testapp.request(item_url(in_progress_item) + "/@@upload", method="POST", status=400,
                          body=part("csrf_token", csrf) + data + raw, headers={"Content-Type": CTYPE, "Cookie": cookie})
    assert "格式有误" in res.text and "提交内容有误" in res.text
    assert snapshot(app, in_progress_item) == before


def test_an_oversized_file_is_413_with_the_usual_message_and_nothing_is_kept(app, testapp, in_progress_item):
    app.registry.settings["duban.max_upload_bytes"] = str(300 * 1024)
    handler = api(testapp, "handler")
    login(testapp, "handler")
    before, spooled = snapshot(app, in_progress_item), spooled_files()
    raw = body(part("kind", "other"), part("file", b"%PDF-1.4\n" + os.urandom(400_000), '; filename="a.pdf"'))
    res = raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", raw, handler.headers)
    assert res.status_int == 413 and res.json["error"] == "too_large"
    assert res.json["message"] == "文件过大：上限为 300.0 KB" == res.json["fields"]["file"]
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    form["file"] = ("大文件.pdf", b"%PDF-1.4\n" + os.urandom(400_000), "application/pdf")
    res = form.submit(status=413)
    assert "文件过大：上限为 300.0 KB" in res.text
    assert snapshot(app, in_progress_item) == before and spooled_files() == spooled


def test_spooled_files_are_removed_when_the_request_ends(app, testapp, in_progress_item):
    handler = api(testapp, "handler")
    before = spooled_files()
    raw = body(part("kind", "other"), part("file", b"%PDF-1.4\n" + os.urandom(600_000), '; filename="a.pdf"'))
    assert raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", raw, handler.headers).status_int == 201
    raw = body(part("kind", "photo"), part("file", b"%PDF-1.4\n" + os.urandom(600_000), '; filename="a.pdf"'))
    assert raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", raw, handler.headers).status_int == 415
    assert spooled_files() == before


def test_the_committed_blob_is_the_spooled_file_linked_not_copied(app, testapp, in_progress_item, var_dir,
                                                                  monkeypatch):
    """The bytes are written once: the blob file is the spooled upload (same inode) under a new name."""
    from duban_archive.content_types import attachment
    from duban_archive.content_types.site_access import open_site

    if os.stat(tempfile.gettempdir()).st_dev != os.stat(var_dir).st_dev:
        pytest.skip("temp dir and var dir on different file systems: the blob is a copy there")
    spooled: list[int] = []
    store = attachment._store

    def recording_store(source, blob):
        spooled.append(os.stat(source.name).st_ino)
        return store(source, blob)

    monkeypatch.setattr(attachment, "_store", recording_store)
    handler = api(testapp, "handler")
    data = b"%PDF-1.4\n" + os.urandom(700_000)
    raw = body(part("kind", "other"), part("file", data, '; filename="a.pdf"'))
    meta = raw_post(app, f"/api/v1/items/{in_progress_item}/attachments", raw, handler.headers).json
    with open_site(app.registry) as site:
        path = site.attachment_index[meta["id"]].blob.committed()
    with open(path, "rb") as f:
        assert f.read() == data
    assert [os.stat(path).st_ino] == spooled
    assert os.stat(path).st_nlink == 1  # the spooled name is gone, the blob keeps the inode


def test_a_stray_multipart_content_type_without_a_body_is_an_empty_form(testapp, in_progress_item):
    login(testapp, "handler")
    page = testapp.get(item_url(in_progress_item) + "/@@upload", headers={"Content-Type": CTYPE})
    assert "upload-form" in page.text
