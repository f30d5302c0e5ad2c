"""Attachment capture without HTTP: digests, sniffing and filenames at the Python API."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from gmssl import func, sm3

from duban_archive.content_types.attachment import (
    Digester,
    Digests,
    UploadRefused,
    _GmsslSM3,
    capture,
    safe_filename,
    safe_title,
    sniff,
)


def test_pure_python_sm3_fallback_streams_and_agrees_with_gmssl():
    data = os.urandom(200)
    for cut in (0, 1, 63, 64, 65, 130, 200):
        h = _GmsslSM3()
        h.update(data[:cut])
        h.update(data[cut:])
        assert h.hexdigest() == sm3.sm3_hash(func.bytes_to_list(data))
    big = os.urandom(5000)
    h = _GmsslSM3()
    for i in range(0, len(big), 999):
        h.update(big[i:i + 999])
    assert len(h._buf) < 64  # only a partial block is held, never the file
    assert h.hexdigest() == hashlib.new("sm3", big).hexdigest()


@pytest.mark.parametrize("threaded", [False, True])
def test_digester_agrees_with_hashlib_in_one_thread_or_two(threaded, monkeypatch):
    monkeypatch.setattr(Digester, "THREAD_AFTER", 100_000)
    data = os.urandom(1_000_003)
    d = Digester(threaded=threaded)
    for i in range(0, len(data), 65_537):
        d.update(memoryview(data)[i:i + 65_537])  # not bytes: copied before another thread sees it
    assert (d._thread is not None) is threaded
    got = d.finish()
    assert got == Digests(len(data), hashlib.sha256(data).hexdigest(), sm3.sm3_hash(func.bytes_to_list(data)),
                          data[:8192])
    d = Digester()
    d.update(data)
    d.abort()  # an abandoned stream stops its helper thread
    assert d._thread is None


def test_capture_takes_digests_taken_while_parsing_and_links_the_file(monkeypatch):
    import tempfile

    from ZODB.blob import Blob

    data = b"%PDF-1.4\n" + os.urandom(5000)
    d = Digester()
    d.update(data)
    digests = d.finish()

    def no_hashing(self, data):
        raise AssertionError("hashed again")

    monkeypatch.setattr(Digester, "update", no_hashing)
    with tempfile.NamedTemporaryFile(prefix="duban-upload-") as spooled:
        spooled.write(data)
        spooled.seek(0)
        spooled.upload_digests = digests
        blob = Blob()
        got = capture(spooled, blob, max_bytes=10_000, kind="other")
        assert (got.size, got.sha256, got.sm3, got.mimetype) == (
            len(data), digests.sha256, digests.sm3, "application/pdf")
        with blob.open("r") as f:
            assert f.read() == data
            assert os.fstat(f.fileno()).st_ino == os.fstat(spooled.fileno()).st_ino  # linked, not copied
        with pytest.raises(UploadRefused) as refused:
            capture(spooled, Blob(), max_bytes=100, kind="other")
        assert refused.value.status == 413
        # in memory (a small part): copied, still not hashed again
        small = io.BytesIO(data)
        small.upload_digests = digests
        blob = Blob()
        assert capture(small, blob, max_bytes=10_000, kind="other").sha256 == digests.sha256
        with blob.open("r") as f:
            assert f.read() == data
        # a source someone has started reading is captured from where it stands, digested afresh
        monkeypatch.undo()
        small.seek(9)
        with pytest.raises(UploadRefused) as refused:
            capture(small, Blob(), max_bytes=10_000, kind="other")
        assert refused.value.status == 415  # the rest is no PDF


def test_sniffing_trusts_bytes_not_names():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (3, 3)).save(out, "JPEG")
    assert sniff(out.getvalue()) == "image/jpeg"
    assert sniff(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff("纯文本说明".encode()) == "text/plain"
    assert sniff(b"MZ\x90\x00" + b"\x00" * 100) is None or sniff(b"MZ\x90\x00" + b"\x00" * 100) != "text/plain"


def test_safe_filename_keeps_chinese_and_drops_paths():
    assert safe_filename("../../现场照片 1.JPG") == "现场照片 1.JPG"
    assert safe_filename("") == "附件"


def test_safe_filename_cleans_what_the_text_policy_refuses():
    """Names are cleaned, never refused (issue 12): controls, lone surrogates, bidi tricks out; NFC."""
    assert safe_filename("现场\x07照片\x1b[0m\ud83d.jpg") == "现场照片[0m.jpg"
    assert safe_filename("report\u202egpj.exe") == "reportgpj.exe"  # no right-to-left disguise
    assert safe_filename("两行\n名字.png") == "两行名字.png"
    assert safe_filename("Cafe\u0301.pdf") == "Caf\u00e9.pdf"
    assert safe_filename("点赞👍 吉𠮷.jpg") == "点赞👍 吉𠮷.jpg"  # a dossier font draws them
    assert safe_filename("辛苦🥰.jpg") == "辛苦_.jpg"  # none does: the dossier's attachment list stays printable
    assert safe_filename("\x07\ud83d") == "附件"


def test_attachment_title_follows_the_policy():
    assert safe_title("  Cafe\u0301 现场👍 ") == "Caf\u00e9 现场👍"
    with pytest.raises(UploadRefused) as info:
        safe_title("现场\x07")
    assert info.value.status == 400 and info.value.message == "附件标题含有不允许的控制字符（U+0007），请删除后重新提交"
