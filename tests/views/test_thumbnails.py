"""Thumbnails and dossier photos are decoded reduced, under a memory bound; image bombs are never decoded
(and the upload form refuses a zip bomb).

The bombs are built here, row by row with zlib: a blank 12000×9000 PNG is a few KB
and never exists in memory.  Memory is the peak RSS growth of this process around
the request (the kernel's high-water mark, reset through ``/proc/self/clear_refs``):
Pillow's pixel buffers are not Python objects, tracemalloc would not see them.
"""

from __future__ import annotations

import io
import re
import struct
import zlib

import pytest
import transaction

from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import login

MB = 1024 * 1024


def blank_png(width: int, height: int, *, color_type: int = 0, depth: int = 1) -> bytes:
    """A blank PNG of ``width`` × ``height`` (grey 1-bit by default), compressed one row at a time."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    row = b"\x00" + bytes((width * channels * depth + 7) // 8)  # filter byte "none", then zeros
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(height)) + z.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def big_jpeg(width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (width, height), 200)
    ImageDraw.Draw(img).rectangle((width // 4, height // 4, width // 2, height // 2), fill=30)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def _status() -> dict[str, int]:
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmHWM", "VmRSS")}


def peak_growth(call):
    """(result of ``call()``, peak RSS growth in bytes while it ran)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # the high-water mark starts again from the current RSS
    except OSError:
        pytest.skip("cannot reset the peak RSS here (/proc/self/clear_refs)")
    before = _status()["VmRSS"]
    result = call()
    return result, _status()["VmHWM"] - before


def store(app, item_id: str, data: bytes, filename: str, *, max_pixels: int = 10 ** 9, forget_size=False) -> str:
    """Attach ``data`` bypassing today's pixel limit (an attachment from before the limit was lowered)."""
    with open_site(app.registry) as site:
        att = add_attachment(site, site.get_item(item_id), io.BytesIO(data), filename, "photo", "", "supervisor",
                             max_bytes=500 * MB, max_pixels=max_pixels, registry=app.registry)
        if forget_size:  # older attachments carry no dimensions: only the file's header can tell
            att.width = att.height = None
        transaction.commit()
        return f"/boards/zdgz/{item_id}/attachments/{att.__name__}/@@thumbnail"


@pytest.mark.parametrize("forget_size", [False, True], ids=["size-recorded", "header-only"])
def test_image_bomb_is_never_decoded_and_gets_a_placeholder(app, testapp, make_item, forget_size):
    bomb = blank_png(12000, 9000)  # 108 megapixels in a few KB
    assert len(bomb) < 64 * 1024
    url = store(app, make_item(title="超大图片"), bomb, "炸弹.png", forget_size=forget_size)
    login(testapp, "supervisor")
    res, growth = peak_growth(lambda: testapp.get(url, status="*"))
    assert res.status_int == 200 and res.content_type == "image/svg+xml"  # a placeholder, not a 500
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert b"<svg" in res.body and b"<script" not in res.body
    assert growth < 20 * MB, f"{growth / MB:.0f} MB"


def test_a_lowered_limit_applies_to_stored_photos(app, testapp, make_item):
    url = store(app, make_item(title="旧照片"), blank_png(3000, 2000, color_type=2, depth=8), "旧照片.png")
    login(testapp, "supervisor")
    assert testapp.get(url).content_type == "image/jpeg"
    app.registry.settings["duban.max_image_pixels"] = str(5_000_000)  # this test's ini override
    assert testapp.get(url).content_type == "image/svg+xml"


def test_a_broken_image_gets_an_image_not_a_500(app, testapp, make_item):
    whole = blank_png(640, 480, color_type=2, depth=8)
    item_id = make_item(title="损坏的照片")
    url = store(app, item_id, whole, "损坏.png")
    with open_site(app.registry) as site:  # the stored bytes rot (or were never a whole image)
        att = site.get_item(item_id).attachments[re.search(r"attachments/([^/]+)/", url).group(1)]
        with att.blob.open("w") as f:
            f.write(whole[:60])
        transaction.commit()
    login(testapp, "supervisor")
    res = testapp.get(url, status="*")
    # the placeholder — or, once WeasyPrint is imported in the process (it sets Pillow's
    # LOAD_TRUNCATED_IMAGES for everyone), the part of the photo that is left; never a 500
    assert res.status_int == 200 and res.content_type in ("image/svg+xml", "image/jpeg")


