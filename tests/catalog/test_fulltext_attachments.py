"""Attachment text in the index: PDF text layer, .docx, .xlsx, OCR of photos and scanned PDFs,
"not OCR'd" without tesseract (and shown so in the UI and the API)."""

import io
import shutil
import time
from datetime import datetime

import pytest
import transaction

from duban_archive.catalog import extract
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import queue_item
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

needs_ocr = pytest.mark.skipif(not extract.ocr_available(), reason="tesseract with chi_sim is not installed")

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


@needs_ocr
def test_photo_is_ocred_with_chi_sim(app, make_item):
    item_id = make_item(title="现场照片")
    upload(app, item_id, _photo_of_text("河道垃圾已清理"), "现场.png", "photo")
    assert found(app, "垃圾") == {item_id}
    assert get_catalog(app.registry).not_ocred(item_id) == []


@pytest.fixture
def without_ocr(monkeypatch, tmp_path):
    """A machine without tesseract (and pdftoppm): PATH holds only pdftotext."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pdftotext").symlink_to(shutil.which("pdftotext") or "/usr/bin/pdftotext")
    monkeypatch.setenv("PATH", str(bindir))
    extract.ocr_available.cache_clear()
    yield
    monkeypatch.undo()
    extract.ocr_available.cache_clear()


def test_photo_without_ocr_is_recorded_as_not_ocred(app, make_item, without_ocr):
    item_id = make_item(title="无法识别的照片")
    att = upload(app, item_id, _photo_of_text("照片文字"), "照片.png", "photo")
    assert get_catalog(app.registry).not_ocred(item_id) == [att]
    assert found(app, "无法识别的照片") == {item_id}  # the item itself is indexed


# -- scanned PDFs --------------------------------------------------------------------------------
DPI = 200  # a usual scanning resolution for 公文


def _scan_page(lines: list[str]):
    """An A4 page image at 200 dpi with ``lines`` in 16 pt (三号) type, as a scanner would produce."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (int(8.27 * DPI), int(11.69 * DPI)), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, int(16 / 72 * DPI))
    for i, line in enumerate(lines):
        draw.text((DPI, DPI + i * int(0.5 * DPI)), line, fill=0, font=font)
    return img


def _scanned_pdf(*pages: list[str]) -> bytes:
    """An image-only PDF (no text layer), one page per list of lines."""
    images = [_scan_page(lines) for lines in pages]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=DPI, save_all=True, append_images=images[1:])
    return buf.getvalue()


SCAN = (["关于秸秆禁烧工作的督查通报", "经核查，13710平台转办件已办结。"],
        ["第二页：水体整治进展情况", "请各单位按时报送。"])


