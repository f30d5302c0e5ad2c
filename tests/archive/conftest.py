"""Fixtures for the archive tests: a closed item with feedback, 批示, photos and signed PDFs."""

from __future__ import annotations

import io

import pytest
import transaction

from duban_archive.content_types.actions import add_attachment, add_feedback, add_instruction
from duban_archive.content_types.site_access import open_site

PATH = [("approve", "leader", ["role:leader"], {}), ("assign", "supervisor", ["role:supervisor"], {}),
        ("accept", "unit_head", ["unit:zjj:unit_head", "unit:zjj"], {}),
        ("request_closure", "handler", ["unit:zjj:handler", "unit:zjj"], {}),
        ("review", "supervisor", ["role:supervisor"], {}), ("close", "leader", ["role:leader"], {"grade": "A"})]
OFFICER = ["user:records_officer", "role:records_officer"]


def make_photo(width: int = 640, height: int = 480, orientation: int | None = None) -> bytes:
    """A JPEG whose left half is red and right half blue (to see EXIF rotation)."""
    from PIL import Image

    img = Image.new("RGB", (width, height), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(out, "JPEG", exif=exif.tobytes(), quality=85)
    else:
        img.save(out, "JPEG", quality=85)
    return out.getvalue()


_signed_cache: dict[tuple[int, str], bytes] = {}


def make_signed_pdf(pages: int = 2, marker: str = "SIGNED-REPORT") -> bytes:
    """A PDF report of ``pages`` pages with ``marker`` on each (fonts embedded, as a real export has)."""
    key = (pages, marker)
    if key not in _signed_cache:
        import weasyprint

        body = "".join(f'<p style="break-after: page">{marker} page {n + 1} 盖章</p>' for n in range(pages))
        _signed_cache[key] = weasyprint.HTML(string=f"<html><body style=\"font-family:'Noto Sans CJK SC'\">"
                                             f"{body}</body></html>").write_pdf()
    return _signed_cache[key]


def close_item(registry, item) -> None:
    wf = registry.duban_workflows[item.workflow]
    for name, actor, principals, data in PATH:
        wf.fire(item, name, actor, principals, data)


@pytest.fixture
def closed_item(app, make_item):
    """Factory: a closed item with 2 feedback reports, a 批示, a photo and a signed PDF."""

    def factory(photos: int = 1, signed: int = 1, signed_pages: int = 2, close: bool = True, **fields) -> str:
        item_id = make_item(**fields)
        registry = app.registry
        with open_site(registry) as site:
            item = site.get_item(item_id)
            wf = registry.duban_workflows[item.workflow]
            for name, actor, principals, data in PATH[:3]:
                wf.fire(item, name, actor, principals, data)
            add_instruction(site, item, {"text": "请抓紧落实，按期办结。", "leader": "李副市长"}, "leader", registry)
            for n in range(2):
                add_feedback(site, item, {"done": f"第{n + 1}批改造完成", "progress": "已完成外立面改造",
                                          "next_steps": "推进管网改造", "signed_by": "张局长", "sealed": True},
                             "handler", registry)
            for n in range(photos):
                add_attachment(site, item, io.BytesIO(make_photo(orientation=6 if n == 0 else None)),
                               f"现场照片{n + 1}.jpg", "photo", f"改造现场{n + 1}", "handler",
                               max_bytes=10 ** 8)
            for n in range(signed):
                add_attachment(site, item, io.BytesIO(make_signed_pdf(signed_pages, f"SIGNED-REPORT-{n + 1}")),
                               f"盖章报告{n + 1}.pdf", "signed_report", f"办结报告{n + 1}", "handler",
                               max_bytes=10 ** 8)
            if close:
                for name, actor, principals, data in PATH[3:]:
                    wf.fire(item, name, actor, principals, data)
            transaction.commit()
        return item_id

    return factory
