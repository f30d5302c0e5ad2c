"""Attachment capture without HTTP: digests, sniffing and filenames at the Python API."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from gmssl import func, sm3

from duban_archive.content_types.attachment import UploadRefused, _GmsslSM3, safe_filename, safe_title, sniff


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
