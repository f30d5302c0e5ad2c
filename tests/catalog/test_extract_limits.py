"""Bounded extraction (issue 12.3): zip bombs in Office files are refused at upload or skipped by the
indexer with the "not extracted" mark, never inflated past their budget; the rest of the queue is indexed.

Every bomb is built here with zipfile, streaming a repeated chunk so that the test never holds the
inflated bytes either.  Memory is the peak RSS growth of this process (the kernel's high-water mark,
reset through ``/proc/self/clear_refs``).
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
from dataclasses import dataclass

import pytest
import transaction

from duban_archive.catalog import extract
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import queue_item
from duban_archive.content_types import attachment
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.attachment import (
    Budget,
    ContainerLimits,
    ContainerRefused,
    UploadRefused,
    open_container,
    read_member,
    screen_container,
)
from duban_archive.content_types.site_access import open_site

MB = 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def _types(*overrides: tuple[str, str]) -> bytes:
    parts = "".join(f'<Override PartName="/{name}" ContentType="{kind}"/>' for name, kind in overrides)
    return DECL + (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{parts}</Types>').encode()


def _rels(*targets: tuple[str, str, str]) -> bytes:
    rels = "".join(f'<Relationship Id="{rid}" Type="{R}/{kind}" Target="{target}"/>' for rid, kind, target in targets)
    return DECL + f'<Relationships xmlns="{PKG_RELS}">{rels}</Relationships>'.encode()


@dataclass
class Streamed:
    """A part written as ``head``, then ``chunk`` ``times`` times, then ``tail``: never held whole."""

    chunk: bytes
    times: int
    head: bytes = b""
    tail: bytes = b""


def package(parts: dict[str, bytes | Streamed]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            if isinstance(body, Streamed):
                with zf.open(name, "w") as member:
                    member.write(body.head)
                    for _ in range(body.times):
                        member.write(body.chunk)
                    member.write(body.tail)
            else:
                zf.writestr(name, body)
    return out.getvalue()


def docx(body: bytes | Streamed, **extra: bytes) -> bytes:
    """A .docx whose ``w:body`` is ``body`` (``Streamed``: repeated paragraphs)."""
    head, tail = DECL + f'<w:document xmlns:w="{W}"><w:body>'.encode(), b"</w:body></w:document>"
    document = (Streamed(body.chunk, body.times, head, tail) if isinstance(body, Streamed)
                else head + body + tail)
    return package({
        "[Content_Types].xml": _types(("word/document.xml", DOCX[:-8] + "document.main+xml")),
        "_rels/.rels": _rels(("rId1", "officeDocument", "word/document.xml")),
        "word/document.xml": document,
        **extra,
    })


def para(text: str) -> bytes:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()


def xlsx(rows: bytes | Streamed, shared: tuple[str, ...] = (), styles: bytes = b"", book_pr: str = "") -> bytes:
    sheet_head, sheet_tail = DECL + f'<worksheet xmlns="{S}"><sheetData>'.encode(), b"</sheetData></worksheet>"
    sst = "".join(f"<si><t>{s}</t></si>" for s in shared)
    parts = {
        "[Content_Types].xml": _types(("xl/workbook.xml", XLSX[:-5] + "sheet.main+xml")),
        "_rels/.rels": _rels(("rId1", "officeDocument", "xl/workbook.xml")),
        "xl/workbook.xml": DECL + (f'<workbook xmlns="{S}" xmlns:r="{R}">{book_pr}<sheets>'
                                   '<sheet name="热线工单" sheetId="1" r:id="rId1"/></sheets></workbook>').encode(),
        "xl/_rels/workbook.xml.rels": _rels(("rId1", "worksheet", "worksheets/sheet1.xml"),
                                            ("rId2", "sharedStrings", "sharedStrings.xml"),
                                            ("rId3", "styles", "styles.xml")),
        "xl/sharedStrings.xml": DECL + f'<sst xmlns="{S}">{sst}</sst>'.encode(),
        "xl/styles.xml": DECL + f'<styleSheet xmlns="{S}">'.encode() + styles + b"</styleSheet>",
        "xl/worksheets/sheet1.xml": (Streamed(rows.chunk, rows.times, sheet_head, sheet_tail)
                                     if isinstance(rows, Streamed) else sheet_head + rows + sheet_tail),
    }
    return package(parts)


ROW = '<row><c t="inlineStr"><is><t>小区噪声扰民投诉</t></is></c><c><v>13710</v></c></row>'.encode()
PARA = para("整改报告：已完成污水管网清淤疏浚。")


@pytest.fixture(scope="module")
def bombs():
    """60 MB of repeated XML each, a few hundred KB compressed."""
    return {"docx": docx(Streamed(PARA, 60 * MB // len(PARA))), "xlsx": xlsx(Streamed(ROW, 60 * MB // len(ROW)))}


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """``data`` with member ``name`` declaring ``size`` bytes uncompressed (local header and directory)."""
    data = bytearray(data)
    encoded = name.encode()
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(encoded) + 1)
    assert data[central + 46:central + 46 + len(encoded)] == encoded
    struct.pack_into("<I", data, central + 24, size)
    (local,) = struct.unpack_from("<I", data, central + 42)
    assert data[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, size)
    return bytes(data)


def _status() -> dict[str, int]:
    with open("/proc/self/status") as f:
        return {k: int(v.split()[0]) * 1024 for k, v in (line.split(":", 1) for line in f) if k in ("VmHWM", "VmRSS")}


def peak_growth(call):
    """(result of ``call()``, peak RSS growth in bytes while it ran)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pytest.skip("cannot reset the peak RSS here (/proc/self/clear_refs)")
    before = _status()["VmRSS"]
    result = call()
    return result, _status()["VmHWM"] - before


