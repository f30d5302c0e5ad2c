"""The safe PDF/A renderer: fetcher, escaping, fonts, limits."""

from __future__ import annotations

import http.server
import io
import re
import threading

import pikepdf
import pytest

from duban_archive.archive.render import RenderFailed, harfbuzz_subsetting, render_pdf, render_template

from .helpers import page_texts, pdf_text


@pytest.fixture
def trap_server():
    """A local HTTP server that counts every request it gets (there must be none)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: red }")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_fetcher_serves_no_file_and_no_network(trap_server):
    base, hits = trap_server
    hostile = f"""<html><head><title>攻击</title>
      <link rel="stylesheet" href="{base}/linked.css">
      <style>@import url("{base}/imported.css"); @import url("file:///etc/passwd");</style></head>
      <body><p>正文</p><img src="file:///etc/passwd"><img src="{base}/pixel.png">
      <iframe src="file:///etc/passwd"></iframe><object data="file:///etc/hostname"></object>
      <img src="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'%3E%3Cimage href='file:///etc/passwd'/%3E%3C/svg%3E">
      </body></html>"""
    pdf = render_pdf(hostile, title="攻击")
    assert hits == []
    text = pdf_text(pdf)
    assert "正文" in text
    assert "root:" not in text


def test_template_escapes_user_strings():
    html = render_template("duban_archive.archive:templates/filing_list.pt", title="<b>标题</b>",
                           columns=("题名",), rows=[{"题名": '<img src="file:///etc/passwd">'}])
    assert "<img" not in html and "&lt;img" in html


def test_output_is_pdfa3_with_subsetted_embedded_noto_fonts():
    assert harfbuzz_subsetting(), "libharfbuzz-subset0 must be installed: fontTools subsetting is ~30x slower"
    pdf = render_pdf("<html><body><h1>督办事项</h1><p>推进老旧小区改造 ABC 123</p></body></html>", title="测试")
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        meta = doc.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == "B"
        fonts = doc.pages[0].Resources.Font
        names = {str(f.BaseFont) for f in fonts.values()}
        assert any("Noto-Serif-CJK-SC" in n for n in names) and any("Noto-Sans-CJK-SC" in n for n in names)
        for font in fonts.values():
            desc = font.DescendantFonts[0].FontDescriptor
            assert "/FontFile3" in desc or "/FontFile2" in desc
            assert str(font.BaseFont)[7] == "+"  # subset tag ABCDEF+
            embedded = desc.get("/FontFile3") or desc.get("/FontFile2")
            # a subset (glyph ids retained, outlines dropped), never the 16 MB face nor the 20 MB collection
            assert len(embedded.read_bytes()) < 2_000_000 and len(embedded.read_raw_bytes()) < 300_000
    assert len(pdf) < 400_000
    assert "督办事项" in pdf_text(pdf) and "推进老旧小区改造" in pdf_text(pdf)


def test_character_without_font_fails_the_render():
    with pytest.raises(RenderFailed) as info:
        render_pdf("<html><body><p>事项 \U00013000 象形文字</p></body></html>", title="缺字")
    assert "U+13000" in info.value.message and "没有可用字体" in info.value.message


def test_render_that_overruns_its_time_is_killed():
    html = "<html><body>" + "<p>推进老旧小区改造，完成三个小区的改造任务。</p>" * 3000 + "</body></html>"
    with pytest.raises(RenderFailed) as info:
        render_pdf(html, title="超时", timeout=0.3)
    assert "超时" in info.value.message


# -- one document, uploaded PDF pages swapped in, one font subset per face ---------------------------

HEAD = '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"/><title>合卷测试</title></head><body>'
BOOK_CSS = """@page cover { @bottom-center { content: none; } }
.cover { page: cover; }
section.part { break-before: page; }
a.pageref::after { content: target-counter(attr(href url), page); }
.pagecount::after { content: target-counter(url(#end), page); }
div.attached { page: attached; break-before: page; height: 1px; }
td.p { text-align: right; width: 20%; }"""
LONG = "各单位按照职责分工推进老旧小区改造，完成外墙保温、屋面防水和雨污分流管网改造。" * 40


def _book_job():
    """A cover with the page count, a TOC pointing at chapters and at an upload's page, five chapters,
    two uploaded PDFs' pages (placeholders) before chapter 5, the first upload embedded."""
    from duban_archive.archive.render import Embedded, RenderJob, base_css

    from .conftest import make_signed_pdf

    original, second = make_signed_pdf(2, "ORIGINAL"), make_signed_pdf(1, "SECOND")
    toc = "".join(f'<tr><td><a href="#c{n}">第{n}章</a></td><td class="p"><a class="pageref" href="#c{n}"></a>'
                  "</td></tr>" for n in range(1, 6))
    toc += '<tr><td><a href="#orig-0">原件</a></td><td class="p"><a class="pageref" href="#orig-0"></a></td></tr>'
    chapters = "".join(f'<section class="part" id="c{n}"><h2>第{n}章标题</h2><p>{LONG if n < 4 else LONG[:200]}</p>'
                       "</section>" for n in range(1, 5))
    placeholders = "".join(f'<div class="attached" id="{a}"></div>' for a in ("orig-0", "orig-1", "second-0"))
    html = (HEAD + '<section class="cover"><h1>封面</h1><p>页数 <span class="pagecount"></span></p></section>'
            f'<section class="part"><h1>目录</h1><table>{toc}</table></section>{chapters}{placeholders}'
            f'<section class="part" id="c5"><h2>第5章标题</h2><p>{LONG[:200]}</p><div id="end"></div></section>'
            "</body></html>")
    return RenderJob(html=html, title="合卷测试", stylesheets=[base_css(), BOOK_CSS],
                     pdf_pages={"orig-0": (original, 0), "orig-1": (original, 1), "second-0": (second, 0)},
                     embedded=[Embedded("原件.pdf", original, "原件")])


def _find(pages: list[str], text: str) -> int:
    """The 1-based number of the first page holding ``text``."""
    return next(n for n, page in enumerate(pages, 1) if text in page)


def font_programs(doc: pikepdf.Pdf, pages=None) -> dict[str, set[tuple[int, int]]]:
    """Face name (subset tag dropped) -> the embedded font programs (FontFile2/3 streams) of that face."""
    out: dict[str, set[tuple[int, int]]] = {}
    for page in pages if pages is not None else doc.pages:
        for font in (page.Resources.get("/Font") or {}).values():
            for descendant in font.get("/DescendantFonts") or [font]:
                descriptor = descendant.FontDescriptor
                program = descriptor.get("/FontFile3") or descriptor.get("/FontFile2") or descriptor.get("/FontFile")
                assert program is not None, f"font not embedded: {font.BaseFont}"
                out.setdefault(str(font.BaseFont).split("+", 1)[-1], set()).add(program.objgen)
    return out


def test_one_document_with_uploaded_pages_numbered_linked_and_one_subset_per_face():
    from duban_archive.archive.render import render_job

    from .conftest import make_signed_pdf

    original = make_signed_pdf(2, "ORIGINAL")
    pdf = render_job(_book_job())
    pages = page_texts(pdf)
    # the uploads' pages stand where their placeholders were laid out: right before chapter 5, in order
    c5 = _find(pages, "第5章标题")
    assert ["ORIGINAL page 1" in pages[c5 - 4], "ORIGINAL page 2" in pages[c5 - 3], "SECOND" in pages[c5 - 2]] == [
        True, True, True]
    assert _find(pages, "第1章标题") == 3
    # the cover's page count and the TOC's numbers are the pages where things really are
    assert re.search(rf"页数\s+{len(pages)}\b", pages[0])
    for n in range(1, 6):
        assert re.search(rf"第{n}章\s+{_find(pages, f'第{n}章标题')}\b", pages[1]), n
    assert re.search(rf"原件\s+{_find(pages, 'ORIGINAL page 1')}\b", pages[1])
    # every page is numbered but the cover and the uploads' pages
    for number, text in enumerate(pages, 1):
        folio = re.findall(r"—\s*(\d+)\s*—", text)
        if number == 1 or "ORIGINAL" in text or "SECOND" in text:
            assert folio == [], number
        else:
            assert folio == [str(number)], number
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        # the TOC's links go to the pages of their chapters, and to the upload's page that replaced its placeholder
        dests = pikepdf.NameTree(doc.Root.Names.Dests)
        targets = []
        for annot in doc.pages[1].obj.Annots:
            dest = annot.get("/Dest")
            if dest is None:
                dest = annot.A.D
            dest = dest if isinstance(dest, pikepdf.Array) else dests[str(dest)]
            if isinstance(dest, pikepdf.Dictionary):
                dest = dest.D
            targets.append(next(n for n, page in enumerate(doc.pages, 1) if page.obj == dest[0]))
        wanted = [_find(pages, f"第{n}章标题") for n in range(1, 6)] + [_find(pages, "ORIGINAL page 1")]
        assert sorted(set(targets)) == sorted(set(wanted))
        # one PDF/A-3b identity
        assert doc.open_metadata().get("pdfaid:part") == "3" and doc.open_metadata().get("pdfaid:conformance") == "B"
        assert len(doc.Root.OutputIntents) == 1 and str(doc.Root.Lang) == "zh-CN"
        # the original is an associated file, byte for byte
        (spec,) = doc.Root.AF
        assert str(spec.AFRelationship) == "/Source" and spec.EF.F.read_bytes() == original
        assert doc.attachments["原件.pdf"].get_file().read_bytes() == original
        # the document's own pages: exactly one embedded program per face, shared by every page
        ours = [page for n, page in enumerate(doc.pages, 1) if n not in (c5 - 3, c5 - 2, c5 - 1)]
        faces = font_programs(doc, ours)
        assert set(faces) == {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC"}, faces
        assert all(len(programs) == 1 for programs in faces.values()), faces
        # the uploads' pages keep their own fonts, under subset names of their own
        uploaded = font_programs(doc, [doc.pages[c5 - 4]])
        ours_names = {str(f.BaseFont) for p in ours for f in p.Resources.Font.values()}
        upload_names = {str(f.BaseFont) for f in doc.pages[c5 - 4].Resources.Font.values()}
        assert uploaded and not ours_names & upload_names
        # one outline with every chapter
        with doc.open_outline() as outline:
            titles = [item.title for top in outline.root for item in [top, *top.children]]
        assert [f"第{n}章标题" for n in range(1, 6)] == [t for t in titles if t.endswith("章标题")]


def test_shortcuts_of_the_worker_do_not_change_the_document():
    """A render in a forked worker (one-pass subsetting, level-1 deflate) reads as one done here."""
    from duban_archive.archive.render import render_in_process, render_job

    forked, here = render_job(_book_job()), render_in_process(_book_job())
    assert page_texts(forked) == page_texts(here)
    with pikepdf.open(io.BytesIO(forked)) as doc:
        for font in doc.pages[2].Resources.Font.values():
            program = font.DescendantFonts[0].FontDescriptor.FontFile3
            assert len(program.read_raw_bytes()) < 300_000  # a subset, never the collection


def _children() -> list[int]:
    import os

    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == os.getpid():
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def test_a_render_that_fails_says_why_and_leaves_no_worker():
    from duban_archive.archive.render import render_job

    job = _book_job()
    job.html = job.html.replace("第4章标题", "第4章 \U00013000 标题")
    with pytest.raises(RenderFailed) as info:
        render_job(job)
    assert "U+13000" in info.value.message and "没有可用字体" in info.value.message
    assert _children() == []


def test_a_render_that_overruns_its_time_kills_its_worker():
    from duban_archive.archive.render import render_job

    job = _book_job()
    job.html = HEAD + f"<p>{LONG}</p>" * 120 + "</body></html>"
    job.pdf_pages = {}
    with pytest.raises(RenderFailed) as info:
        render_job(job, timeout=0.5)
    assert "超时" in info.value.message
    assert _children() == []


def test_renders_from_two_threads_at_once_both_finish():
    """Each render's worker keeps only its own pipe: one forked while another render is setting up
    must not hold that render's pipe open (the other would wait for its end for ever)."""
    from duban_archive.archive.render import render_job

    done: list[int] = []
    failed: list[str] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        for _ in range(4):
            barrier.wait(timeout=60)
            try:
                done.append(len(page_texts(render_job(_book_job(), timeout=30))))
            except RenderFailed as exc:
                failed.append(exc.message)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert failed == [] and len(done) == 8 and len(set(done)) == 1


def test_a_placeholder_page_is_swapped_for_the_page_of_an_uploaded_pdf():
    from duban_archive.archive.render import RenderJob, base_css, render_job

    from .conftest import make_signed_pdf

    upload = make_signed_pdf(2, "UPLOADED")
    html = (HEAD + '<p>正文在前</p><div id="ph" style="break-before: page; height: 1pt"></div>'
            '<p style="break-before: page">正文在后</p></body></html>')
    pdf = render_job(RenderJob(html=html, title="占位", stylesheets=[base_css()], pdf_pages={"ph": (upload, 1)}))
    pages = page_texts(pdf)
    assert len(pages) == 3 and "正文在前" in pages[0] and "UPLOADED page 2" in pages[1] and "正文在后" in pages[2]
