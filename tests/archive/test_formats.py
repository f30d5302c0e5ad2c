"""格式信息 from the bytes, not from the name or the MIME type the browser sent."""

from __future__ import annotations

import io
import zipfile

from duban_archive.archive.formats import identify

from .conftest import make_photo, make_signed_pdf


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (40, 30), 128).save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


OFD_XML = '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.1" DocType="OFD"/>'


def _camera_jpeg() -> bytes:
    """A JPEG as cameras write it: Exif (APP1) first, no JFIF (APP0) segment."""
    data = make_photo(orientation=6)
    assert data[2:4] == b"\xff\xe0"  # Pillow's JFIF segment, taken out
    return data[:2] + data[4 + int.from_bytes(data[4:6], "big"):]


def _zip(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return out.getvalue()


def test_names_and_versions_come_from_the_content(tmp_path):
    from PIL import Image

    jfif = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(jfif, "JPEG")
    cases = {
        "photo.jpg": (jfif.getvalue(), "image/jpeg", ("JPEG/JFIF", "1.01")),
        "exif.jpg": (_camera_jpeg(), "image/jpeg", ("JPEG/Exif", None)),
        "renamed.jpg": (_png(), "image/jpeg", ("PNG", "1.2")),  # a PNG named .jpg is a PNG
        "report.pdf": (make_signed_pdf(1, "FMT"), "application/pdf", ("PDF", None)),
        "seal.ofd": (_zip({"OFD.xml": OFD_XML}), "application/ofd", ("OFD", "1.1")),
        "plan.docx": (_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>",
                            "docProps/app.xml": "<Properties><AppVersion>16.0000</AppVersion></Properties>"}),
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("DOCX", "16.0000")),
        "anim.gif": (b"GIF89a" + b"\x00" * 20, "image/gif", ("GIF", "89a")),
    }
    for name, (data, mimetype, (fmt, version)) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        found = identify(path, mimetype)
        assert found["name"] == fmt, (name, found)
        if version is not None:
            assert found["version"] == version, (name, found)
        assert found["mimetype"] == mimetype
    png = identify(tmp_path / "renamed.jpg", "image/jpeg")["digitization"]
    assert png["扫描分辨率"] == "300 dpi" and png["扫描色彩模式"] == "灰度" and png["数字化对象形态"] == "40×30 像素"
    assert identify(tmp_path / "report.pdf", "application/pdf")["version"].startswith("1.")


def test_an_unknown_format_is_named_from_its_mime_type_and_says_so(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"\x00\x01\x02 not a known format")
    found = identify(path, "application/octet-stream")
    assert found["name"] == "application/octet-stream" and "未能识别" in found["by"]
