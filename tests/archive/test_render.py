"""The safe PDF/A renderer: fetcher, escaping, fonts, limits."""

from __future__ import annotations

import http.server
import io
import threading

import pikepdf
import pytest

from duban_archive.archive.render import RenderFailed, harfbuzz_subsetting, render_pdf, render_template

from .helpers import pdf_text


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