def test_scanned_pdf_has_no_text_layer():
    """The test's scan really is image-only: without OCR nothing could find its words."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(_scanned_pdf(*SCAN)))
    assert len(reader.pages) == 2
    assert all(not (page.extract_text() or "").strip() for page in reader.pages)


@needs_ocr
def test_scanned_pdf_is_ocred_on_every_page_and_searchable(app, make_item):
    item_id = make_item(title="扫描件检索")
    other = make_item(title="无关事项")
    upload(app, item_id, _scanned_pdf(*SCAN), "督查通报（扫描件）.pdf", "signed_report")
    assert found(app, "督查通报") == {item_id}
    assert found(app, "13710") == {item_id}  # digits read by chi_sim alone
    assert found(app, "按时报送") == {item_id}  # the second page too
    assert found(app, "无关事项") == {other}
    assert get_catalog(app.registry).not_ocred(item_id) == []


@needs_ocr
def test_only_the_scanned_pages_of_a_mixed_pdf_are_ocred(app, make_item):
    """A typed cover sheet with text in front of a stamped, scanned reply: both are searchable."""
    import pypdf
    from weasyprint import HTML

    cover = HTML(string="<p>关于河长制工作情况的报告（封面）：附件为盖章扫描件。</p>").write_pdf()
    writer = pypdf.PdfWriter()
    for data in (cover, _scanned_pdf(SCAN[0])):
        writer.append(pypdf.PdfReader(io.BytesIO(data)))
    buf = io.BytesIO()
    writer.write(buf)
    item_id = make_item(title="混合 PDF")
    upload(app, item_id, buf.getvalue(), "报告.pdf", "signed_report")
    assert found(app, "河长制") == {item_id}  # text layer of page 1
    assert found(app, "督查通报") == {item_id}  # OCR of page 2
    assert get_catalog(app.registry).not_ocred(item_id) == []


@needs_ocr
def test_ocr_is_bounded_by_pages_and_time(app, make_item, monkeypatch):
    monkeypatch.setattr(extract, "OCR_MAX_PAGES", 1)
    item_id = make_item(title="长扫描件")
    upload(app, item_id, _scanned_pdf(*SCAN), "长扫描件.pdf", "signed_report")
    assert found(app, "督查通报") == {item_id}
    assert found(app, "按时报送") == set()  # page 2 is past the page limit
    # no time left: the upload is indexed at once (by its title), its scan unread, and not retried forever
    monkeypatch.setattr(extract, "OCR_MAX_PAGES", 20)
    monkeypatch.setattr(extract, "OCR_BUDGET", 0.0)
    slow = make_item(title="超时扫描件")
    started = time.process_time()
    upload(app, slow, _scanned_pdf(["黑臭水体治理专项督查"]), "超时.pdf", "signed_report")
    assert found(app, "超时扫描件") == {slow}
    assert found(app, "黑臭水体") == set()
    assert get_catalog(app.registry).not_ocred(slow) == []
    assert time.process_time() - started < 5


def test_scanned_pdf_without_ocr_is_recorded_and_shown(app, testapp, make_item, without_ocr):
    item_id = make_item(title="待识别的扫描件")
    att = upload(app, item_id, _scanned_pdf(*SCAN), "盖章件.pdf", "signed_report")
    assert get_catalog(app.registry).not_ocred(item_id) == [att]
    assert found(app, "待识别的扫描件") == {item_id}
    assert found(app, "督查通报") == set()
    # the API says which attachments were not read: in search results and in the item
    client = api(testapp, "supervisor")
    hit = client.get("/api/v1/search", params={"q": "待识别的扫描件"}).json["results"][0]
    assert hit["id"] == item_id and hit["not_ocred"] == [att]
    assert client.get(f"/api/v1/items/{item_id}").json["not_ocred"] == [att]
    # the search page marks the result, the item page lists the attachment
    login(testapp, "supervisor")
    page = testapp.get("/search", params={"q": "待识别的扫描件"})
    badge = page.html.select_one("#results .not-ocred")
    assert "1 个附件未识别文字" in badge.text and badge["title"] == "盖章件.pdf"
    item_page = testapp.get(page.html.select_one("#results a")["href"]).follow()
    assert "盖章件.pdf" in item_page.html.select_one("#not-ocred-list").text


def test_results_without_unread_attachments_carry_no_mark(app, testapp, make_item):
    item_id = make_item(title="普通事项无附件")
    hit = api(testapp, "supervisor").get("/api/v1/search", params={"q": "普通事项无附件"}).json["results"][0]
    assert hit["id"] == item_id and hit["not_ocred"] == []
    login(testapp, "supervisor")
    page = testapp.get("/search", params={"q": "普通事项无附件"})
    assert page.html.select_one("#results .not-ocred") is None
    assert testapp.get(page.html.select_one("#results a")["href"]).follow().html.select_one("#not-ocred-list") is None


@needs_ocr
def test_a_scan_recorded_as_not_ocred_is_read_once_ocr_is_installed(app, make_item, monkeypatch, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pdftotext").symlink_to(shutil.which("pdftotext"))
    monkeypatch.setenv("PATH", str(bindir))
    extract.ocr_available.cache_clear()
    try:
        item_id = make_item(title="后补识别")
        att = upload(app, item_id, _scanned_pdf(SCAN[0]), "扫描.pdf", "signed_report")
        assert get_catalog(app.registry).not_ocred(item_id) == [att]
    finally:
        monkeypatch.undo()
        extract.ocr_available.cache_clear()
    # tesseract is back: re-indexing the item reads the scan (the cached "not OCR'd" result is not reused)
    with open_site(app.registry) as site:
        queue_item(site, item_id, app.registry)
        transaction.commit()
    assert get_catalog(app.registry).not_ocred(item_id) == []
    assert found(app, "督查通报") == {item_id}


# -- spreadsheets --------------------------------------------------------------------------------
def test_xlsx_cells_including_numbers_are_searchable(app, make_item):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "热线工单台账"
    ws.append(["序号", "工单来源", "诉求内容", "受理日期"])
    ws.append([1, 13710, "小区噪声扰民投诉", datetime(2026, 3, 5)])
    ws.append([2.0, 12345, "路灯长期不亮", None])
    buf = io.BytesIO()
    wb.save(buf)
    item_id = make_item(title="工单台账附件")
    other = make_item(title="另一个事项")
    upload(app, item_id, buf.getvalue(), "台账.xlsx", "other")
    assert found(app, "13710") == {item_id}  # an integer cell
    assert found(app, "噪声扰民") == {item_id}
    assert found(app, "热线工单台账") == {item_id}  # the sheet name
    assert found(app, "2026-03-05") == {item_id}  # a date cell as a date, not "2026-03-05 00:00:00"
    assert found(app, "路灯") == {item_id}
    assert found(app, "另一个事项") == {other}
    assert get_catalog(app.registry).not_ocred(item_id) == []