def test_a_big_png_within_the_limit_is_decoded_once_in_its_own_mode(app, testapp, make_item):
    """24 megapixels RGBA: one decode is 96 MB; the old view held four full-size copies (~380 MB)."""
    url = store(app, make_item(title="大截图"), blank_png(6000, 4000, color_type=6, depth=8), "截图.png")
    login(testapp, "supervisor")
    res, growth = peak_growth(lambda: testapp.get(url))
    assert res.content_type == "image/jpeg" and res.body[:2] == b"\xff\xd8"
    from PIL import Image

    with Image.open(io.BytesIO(res.body)) as thumb:
        assert thumb.size == (480, 320) and thumb.getpixel((10, 10)) in (255, (255, 255, 255))  # transparent: white
    assert growth < 24_000_000 * 4 + 30 * MB, f"{growth / MB:.0f} MB"


def test_a_big_jpeg_is_decoded_at_an_eighth(app, testapp, make_item):
    url = store(app, make_item(title="高像素照片"), big_jpeg(8000, 6000), "现场.jpg")
    login(testapp, "supervisor")
    res, growth = peak_growth(lambda: testapp.get(url))
    assert res.content_type == "image/jpeg"
    assert growth < 20 * MB, f"{growth / MB:.0f} MB"  # 48 megapixels at full size would be 48–192 MB


def test_upload_still_refuses_the_bomb(app, testapp, make_item):
    from duban_archive.content_types.attachment import UploadRefused

    with open_site(app.registry) as site, pytest.raises(UploadRefused) as refused:
        add_attachment(site, site.get_item(make_item()), io.BytesIO(blank_png(12000, 9000)), "炸弹.png", "photo",
                       "", "supervisor", max_bytes=500 * MB, max_pixels=50_000_000, registry=app.registry)
    transaction.abort()
    assert refused.value.status == 413 and "像素过多" in refused.value.message


# -- photos in the dossier --------------------------------------------------------------------
def test_dossier_photos_are_decoded_once_and_refused_over_the_limit():
    from duban_archive.archive.render import RenderFailed, RenderJob, _downscale, asset_url
    from duban_archive.content_types.attachment import configure_pillow

    url = asset_url("img-a1")
    job = RenderJob(html="", title="", assets={url: (blank_png(6000, 4000, color_type=6, depth=8), "image/png")},
                    downscale={url})
    configure_pillow(50_000_000)
    _none, growth = peak_growth(lambda: _downscale(job, {url}))
    from PIL import Image

    with Image.open(io.BytesIO(job.assets[url][0])) as img:
        assert img.format == "JPEG" and max(img.size) == job.image_max_side
    assert growth < 24_000_000 * 4 + 30 * MB, f"{growth / MB:.0f} MB"

    bomb = asset_url("img-a2")
    job = RenderJob(html="", title="", assets={bomb: (blank_png(12000, 9000), "image/png")}, downscale={bomb})
    with pytest.raises(RenderFailed, match="照片无法解码"):
        _none, growth = peak_growth(lambda: _downscale(job, {bomb}))


# -- the upload form (same view module) ---------------------------------------------------------
def test_the_upload_form_refuses_a_zip_bomb_in_chinese(testapp, in_progress_item):
    from ..catalog.test_extract_limits import PARA, Streamed, docx

    login(testapp, "handler")
    form = testapp.get(f"/boards/zdgz/{in_progress_item}/@@upload").forms["upload-form"]
    form["kind"] = "other"
    form["file"] = ("整改报告.docx", docx(Streamed(PARA, 30 * MB // len(PARA))), "application/octet-stream")
    page = form.submit(status=413)
    assert "压缩炸弹" in page.text and "文件未被接受，未做任何更改" in page.text
