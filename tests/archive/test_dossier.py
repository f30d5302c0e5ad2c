"""The dossier PDF as a records officer reads it."""

from __future__ import annotations

import io
import re

import pikepdf
import transaction

from duban_archive.archive.dossier import render_dossier
from duban_archive.content_types.site_access import open_site

from .conftest import make_signed_pdf
from .helpers import page_texts, pdf_text


def _render(app, item_id: str) -> bytes:
    with open_site(app.registry) as site:
        return render_dossier(site, site.get_item(item_id), app.registry)


def test_dossier_has_every_part_with_real_page_numbers(app, closed_item):
    item_id = closed_item(photos=1, signed=1, signed_pages=2, title="推进老旧小区改造（2026年）")
    pdf = _render(app, item_id)
    pages = page_texts(pdf)
    cover, toc = pages[0], pages[1]
    # cover: 归档章 boxes, 题名, dates, units, 密级; 页数 counts every page incl. appended ones
    for label in ("全宗号", "年度", "件号", "机构(问题)", "保管期限", "页数", "推进老旧小区改造（2026年）",
                  "立项日期", "办结日期", "主办单位", "市住建局", "协办单位", "市交通运输局", "密级", "公开"):
        assert label in cover, label
    assert re.search(rf"\b{len(pages)}\b", cover), "归档章 页数 must be the dossier's page count"
    # 卷内目录: every entry's number is the page where that part really starts
    entries = dict(re.findall(r"([一二三四五六]、\S+|备考表|盖章扫描件：\S+)\s*\.*\s*(\d+)", toc))
    assert set(entries) >= {"一、督办事项登记", "二、办理过程", "四、反馈报告", "备考表"}
    for title, number in entries.items():
        heading = title.replace("盖章扫描件：办结报告1", "SIGNED-REPORT-1 page 1")
        assert heading in pages[int(number) - 1], f"{title} is not on page {number}"
    text = pdf_text(pdf)
    for expected in ("请抓紧落实，按期办结。", "第2批改造完成", "推进管网改造", "A（优秀）", "审签", "交办", "签收",
                     "申请办结", "核查通过", "办结", "照片 1：改造现场1"):
        assert expected in text, expected
    # the signed report's own pages follow the dossier, and 备考表 is last
    assert "SIGNED-REPORT-1 page 1" in pages[-3] and "SIGNED-REPORT-1 page 2" in pages[-2]
    assert "备考表" in pages[-1] and "整理人" in pages[-1]
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        # the original is embedded byte-identical as a PDF/A-3 associated file
        (spec,) = doc.attachments.values()
        assert spec.filename == "盖章报告1.pdf"
        assert spec.get_file().read_bytes() == make_signed_pdf(2, "SIGNED-REPORT-1")
        assert str(doc.Root.AF[0].AFRelationship) == "/Source"
        assert doc.open_metadata().get("pdfaid:part") == "3"
        # the photo (EXIF orientation 6: shot rotated) is upright: 640x480 pixels shown as 480 wide, 640 high
        sizes = [(int(x.Width), int(x.Height)) for p in doc.pages
                 for x in (p.Resources.get("/XObject") or {}).values() if x.get("/Subtype") == "/Image"]
        assert (480, 640) in sizes


def test_hostile_item_is_rendered_as_text(app, closed_item):
    item_id = closed_item(photos=0, signed=0,
                          title='<img src="file:///etc/passwd">标题',
                          content='<style>@import url("http://127.0.0.1:9/x.css");</style><script>alert(1)</script>'
                                  "内容 & <b>粗</b>")
    pdf = _render(app, item_id)
    text = pdf_text(pdf)
    assert '<img src="file:///etc/passwd">标题' in text
    assert "@import url(" in text and "<script>alert(1)</script>" in text and "<b>粗</b>" in text
    assert "root:" not in text


def test_failed_render_leaves_the_item_unchanged(app, closed_item):
    from duban_archive.archive.filing import FilingRefused, file_item

    item_id = closed_item(photos=0, signed=0, content="无法显示的字 \U00013000")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        try:
            file_item(site, item, app.registry, retention="Y", actor="records_officer",
                      principals=["role:records_officer"])
        except FilingRefused as exc:
            assert exc.status == 409 and "U+13000" in exc.message and "没有可用字体" in exc.message
        else:  # pragma: no cover
            raise AssertionError("filing should have been refused")
        transaction.abort()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.state == "closed" and not item.archived
        assert item_id not in site["archive"]
        assert not [e for e in site["audit"].for_target(item_id) if e["action"] == "file"]
