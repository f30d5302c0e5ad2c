"""Attachments: byte-identical round trip with SHA-256 and SM3, refusals by size, type and bomb."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib

import pytest
from gmssl import func, sm3

from duban_archive.testing import api

from .conftest import png_bytes, snapshot


def sm3_hex(data: bytes) -> str:
    return sm3.sm3_hash(func.bytes_to_list(data))


def upload(client, item_id, content: bytes, filename="photo.png", kind="photo", status=201, **fields):
    return client.upload(f"/api/v1/items/{item_id}/attachments", {"kind": kind, **fields},
                         [("file", filename, content)], status=status)


def test_upload_and_download_are_byte_identical_with_matching_digests(testapp, in_progress):
    handler = api(testapp, "handler")
    pdf = b"%PDF-1.4\n" + os.urandom(70_000) + b"\n%%EOF\n"  # crosses a 64 KiB chunk boundary
    res = upload(handler, in_progress, pdf, filename="整改报告.pdf", kind="signed_report", title="盖章报告")
    meta = res.json
    assert meta["mimetype"] == "application/pdf" and meta["size"] == len(pdf)
    assert meta["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert meta["sm3"] == sm3_hex(pdf)
    assert meta["filename"] == "整改报告.pdf" and meta["kind"] == "signed_report" and meta["title"] == "盖章报告"

    got = handler.get(meta["url"])
    assert got.body == pdf
    assert got.content_type == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename*=UTF-8''%E6%95%B4%E6%94%B9" in got.headers["Content-Disposition"]
    listed = handler.get(f"/api/v1/items/{in_progress}").json["attachments"]
    assert [a["sha256"] for a in listed] == [meta["sha256"]]


def test_photo_keeps_its_dimensions_and_downloads_are_audited(testapp, in_progress):
    handler = api(testapp, "handler")
    meta = upload(handler, in_progress, png_bytes((7, 5))).json
    assert (meta["mimetype"], meta["width"], meta["height"]) == ("image/png", 7, 5)
    api(testapp, "handler2").get(meta["url"])
    trail = api(testapp, "auditor").get(f"/api/v1/items/{in_progress}/audit").json
    assert [(e["actor"], e["attachment"]) for e in trail if e["action"] == "download"] == [("handler2", meta["id"])]
    upload_entry = next(e for e in trail if e["action"] == "upload")
    assert upload_entry["sha256"] == meta["sha256"] and upload_entry["sm3"] == meta["sm3"]


def pe_executable() -> bytes:
    """A minimal Windows PE header ('MZ' stub pointing at 'PE\\0\\0')."""
    head = bytearray(b"MZ" + b"\x90\x00" * 29)
    head += b"\x00" * (0x3C - len(head)) + struct.pack("<I", 0x40)
    head += b"PE\x00\x00" + struct.pack("<HH", 0x14C, 1) + b"\x00" * 200
    return bytes(head)


def elf_executable() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + struct.pack("<HHI", 2, 0x3E, 1) + b"\x00" * 200


REFUSED_TYPES = [
    (pe_executable(), "现场照片.jpg"), (elf_executable(), "report.pdf"), (b"PK\x03\x04" + b"\x00" * 100, "a.docx"),
    (b"\x00\x01\x02\x03" * 50, "notes.txt"),
]


def blob_files(var) -> set[str]:
    return {str(p.relative_to(var)) for p in (var / "blobs").rglob("*") if p.is_file()}


def test_renamed_executable_or_unknown_bytes_is_415_and_nothing_is_kept(testapp, app, in_progress, var_dir):
    handler = api(testapp, "handler")
    before, files = snapshot(app, in_progress), blob_files(var_dir)
    for content, filename in REFUSED_TYPES:
        res = upload(handler, in_progress, content, filename=filename, kind="other", status=415)
        assert res.json["error"] == "unsupported_type" and "按文件内容识别" in res.json["fields"]["file"], filename
    assert snapshot(app, in_progress) == before
    assert blob_files(var_dir) == files  # no blob (committed or temporary) left behind


def test_kind_must_accept_the_type(testapp, in_progress):
    res = upload(api(testapp, "handler"), in_progress, b"%PDF-1.4\n%%EOF\n", filename="x.pdf", kind="photo",
                 status=415)
    assert "照片" in res.json["message"]


def test_over_the_size_limit_is_413(testapp, app, in_progress):
    app.registry.settings["duban.max_upload_bytes"] = "2048"  # this test's ini override
    handler = api(testapp, "handler")
    before = snapshot(app, in_progress)
    res = upload(handler, in_progress, b"%PDF-1.4\n" + b"0" * 3000, filename="big.pdf", kind="other", status=413)
    assert res.json["error"] == "too_large" and "2.0 KB" in res.json["message"]
    # far over the limit: refused from Content-Length before the body is read
    res = upload(handler, in_progress, b"%PDF-1.4\n" + b"0" * 200_000, filename="huge.pdf", kind="other", status=413)
    assert res.json["error"] == "too_large"
    assert snapshot(app, in_progress) == before
    upload(handler, in_progress, b"%PDF-1.4\n" + b"0" * 1000, filename="small.pdf", kind="other", status=201)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    data = bytearray(png_bytes((1, 1)))
    ihdr = data[12:29]  # b"IHDR" + 13 bytes of header fields
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@pytest.mark.parametrize("width, height", [(30000, 30000), (8000, 8000)])
def test_decompression_bomb_is_refused(testapp, app, in_progress, width, height):
    handler = api(testapp, "handler")
    before = snapshot(app, in_progress)
    res = upload(handler, in_progress, png_claiming(width, height), status=413)
    assert "像素过多" in res.json["fields"]["file"]
    assert snapshot(app, in_progress) == before


def test_corrupt_image_is_415(testapp, in_progress):
    broken = png_bytes()[:40] + b"\x00" * 10  # header survives, IHDR crc and data do not
    data = bytearray(broken)
    data[29:33] = b"\x00\x00\x00\x00"
    upload(api(testapp, "handler"), in_progress, bytes(data), status=415)


FILENAMES = [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\Windows\\System32\\photo.png", "photo.png"),
    ("C:\\Users\\liu\\桌面\\现场.png", "现场.png"),
    ("/abs/path/.hidden.png", "hidden.png"),
    ("evil\u202egnp.exe.png", "evilgnp.exe.png"),
    ("a\x01b\tc.png", "abc.png"),
    ("...", "附件"),
    ("x" * 300 + ".png", "x" * 110 + ".png"),
]


def test_path_tricks_in_filenames_are_neutralised(testapp, in_progress):
    handler = api(testapp, "handler")
    for given, kept in FILENAMES:
        meta = upload(handler, in_progress, png_bytes(), filename=given).json
        assert meta["filename"] == kept, given
        assert "/" not in meta["filename"] and "\\" not in meta["filename"]


def test_upload_form_is_validated(testapp, app, in_progress):
    handler = api(testapp, "handler")
    url = f"/api/v1/items/{in_progress}/attachments"
    res = handler.upload(url, {"kind": "selfie", "colour": "red"}, [("file", "a.png", png_bytes())], status=400)
    assert set(res.json["fields"]) == {"kind", "colour"}
    res = testapp.post(url, {"kind": "photo"}, headers=handler.headers, content_type="multipart/form-data",
                       status=400)
    assert res.json["fields"] == {"file": "请选择要上传的文件"}
    res = testapp.post(url, {"kind": "photo", "file": "not-a-file"}, headers=handler.headers, status=400)
    assert "multipart/form-data" in res.json["fields"]["file"]
    res = upload(handler, in_progress, b"", filename="empty.png", status=400)
    assert res.json["fields"]["file"] == "文件为空"


def test_upload_needs_permission_in_this_state(testapp, app, make_item):
    item_id = make_item()  # registered: only the supervisor may attach
    upload(api(testapp, "handler"), item_id, png_bytes(), status=403)
    upload(api(testapp, "supervisor"), item_id, png_bytes(), status=201)


def test_download_needs_view_permission(testapp, app, in_progress, make_item):
    meta = upload(api(testapp, "handler"), in_progress, png_bytes()).json
    api(testapp, "unit_head2").get(meta["url"])  # assisting unit may view
    testapp.get(meta["url"], status=401)
    api(testapp, "supervisor").get("/api/v1/attachments/nope-a1/content", status=404)


def test_zip_bomb_is_413_in_chinese_and_nothing_is_kept(testapp, app, in_progress, var_dir):
    """A .docx of 150 KB inflating to 30 MB (issue 12.3): refused from its zip directory, before indexing."""
    from ..catalog.test_extract_limits import PARA, Streamed, docx

    bomb = docx(Streamed(PARA, 30 * 1024 * 1024 // len(PARA)))
    handler = api(testapp, "handler")
    before, files = snapshot(app, in_progress), blob_files(var_dir)
    res = upload(handler, in_progress, bomb, filename="整改报告.docx", kind="other", status=413)
    assert res.json["error"] == "too_large"
    assert "压缩炸弹" in res.json["fields"]["file"] and "压缩比异常" in res.json["fields"]["file"]
    assert snapshot(app, in_progress) == before
    assert blob_files(var_dir) == files
    upload(handler, in_progress, docx(PARA), filename="整改报告.docx", kind="other", status=201)
