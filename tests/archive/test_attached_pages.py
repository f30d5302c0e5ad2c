"""Pages of uploaded PDFs copied into the PDF/A dossier: what blocks a copy, and the raster fallback."""

from __future__ import annotations

import io
import subprocess
import tempfile

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from duban_archive.archive import attached_pages, checks

from .conftest import make_signed_pdf


def _save(pdf: pikepdf.Pdf, **kw) -> bytes:
    buf = io.BytesIO()
    pdf.save(buf, **kw)
    return buf.getvalue()


def helvetica_pdf(*, javascript: bool = False, **page_keys) -> bytes:
    """A one-page report as a careless exporter writes it: /Helvetica referenced, not embedded."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 48 Tf 72 700 Td (SEALED REPORT) Tj ET 0 0 1 rg 72 300 300 200 re f")
    for key, value in page_keys.items():
        page.obj[f"/{key}"] = value
    if javascript:
        pdf.Root.OpenAction = Dictionary(Type=Name.Action, S=Name.JavaScript,
                                         JS=pikepdf.String("app.launchURL('http://example.invalid/');"))
    return _save(pdf)


def javascript_pdf() -> bytes:
    """Fonts embedded (a WeasyPrint export) but JavaScript run when the file opens."""
    with pikepdf.open(io.BytesIO(make_signed_pdf(1, "JS-REPORT"))) as pdf:
        pdf.Root.OpenAction = Dictionary(Type=Name.Action, S=Name.JavaScript, JS=pikepdf.String("app.alert('hi');"))
        return _save(pdf)


def render_gray(pdf: bytes, dpi: int = 30) -> list[int]:
    """The first page as poppler paints it, grey pixels (what a reader sees)."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        with open(f"{tmp}/in.pdf", "wb") as f:
            f.write(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile", f"{tmp}/in.pdf", f"{tmp}/p"],
                       check=True, capture_output=True)
        with Image.open(f"{tmp}/p.png") as img:
            return list(img.convert("L").getdata())


def test_weasyprint_report_pages_copy_as_they_are():
    data = make_signed_pdf(3, "WEASY-REPORT")
    assert [attached_pages.problems(data, i) for i in range(3)] == [[], [], []]


def test_non_embedded_font_is_reported_and_the_raster_page_has_none():
    data = helvetica_pdf()
    reasons = attached_pages.problems(data, 0)
    assert reasons == ["字体未嵌入：Helvetica"]
    flat = attached_pages.rasterize(data, 0)
    assert attached_pages.problems(flat, 0) == []
    with pikepdf.open(io.BytesIO(flat)) as pdf:
        assert len(pdf.pages) == 1
        assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, 595, 842]
        assert not any(isinstance(o, Dictionary) and o.get("/Type") == "/Font" for o in pdf.objects)
        image = pdf.pages[0].Resources.XObject.Im0
        assert image.Filter == Name.DCTDecode and image.Width == round(595 / 72 * 200)
    # it still looks like the original: same dark text band and blue box, same blank margins
    original, copy = render_gray(data), render_gray(flat)
    assert len(original) == len(copy)
    assert sum(abs(a - b) for a, b in zip(original, copy, strict=True)) / len(copy) < 4
    assert min(copy) < 100  # not a blank page


def test_javascript_is_reported_and_the_raster_page_is_inert():
    data = javascript_pdf()
    reasons = attached_pages.problems(data, 0)
    assert any("JavaScript" in r for r in reasons) and not any("字体" in r for r in reasons)
    flat = attached_pages.rasterize(data, 0)
    assert attached_pages.problems(flat, 0) == []
    with pikepdf.open(io.BytesIO(flat)) as pdf:
        assert "/OpenAction" not in pdf.Root and "/Names" not in pdf.Root
        assert checks.scan_document(pdf) == (0, set(), [])


@pytest.mark.parametrize(("page_keys", "reason"), [
    ({"Group": Dictionary(S=Name.Transparency)}, "页面透明组未指定混合色彩空间"),
    ({"Annots": Array([Dictionary(Type=Name.Annot, Subtype=Name.Link, F=4, Rect=[0, 0, 50, 50],
                                  A=Dictionary(S=Name.Launch, F=pikepdf.String("calc.exe")))])},
     "含 PDF/A 禁止的动作（Launch）"),
    ({"Annots": Array([Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, F=132, Rect=[0, 0, 0, 0])])},
     "含数字签名域（复制到档案 PDF 后签名无法验证；原件另行保存）"),
])
def test_other_things_pdfa_forbids_on_a_page(page_keys, reason):
    assert reason in attached_pages.problems(helvetica_pdf(**page_keys), 0)


def test_cmyk_and_encryption_are_reported():
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(200, 200))
    page.obj.Contents = pdf.make_stream(b"0 0.5 1 0 k 10 10 100 100 re f")
    data = _save(pdf, encryption=pikepdf.Encryption(owner="owner", user=""))
    reasons = attached_pages.problems(data, 0)
    assert "原文件已加密（PDF/A 不允许加密）" in reasons and any("DeviceCMYK" in r for r in reasons)
    assert attached_pages.problems(attached_pages.rasterize(data, 0), 0) == []


