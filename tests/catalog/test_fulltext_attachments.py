"""Attachment text in the index: PDF text layer, .docx, OCR of photos, "not OCR'd" without tesseract."""

import io
import shutil

import pytest
import transaction

from duban_archive.catalog import extract
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def upload(app, item_id, data: bytes, filename: str, kind: str) -> str:
    with open_site(app.registry) as site:
        att = add_attachment(site, site.get_item(item_id), io.BytesIO(data), filename, kind, "",
                             "supervisor", max_bytes=10_000_000, registry=app.registry)
        transaction.commit()
        return att.__name__


def found(app, q):
    return {h.id for h in get_catalog(app.registry).search(SUPERVISOR, q).hits}


def test_pdf_text_layer_and_docx_are_searchable(app, make_item):
    import docx
    from weasyprint import HTML

    item_id = make_item(title="附件检索测试")
    pdf = HTML(string="<html><body><p>关于加强城市排水防涝工作的通知，文号晋市政办〔2021〕17号。</p></body></html>"
               ).write_pdf()
    upload(app, item_id, pdf, "通知.pdf", "signed_report")
    document = docx.Document()
    document.add_paragraph("整改报告：已完成污水管网清淤疏浚。")
    buf = io.BytesIO()
    document.save(buf)
    upload(app, item_id, buf.getvalue(), "整改报告.docx", "other")
    assert found(app, "排水防涝") == {item_id}
    assert found(app, '"晋市政办〔2021〕17号"') == {item_id}
    assert found(app, "清淤疏浚") == {item_id}
    assert found(app, "附件:整改报告") == {item_id}  # the file name, via the Chinese field alias
    assert get_catalog(app.registry).not_ocred(item_id) == []


def _photo_of_text(text: str) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 160), "white")
    ImageDraw.Draw(img).text((30, 40), text, fill="black", font=ImageFont.truetype(FONT, 64))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.skipif(not extract.ocr_available(), reason="tesseract with chi_sim is not installed")
def test_photo_is_ocred_with_chi_sim(app, make_item):
    item_id = make_item(title="现场照片")
    upload(app, item_id, _photo_of_text("河道垃圾已清理"), "现场.png", "photo")
    assert found(app, "垃圾") == {item_id}
    assert get_catalog(app.registry).not_ocred(item_id) == []


def test_photo_without_ocr_is_recorded_as_not_ocred(app, make_item, monkeypatch, tmp_path):
    # a machine without tesseract: PATH holds only pdftotext
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pdftotext").symlink_to(shutil.which("pdftotext") or "/usr/bin/pdftotext")
    monkeypatch.setenv("PATH", str(bindir))
    extract.ocr_available.cache_clear()
    try:
        item_id = make_item(title="无法识别的照片")
        att = upload(app, item_id, _photo_of_text("照片文字"), "照片.png", "photo")
        assert get_catalog(app.registry).not_ocred(item_id) == [att]
        assert found(app, "无法识别的照片") == {item_id}  # the item itself is indexed
    finally:
        monkeypatch.undo()
        extract.ocr_available.cache_clear()