def add(site, item_id: str, data: bytes, filename: str, registry) -> str:
    att = add_attachment(site, site.get_item(item_id), io.BytesIO(data), filename, "other", "", "supervisor",
                         max_bytes=100 * MB, registry=registry)
    return att.__name__


def found(app, q):
    return {h.id for h in get_catalog(app.registry).search(SUPERVISOR, q).hits}


# -- at upload ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_a_zip_bomb_is_refused_at_upload_in_chinese(app, make_item, bombs, kind):
    data = bombs[kind]
    assert len(data) < 1 * MB
    item_id = make_item(title="炸弹上传")
    with open_site(app.registry) as site:
        (refused, growth) = peak_growth(lambda: _refusal(site, item_id, data, f"报告.{kind}", app.registry))
        transaction.abort()
    assert refused.status == 413
    assert "压缩炸弹" in refused.message and "压缩比异常" in refused.message and "上限 200 倍" in refused.message
    assert growth < 10 * MB, f"{growth / MB:.0f} MB"  # judged from the directory, nothing inflated


def _refusal(site, item_id, data, filename, registry) -> UploadRefused:
    with pytest.raises(UploadRefused) as refused:
        add(site, item_id, data, filename, registry)
    return refused.value


def test_a_lying_header_is_refused_at_upload(app, make_item):
    liar = lie_about_size(docx(Streamed(PARA, 20 * MB // len(PARA))), "word/document.xml", 4096)
    item_id = make_item(title="造假目录")
    with open_site(app.registry) as site:
        refused, growth = peak_growth(lambda: _refusal(site, item_id, liar, "伪造.docx", app.registry))
        transaction.abort()
    assert refused.status == 413 and "压缩包目录造假" in refused.message
    assert growth < 10 * MB, f"{growth / MB:.0f} MB"


def test_too_many_members_or_nesting_too_deep_is_refused(app, make_item):
    app.registry.settings["duban.max_zip_members"] = "20"  # this test's ini override
    crowded = docx(PARA, **{f"word/media/image{i}.png": b"x" for i in range(25)})
    inner = package({"c.zip": package({"d.txt": b"deep"})})
    nested = docx(PARA, **{"word/embeddings/a.xlsx": package({"b.zip": inner})})
    embedded = docx(para("正文附表"), **{"word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx(ROW)})
    item_id = make_item(title="结构异常")
    with open_site(app.registry) as site:
        assert "文件过多（28 个，上限 20 个）" in _refusal(site, item_id, crowded, "多.docx", app.registry).message
        assert "嵌套过深" in _refusal(site, item_id, nested, "套.docx", app.registry).message
        add(site, item_id, embedded, "含附表.docx", app.registry)  # one embedded workbook: an ordinary file
        transaction.commit()
    assert found(app, "正文附表") == {item_id}


def test_the_member_count_is_read_before_zipfile_parses_the_directory():
    data = bytearray(package({"a.xml": b"<a/>"}))
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, end + 8, 0xFFFE, 0xFFFE)  # the end record claims 65,534 members
    with pytest.raises(ContainerRefused, match="文件过多"):
        open_container(io.BytesIO(bytes(data)), ContainerLimits())


def test_read_member_never_gives_more_than_the_directory_declares():
    liar = lie_about_size(docx(Streamed(PARA, 10 * MB // len(PARA))), "word/document.xml", 100_000)
    fp = io.BytesIO(liar)
    info = zipfile.ZipFile(fp).getinfo("word/document.xml")
    given = 0
    with pytest.raises(ContainerRefused, match="压缩包目录造假"):
        for piece in read_member(fp, info, Budget(50 * MB)):
            given += len(piece)
    assert given <= 100_000
    honest = io.BytesIO(docx(Streamed(PARA, 10_000)))
    info = zipfile.ZipFile(honest).getinfo("word/document.xml")
    with pytest.raises(ContainerRefused, match="解压后超过 100.0 KB 的上限"):  # the budget, while inflating
        for _piece in read_member(honest, info, Budget(100 * 1024)):
            pass


# -- in the indexer ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["docx", "xlsx"])
def test_the_indexer_skips_a_bomb_with_the_mark_and_indexes_the_rest(app, make_item, bombs, kind, caplog):
    bomb_item, other = make_item(title="旧版上传的炸弹"), make_item(title="普通整改报告")
    permissive = {"duban.max_zip_ratio": "1000000", "duban.max_extract_bytes": str(100 * MB)}
    saved = {k: app.registry.settings.get(k) for k in permissive}
    with open_site(app.registry) as site:
        app.registry.settings.update(permissive)  # accepted when it was uploaded (an older, laxer site)
        try:
            bomb = add(site, bomb_item, bombs[kind], f"炸弹.{kind}", app.registry)
        finally:
            app.registry.settings.update(saved)
        add(site, other, docx(PARA), "整改报告.docx", app.registry)
        caplog.set_level(logging.WARNING, logger="duban_archive.catalog.extract")
        _none, growth = peak_growth(transaction.commit)  # both queued in one transaction, indexed after commit
    assert found(app, "清淤疏浚") == {other}  # the rest of the queue
    assert found(app, "旧版上传的炸弹") == {bomb_item}  # the bomb's item, by its own text and the file name
    assert found(app, "小区噪声扰民投诉") == set()
    assert get_catalog(app.registry).not_ocred(bomb_item) == [bomb]  # marked, as a scan without OCR is
    assert get_catalog(app.registry).not_ocred(other) == []
    assert any(f"炸弹.{kind}" in r.getMessage() and "not extracted" in r.getMessage() and "压缩比异常" in r.getMessage()
               for r in caplog.records)
    assert growth < 40 * MB, f"{growth / MB:.0f} MB"


def test_a_lying_header_that_got_in_is_caught_while_inflating(app, make_item, monkeypatch):
    liar = lie_about_size(docx(Streamed(PARA, 20 * MB // len(PARA))), "word/document.xml", 4096)
    item_id = make_item(title="漏网的伪造文件")
    monkeypatch.setattr(attachment, "screen_container", lambda fp, limits: None)  # uploaded before the screen
    with open_site(app.registry) as site:
        name = add(site, item_id, liar, "伪造.docx", app.registry)
        _none, growth = peak_growth(transaction.commit)
    assert get_catalog(app.registry).not_ocred(item_id) == [name]
    assert found(app, "漏网的伪造文件") == {item_id}
    assert growth < 40 * MB, f"{growth / MB:.0f} MB"


def test_a_merely_big_file_is_kept_and_read_once_the_limit_is_raised(app, make_item, caplog, tmp_path):
    app.registry.settings["duban.max_extract_bytes"] = str(64 * 1024)  # this test's ini override
    rows = b"".join(para(f"第{i}项：河道垃圾清理完成，编号 HD-{i * 7919 % 100000:05d}") for i in range(2000))
    data = docx(rows)
    item_id = make_item(title="大文件")
    with open_site(app.registry) as site:
        name = add(site, item_id, data, "台账说明.docx", app.registry)  # not hostile: accepted
        caplog.set_level(logging.WARNING, logger="duban_archive.catalog.extract")
        transaction.commit()
    assert get_catalog(app.registry).not_ocred(item_id) == [name]
    assert found(app, "HD-07919") == set()
    assert any("超过全文提取上限" in r.getMessage() for r in caplog.records)
    app.registry.settings["duban.max_extract_bytes"] = str(50 * MB)
    with open_site(app.registry) as site:  # the "over the limit" result was not cached
        queue_item(site, item_id, app.registry)
        transaction.commit()
    assert get_catalog(app.registry).not_ocred(item_id) == []
    assert found(app, "HD-07919") == {item_id}


# -- the readers themselves ------------------------------------------------------------------------
def test_even_with_limits_off_a_bomb_is_read_in_bounded_memory(tmp_path, bombs):
    """The streaming readers stop at MAX_CHARS and build no tree: python-docx took 916 MB and 31 s here."""
    lax = ContainerLimits(max_bytes=200 * MB, max_ratio=10 ** 9)
    for kind, mime in (("docx", DOCX), ("xlsx", XLSX)):
        path = tmp_path / f"bomb.{kind}"
        path.write_bytes(bombs[kind])
        got, growth = peak_growth(lambda p=str(path), m=mime: extract.extract_file(p, m, lax))
        assert got.ok and len(got.text) == extract.MAX_CHARS, kind
        assert growth < 40 * MB, f"{kind}: {growth / MB:.0f} MB"


def test_docx_text_in_document_order_without_duplicates(tmp_path):
    body = (para("关于河长制工作情况的报告") +
            f'<w:tbl><w:tr><w:tc>{para("序号").decode()}</w:tc><w:tc>{para("整改措施").decode()}</w:tc></w:tr>'
            '</w:tbl>'.encode() +
            b'<w:p><w:r><w:t xml:space="preserve">\xe5\xb7\xb2 </w:t></w:r><w:del><w:r><w:delText>\xe5\x88\xa0'
            b'</w:delText></w:r></w:del><w:r><w:tab/><w:t>\xe5\xae\x8c\xe6\x88\x90</w:t></w:r>'
            b'<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
            b'<mc:Choice Requires="wps"><w:r><w:t>\xe6\x96\x87\xe6\x9c\xac\xe6\xa1\x86</w:t></w:r></mc:Choice>'
            b'<mc:Fallback><w:r><w:t>\xe6\x96\x87\xe6\x9c\xac\xe6\xa1\x86</w:t></w:r></mc:Fallback>'
            b'</mc:AlternateContent></w:p>')
    path = tmp_path / "a.docx"
    path.write_bytes(docx(body))
    got = extract.extract_file(str(path), DOCX)
    assert (got.ok, got.method) == (True, "docx")
    assert got.text == "关于河长制工作情况的报告\n序号\n整改措施\n已 \t完成文本框"


def test_xlsx_cells_dates_and_strings(tmp_path):
    styles = (b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d;@"/></numFmts>'
              b'<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="31"/><xf numFmtId="2"/>'
              b'</cellXfs>')
    rows = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="b"><v>1</v></c></row>'
            '<row r="2"><c r="A2" s="1"><v>46086</v></c><c r="B2" s="2"><v>46087</v></c>'
            '<c r="C2" s="3"><v>12.5</v></c><c r="D2"><v>2.0</v></c><c r="E2" t="str"><f>A1</f><v>公式结果</v></c>'
            '<c r="F2" t="inlineStr"><is><r><t>行内</t></r><r><t>文字</t></r></is></c></row>').encode()
    path = tmp_path / "a.xlsx"
    path.write_bytes(xlsx(rows, shared=("工单来源", "诉求内容"), styles=styles))
    got = extract.extract_file(str(path), XLSX)
    assert (got.ok, got.method) == (True, "xlsx")
    assert got.text == "热线工单\n工单来源 诉求内容 True\n2026-03-05 2026-03-06 12.5 2 公式结果 行内文字"
    path.write_bytes(xlsx(b'<row><c s="1"><v>1</v></c></row>', styles=styles, book_pr='<workbookPr date1904="1"/>'))
    assert extract.extract_file(str(path), XLSX).text == "热线工单\n1904-01-02"


def test_a_dtd_in_office_xml_is_not_extracted(tmp_path, caplog):
    laughs = (DECL + b'<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
              + f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>'
              .encode())
    path = tmp_path / "dtd.docx"
    path.write_bytes(package({"_rels/.rels": _rels(("rId1", "officeDocument", "word/document.xml")),
                              "word/document.xml": laughs}))
    caplog.set_level(logging.WARNING, logger="duban_archive.catalog.extract")
    got = extract.extract_file(str(path), DOCX)
    assert (got.text, got.ok, got.method) == ("", False, extract.OVER_LIMIT)
    assert any("DTD" in r.getMessage() for r in caplog.records)


def test_settings_and_defaults_agree():
    from duban_archive.settings import DEFAULTS

    limits = ContainerLimits.from_settings(DEFAULTS)
    assert limits == ContainerLimits()
    assert (limits.max_bytes, limits.max_ratio, limits.max_members) == (50 * MB, 200, 10_000)
    assert ContainerLimits.from_settings({"duban.max_zip_ratio": "abc", "duban.max_zip_members": "0"}) == limits
    screen_container(io.BytesIO(docx(PARA)), limits)  # an ordinary file passes