def test_visible_size_is_preserved_for_cropped_and_rotated_pages():
    data = helvetica_pdf(CropBox=Array([50, 50, 350, 450]), Rotate=90)
    flat = attached_pages.rasterize(data, 0, dpi=72)
    with pikepdf.open(io.BytesIO(flat)) as pdf:
        assert [float(v) for v in pdf.pages[0].mediabox] == [0, 0, 400, 300]  # landscape as shown
        image = pdf.pages[0].Resources.XObject.Im0
        assert (int(image.Width), int(image.Height)) == (400, 300)


def test_unreadable_files_say_why():
    locked = _save(pikepdf.open(io.BytesIO(helvetica_pdf())),
                   encryption=pikepdf.Encryption(owner="owner", user="secret"))
    assert attached_pages.problems(locked, 0) == ["文件有打开密码，无法读取"]
    with pytest.raises(attached_pages.AttachedPageError) as info:
        attached_pages.rasterize(locked, 0)
    assert "密码" in info.value.message
    assert attached_pages.problems(b"%PDF-1.7 not really", 0)[0].startswith("PDF 无法解析")
    with pytest.raises(IndexError):
        attached_pages.problems(helvetica_pdf(), 1)


def test_final_dossier_check_sees_fonts_and_scripts_anywhere():
    """四性检测 (usability) over a PDF/A file with pages copied in: as is, it fails; rasterized, it passes."""
    import weasyprint

    dossier = weasyprint.HTML(string="<html><body style=\"font-family:'Noto Sans CJK SC'\">"
                                     "<p style='break-after:page'>卷内目录</p><p>附页占位</p></body></html>"
                              ).write_pdf(pdf_variant="pdf/a-3b")

    def with_page(source: bytes, annotate: bool = False) -> bytes:
        with pikepdf.open(io.BytesIO(dossier)) as out, pikepdf.open(io.BytesIO(source)) as src:
            out.pages[1] = src.pages[0]
            if annotate:  # JavaScript hidden in a link on a page, not in the catalog
                out.pages[1].obj.Annots = out.make_indirect(Array([out.make_indirect(Dictionary(
                    Type=Name.Annot, Subtype=Name.Link, F=4, Rect=[0, 0, 10, 10],
                    A=Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert(1)"))))]))
            return _save(out)

    def failed(pdf: bytes) -> dict[str, str]:
        return {c["name"]: c["detail"] for c in checks.usability(pdf)[0] if c["passed"] is False}

    assert failed(dossier) == {}
    assert failed(with_page(helvetica_pdf())) == {"字体全部嵌入": "未嵌入：Helvetica"}
    assert "JavaScript" in failed(with_page(make_signed_pdf(1, "X"), annotate=True))["无 JavaScript 与自动动作"]
    assert failed(with_page(attached_pages.rasterize(helvetica_pdf(javascript=True), 0))) == {}


def test_filing_rasterizes_pages_pdfa_forbids_and_keeps_the_original(app, testapp, closed_item):
    """A careless exporter's report (font not embedded, JavaScript) still files, as a clean dossier."""
    import hashlib

    import transaction

    from duban_archive.content_types.actions import add_attachment
    from duban_archive.content_types.site_access import open_site
    from duban_archive.testing import api

    from .conftest import PATH

    bad = helvetica_pdf(javascript=True)
    item_id = closed_item(photos=0, signed=1, signed_pages=1, close=False)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        add_attachment(site, item, io.BytesIO(bad), "外部报告.pdf", "signed_report", "外部单位报告", "handler",
                       max_bytes=10 ** 8)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        transaction.commit()
    officer = api(testapp, "records_officer")
    res = officer.post(f"/api/v1/items/{item_id}/file", {"retention": "D30"})  # the checks pass: it files
    assert res.json["archival_code"]
    dossier = officer.get(f"/api/v1/items/{item_id}/dossier.pdf").body
    with pikepdf.open(io.BytesIO(dossier)) as pdf:
        _fonts, unembedded, active = checks.scan_document(pdf)
        assert not unembedded and not active  # nothing PDF/A forbids anywhere in the final file
        base_fonts = {str(f.get("/BaseFont")) for f in pdf.objects
                      if isinstance(f, Dictionary) and f.get("/Type") == Name.Font}
        assert "/Helvetica" not in base_fonts  # the page came in as an image of itself
        embedded = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
    assert hashlib.sha256(embedded["外部报告.pdf"]).digest() == hashlib.sha256(bad).digest()  # original intact
    # and the WeasyPrint report beside it was copied as it is: its words still extract
    from .helpers import pdf_text

    assert "SIGNED-REPORT-1" in pdf_text(dossier)
