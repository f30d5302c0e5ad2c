"""The dossier PDF as a records officer reads it."""

from __future__ import annotations

import io
import re

import pikepdf
import pytest
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
        images = [x for p in doc.pages for x in (p.Resources.get("/XObject") or {}).values()
                  if x.get("/Subtype") == "/Image"]
        assert (480, 640) in [(int(x.Width), int(x.Height)) for x in images]
        # PDF/A-2/3 (ISO 19005-2 6.2.8) forbid image interpolation
        assert images and not any(x.get("/Interpolate") is True for x in images)


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


# -- long dossiers, fonts and size ------------------------------------------------

def _folios_are_right(pages: list[str], unnumbered: set[int]) -> None:
    """Every page carries “— N —” with its own number, but those in ``unnumbered`` (1-based) carry none."""
    for number, text in enumerate(pages, 1):
        assert re.findall(r"—\s*(\d+)\s*—", text) == ([] if number in unnumbered else [str(number)]), number


def _toc_is_right(pages: list[str]) -> None:
    toc = pages[1]
    entries = dict(re.findall(r"([一二三四五六]、\S+|备考表|盖章扫描件：\S+)\s+(\d+)\s*$", toc, re.M))
    assert set(entries) >= {"一、督办事项登记", "二、办理过程", "四、反馈报告", "六、附件", "备考表"}
    for title, number in entries.items():
        heading = re.sub(r"盖章扫描件：办结报告(\d)", r"SIGNED-REPORT-\1 page 1", title)
        assert heading in pages[int(number) - 1], f"{title} is not on page {number}"
    assert re.search(rf"页数\s.*?\b{len(pages)}\b", pages[0], re.S), "归档章 页数 must be the page count"


def _item_with_reports(app, closed_item, texts: list[str], photos: int = 1, signed: int = 1) -> str:
    from duban_archive.content_types.actions import add_feedback

    from .conftest import PATH

    item_id = closed_item(photos=photos, signed=signed, signed_pages=2, close=False)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        for text in texts:
            add_feedback(site, item, {"done": text, "progress": text, "next_steps": "继续推进",
                                      "signed_by": "张局长", "sealed": True}, "handler", app.registry)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        transaction.commit()
    return item_id


LONG_REPORT = "本月完成外墙保温、屋面防水、雨污分流管网改造，新增停车位 120 个，加装电梯 6 部。" * 8


@pytest.mark.parametrize("photos, signed", [(0, 0), (2, 2)])
def test_the_dossier_embeds_one_font_program_per_face(app, closed_item, photos, signed):
    """One document, one layout: each face used (Noto Serif and Sans CJK SC) is embedded once, as one
    subset — not once per part, nor once more for the page numbers.  The signed PDFs' own pages keep
    the fonts of the originals (they are the originals' pages)."""
    from .test_render import font_programs

    item_id = _item_with_reports(app, closed_item, [LONG_REPORT] * 12, photos=photos, signed=signed)
    pdf = _render(app, item_id)
    pages = page_texts(pdf)
    uploaded = {n for n, text in enumerate(pages) if "SIGNED-REPORT-" in text}
    assert len(uploaded) == 2 * signed
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        ours = font_programs(doc, [page for n, page in enumerate(doc.pages) if n not in uploaded])
        assert set(ours) == {"Noto-Serif-CJK-SC", "Noto-Sans-CJK-SC"}, ours
        assert all(len(programs) == 1 for programs in ours.values()), ours
        every = {program for programs in font_programs(doc).values() for program in programs}
        programs = [obj for obj in doc.objects if isinstance(obj, pikepdf.Dictionary)
                    and obj.get("/Type") == "/FontDescriptor" and ("/FontFile2" in obj or "/FontFile3" in obj)]
        # no font program in the file that no page uses (e.g. a pen for page numbers)
        assert len(programs) == len(every) == 2 + signed  # each signed report: one font of its own
        font_bytes = sum(len((d.get("/FontFile3") or d.get("/FontFile2")).read_raw_bytes()) for d in programs)
    # sizes (did not regress): laid out in two parts, each part embedded its own subset of each face and the
    # page numbers a third Serif subset: ~300 KB more fonts for a dossier like this one (+18-62 % in all)
    assert font_bytes - signed * 130_000 < 400_000, font_bytes  # 336 KB (0, 0), 346 KB + 2 x 118 KB (2, 2)
    # each signed report: its original embedded and its pages with their font; a photo: a small JPEG
    assert len(pdf) < 420_000 + signed * 270_000 + photos * 30_000, len(pdf)  # 369 KB (0, 0), 898 KB (2, 2)


def test_a_long_feedback_section_is_numbered_right(app, closed_item):
    hostile = '<img src="file:///etc/passwd"> & <b>粗</b>'
    item_id = _item_with_reports(app, closed_item, [LONG_REPORT] * 29 + [hostile])
    pdf = _render(app, item_id)
    pages = page_texts(pdf)
    # every report once, in order (2 from the fixture, then 30)
    assert [int(n) for page in pages for n in re.findall(r"第 (\d+) 次反馈", page)] == list(range(1, 33))
    assert hostile in pdf_text(pdf) and "root:" not in pdf_text(pdf)
    _toc_is_right(pages)
    _folios_are_right(pages, {1, len(pages) - 2, len(pages) - 1})  # the cover, the signed report's own pages
    assert "SIGNED-REPORT-1 page 1" in pages[-3] and "备考表" in pages[-1]


def test_a_character_without_a_glyph_late_in_the_dossier_refuses_filing(app, closed_item):
    from duban_archive.archive.filing import FilingRefused, file_item

    item_id = _item_with_reports(app, closed_item, [LONG_REPORT] * 29 + ["无法显示的字 \U00013000"])
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        with pytest.raises(FilingRefused) as info:
            file_item(site, item, app.registry, retention="Y", actor="records_officer",
                      principals=["role:records_officer"])
        assert info.value.status == 409 and "U+13000" in info.value.message
        transaction.abort()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.state == "closed" and not item.archived and item_id not in site["archive"]
