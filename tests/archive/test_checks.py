"""Honest 四性检测 (issue 13): what did not run says 「未检测」, what is broken fails, rules decide what blocks."""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
import transaction

from duban_archive.archive import originals
from duban_archive.archive.checks import security
from duban_archive.archive.filing import FilingRefused, file_item
from duban_archive.archive.report import checks_panel, item_checks
from duban_archive.archive.rules import load_rules
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site

from .conftest import OFFICER, PATH, make_photo
from .signing import altered, signed_pdf

FAKE_SCANNER = Path(__file__).resolve().parents[1] / "fixtures" / "fake_clamscan.py"
MARKER = b"DUBAN-ARCHIVE-TEST-VIRUS-MARKER"


def _truncated_jpeg() -> bytes:
    data = make_photo(1200, 900)
    return data[: int(len(data) * 0.4)]  # 60 % of its bytes cut off


def _item(app, closed_item, uploads: list[tuple[bytes, str, str]], photos: int = 1) -> str:
    """A closed item with the fixture's photo and signed PDF plus ``uploads`` (data, filename, kind)."""
    item_id = closed_item(photos=photos, signed=1, signed_pages=1, close=False)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        for data, filename, kind in uploads:
            add_attachment(site, item, io.BytesIO(data), filename, kind, filename, "handler", max_bytes=10 ** 8,
                           registry=app.registry)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        transaction.commit()
    return item_id


def _file(app, item_id: str):
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        try:
            rec = file_item(site, item, app.registry, retention="D30", actor="records_officer", principals=OFFICER)
        except FilingRefused:
            transaction.abort()
            raise
        transaction.commit()
        return rec.current.checks


@pytest.fixture
def scanner(app, monkeypatch):
    """Configure the scanner command (``duban.virus_scanner``) for this test."""

    def configure(command: str) -> None:
        monkeypatch.setitem(app.registry.settings, "duban.virus_scanner", command)

    return configure


@pytest.fixture
def unchecked_rule(app, monkeypatch, tmp_path):
    """Install a site profile's archive/rules/checks.toml for this test."""

    def install(text: str) -> None:
        (tmp_path / "archive" / "rules").mkdir(parents=True, exist_ok=True)
        (tmp_path / "archive" / "rules" / "checks.toml").write_text(text, "utf-8")
        monkeypatch.setattr(app.registry, "duban_archive_rules", load_rules(str(tmp_path)), raising=False)

    return install


def fake(extra: str = "") -> str:
    return f"{sys.executable} {FAKE_SCANNER} --no-summary{extra}"


# -- 可用性: every original fully decoded --------------------------------------------------------

def test_a_truncated_jpeg_is_flagged_and_refused(app, closed_item, scanner):
    scanner("off")
    bad = _truncated_jpeg()
    check = originals.usability(io.BytesIO(bad), "image/jpeg", "现场照片.jpg")
    assert check["passed"] is False and check["status"] == "不通过" and "无法完整解码" in check["detail"]
    assert originals.usability(io.BytesIO(make_photo()), "image/jpeg", "ok.jpg")["passed"] is True
    item_id = _item(app, closed_item, [(bad, "被截断的照片.jpg", "other")])
    with pytest.raises(FilingRefused) as info:
        _file(app, item_id)
    assert "可用性" in info.value.message and "被截断的照片.jpg" in info.value.message
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert not item.archived and item_id not in site["archive"]
        # recorded at capture too, when the capture subscriber runs (the UI shows it before filing)
        att = next(a for a in item.attachments.values() if a.filename == "被截断的照片.jpg")
        found = originals.capture_checks(att, app.registry.settings)
        assert found["usability"][0]["passed"] is False
        shown = item_checks(site, item, app.registry)
        assert shown["stage"] == "capture" and shown["conclusion"] == "不通过" and not shown["passed"]
        transaction.abort()


def test_a_truncated_photo_refuses_filing_too(app, closed_item, scanner):
    """A photo shown in the dossier: the render or the check refuses it, never a grey block filed."""
    scanner("off")
    item_id = _item(app, closed_item, [(_truncated_jpeg(), "截断.jpg", "photo")], photos=0)
    with pytest.raises(FilingRefused) as info:
        _file(app, item_id)
    # the render worker decodes strictly (WeasyPrint would let Pillow paint the missing part grey)
    assert "照片无法解码：截断.jpg" in info.value.message and "truncated" in info.value.message


def test_the_capture_subscriber_records_the_checks_on_the_attachment(app, closed_item):
    from duban_archive.events import ObjectAdded

    item_id = _item(app, closed_item, [(signed_pdf(), "签名.pdf", "signed_report"),
                                       (_truncated_jpeg(), "截断.jpg", "other")])
    with open_site(app.registry) as site:
        found = {}
        for att in site.get_item(item_id).attachments.values():
            originals.on_attachment_added(ObjectAdded(att, "handler"))
            found[att.filename] = att.original_checks
        transaction.abort()
    assert found["签名.pdf"]["authenticity"][0]["passed"] is True and found["签名.pdf"]["at"]
    assert found["截断.jpg"]["usability"][0]["passed"] is False
    assert found["现场照片1.jpg"]["usability"][0]["passed"] is True


def test_pdfs_office_ofd_and_text_are_decoded(tmp_path):
    from .conftest import make_signed_pdf

    good = make_signed_pdf(2, "OK")
    assert originals.usability(io.BytesIO(good), "application/pdf", "a.pdf")["passed"] is True
    cut = originals.usability(io.BytesIO(good[: len(good) // 3]), "application/pdf", "cut.pdf")
    assert cut["passed"] is False
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>" * 50)
        zf.writestr("word/document.xml", "<w:document>正文</w:document>" * 200)
    ok = buf.getvalue()
    assert originals.usability(io.BytesIO(ok), docx, "a.docx")["passed"] is True
    at = ok.index(b"word/document.xml") + 40  # inside the deflated member: its CRC no longer matches
    broken = ok[:at] + bytes([ok[at] ^ 0xFF]) + ok[at + 1:]
    assert originals.usability(io.BytesIO(broken), docx, "b.docx")["passed"] is False
    assert originals.usability(io.BytesIO(b"not a zip"), docx, "c.docx")["passed"] is False
    ofd = io.BytesIO()
    with zipfile.ZipFile(ofd, "w") as zf:
        zf.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    found = originals.usability(io.BytesIO(ofd.getvalue()), "application/ofd", "d.ofd")
    assert found["passed"] is False and "OFD.xml" in found["detail"]
    assert originals.usability(io.BytesIO("说明".encode()), "text/plain", "e.txt")["passed"] is True
    unknown = originals.usability(io.BytesIO(b"\x00\x01"), "application/octet-stream", "f.bin")
    assert unknown["passed"] is None and unknown["status"] == "未检测"
    path = tmp_path / "g.pdf"
    path.write_bytes(good)
    assert originals.usability(path, "application/pdf", "g.pdf")["passed"] is True


# -- 真实性: signatures of PDF originals ---------------------------------------------------------

def test_a_pdf_whose_signed_bytes_were_altered_fails_authenticity(app, closed_item, scanner):
    scanner("off")
    intact, broken = signed_pdf(), altered(signed_pdf())
    (ok,) = originals.signatures(io.BytesIO(intact), "报告.pdf")
    assert ok["passed"] is True and "签名完整有效" in ok["detail"] and "证书链未验证" in ok["detail"]
    (bad,) = originals.signatures(io.BytesIO(broken), "报告.pdf")
    assert bad["passed"] is False and "签名后内容被改动" in bad["detail"]
    assert originals.signatures(io.BytesIO(signed_pdf_unsigned()), "plain.pdf") == []

    item_id = _item(app, closed_item, [(broken, "盖章报告-被改.pdf", "signed_report")])
    with pytest.raises(FilingRefused) as info:
        _file(app, item_id)
    assert "真实性" in info.value.message and "盖章报告-被改.pdf" in info.value.message
    assert "签名后内容被改动" in info.value.message


def signed_pdf_unsigned() -> bytes:
    from .conftest import make_signed_pdf

    return make_signed_pdf(1, "UNSIGNED")


def test_an_intact_signature_is_verified_at_capture_and_at_filing(app, closed_item, scanner):
    scanner(fake())
    item_id = _item(app, closed_item, [(signed_pdf(), "盖章报告-签名.pdf", "signed_report")])
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        att = next(a for a in item.attachments.values() if a.filename == "盖章报告-签名.pdf")
        originals.capture_checks(att, app.registry.settings)  # what the capture subscriber records
        transaction.commit()
    report = _file(app, item_id)
    (sig,) = [c for c in report["sections"]["authenticity"] if c["id"] == "authenticity.signature"]
    assert sig["passed"] is True and sig["at_capture"] == "通过" and "采集时" in sig["detail"]
    # the scanner ran and found nothing, everything else passed: only now is the conclusion 通过
    assert report["conclusion"] == "通过" and report["passed"] is True
    with open_site(app.registry) as site:
        shown = item_checks(site, site.get_item(item_id), app.registry)
    assert shown["stage"] == "filing" and shown["conclusion"] == "通过"


# -- 安全性: the virus scanner ----------------------------------------------------------------------

def test_no_scanner_configured_is_unchecked_and_the_conclusion_is_not_passed(app, closed_item, scanner):
    scanner("off")
    item_id = _item(app, closed_item, [])
    report = _file(app, item_id)  # the default rule: without a configured scanner, filing goes on
    (virus,) = report["sections"]["security"]
    assert virus["passed"] is None and virus["status"] == "未检测" and virus["configured"] is False
    assert report["conclusion"] == "部分未检测" and report["passed"] is False and not report["blocked"]
    assert any("病毒检测" in u for u in report["unchecked"])
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        rec = site["archive"][item_id]
        with rec.current.blob.open("r") as f:
            package = f.read()
        # the report in the package
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            text = next(zf.read(n) for n in zf.namelist() if n.endswith("check-report.txt")).decode("utf-8")
        assert "结论：部分未检测（1 项未检测，不视为通过）" in text and "[未检测] 病毒检测" in text
        assert "结论：通过" not in text
        # the item page and the API
        shown = item_checks(site, item, app.registry)
        assert shown["conclusion"] == "部分未检测" and shown["unchecked"] == 1 and not shown["passed"]

        class Request:
            registry = app.registry

        html = checks_panel(Request(), item)
        assert "部分未检测" in html and "未检测" in html and "不视为通过" in html
        # the 归档文件目录
        from duban_archive.archive.lists import records, rows

        (row,) = [r for r in rows(site, records(site)) if r["档号"] == rec.archival_code]
        assert "四性检测：1 项未检测" in row["备注"]


def test_a_scanner_reporting_an_infection_blocks_filing(app, closed_item, scanner):
    scanner(fake())
    item_id = _item(app, closed_item, [(b"harmless text " + MARKER, "说明.txt", "other")])
    with pytest.raises(FilingRefused) as info:
        _file(app, item_id)
    assert "安全性" in info.value.message and "病毒检测" in info.value.message
    assert "Duban-Test-Marker FOUND" in info.value.message
    with open_site(app.registry) as site:
        assert not site.get_item(item_id).archived


def test_the_scanner_process_exit_codes(tmp_path, app):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_bytes(b"clean")
    settings = {"duban.virus_scanner": fake()}
    (clean,) = security(tmp_path, settings)
    assert clean["passed"] is True and clean["configured"] is True
    (tmp_path / "data" / "b.bin").write_bytes(MARKER)
    (found,) = security(tmp_path, settings)
    assert found["passed"] is False and "b.bin: Duban-Test-Marker FOUND" in found["detail"]
    (tmp_path / "data" / "b.bin").unlink()
    (tmp_path / "data" / "scanner-error").write_bytes(b"")
    (error,) = security(tmp_path, settings)
    assert error["passed"] is None and error["configured"] is True and "退出码 2" in error["detail"]
    (missing,) = security(tmp_path, {"duban.virus_scanner": "/nonexistent/clamscan --no-summary"})
    assert missing["passed"] is None and missing["configured"] is True and "无法启动" in missing["detail"]
    (off,) = security(tmp_path, {"duban.virus_scanner": "off"})
    assert off["passed"] is None and off["configured"] is False


@pytest.mark.skipif(shutil.which("clamscan") is None, reason="ClamAV (clamscan) is not installed")
def test_real_clamscan_never_passes_the_eicar_test_file(tmp_path):
    (tmp_path / "data").mkdir()
    eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    (tmp_path / "data" / "eicar.txt").write_text(eicar, "ascii")
    (result,) = security(tmp_path, {"duban.virus_scanner": "clamscan --no-summary -r"})
    # without a signature database clamscan exits 2: 「未检测」 (configured), never 通过
    assert result["passed"] is False or (result["passed"] is None and result["configured"] is True)


# -- the rule file --------------------------------------------------------------------------------------

def test_the_rule_file_switches_whether_unchecked_blocks_filing(app, closed_item, scanner, unchecked_rule):
    scanner("off")
    unchecked_rule('[unchecked]\ndefault = "show"\n"security.virus" = "block"\n')
    item_id = _item(app, closed_item, [])
    with pytest.raises(FilingRefused) as info:
        _file(app, item_id)
    assert "病毒检测" in info.value.message and "未检测不得归档" in info.value.message
    unchecked_rule('[unchecked]\ndefault = "show"\n')
    report = _file(app, item_id)
    assert report["conclusion"] == "部分未检测" and not report["blocked"]


def test_a_configured_scanner_that_fails_blocks_by_default_and_not_when_shown(app, closed_item, scanner,
                                                                             unchecked_rule, tmp_path):
    broken = tmp_path / "broken-scanner"
    broken.write_text("#!/bin/sh\necho 'LibClamAV Error: cli_loaddbdir(): No supported database files' >&2\n"
                      "exit 2\n")
    broken.chmod(0o755)
    scanner(str(broken))
    item_id = _item(app, closed_item, [])
    with pytest.raises(FilingRefused) as info:  # default rule: block_when_configured
        _file(app, item_id)
    assert "病毒检测" in info.value.message and "No supported database files" in info.value.message
    unchecked_rule('[unchecked]\n"security.virus" = "show"\n')
    report = _file(app, item_id)
    assert report["conclusion"] == "部分未检测" and report["sections"]["security"][0]["configured"] is True


def test_a_bad_rule_file_is_refused_at_start_up(tmp_path):
    from duban_archive.definitions import DefinitionError

    (tmp_path / "archive" / "rules").mkdir(parents=True)
    (tmp_path / "archive" / "rules" / "checks.toml").write_text('[unchecked]\n"security.virus" = "maybe"\n', "utf-8")
    with pytest.raises(DefinitionError) as info:
        load_rules(str(tmp_path))
    assert "maybe" in str(info.value)
    (tmp_path / "archive" / "rules" / "checks.toml").write_text('[unchecked]\n"speed" = "block"\n', "utf-8")
    with pytest.raises(DefinitionError):
        load_rules(str(tmp_path))


def test_reports_sealed_before_this_change_read_honestly():
    """Packages sealed earlier stored ``passed: True`` with a virus check that had not run (None)."""
    from duban_archive.archive.checks import conclusion_of, readable, unchecked_count

    old = {"passed": True, "failed": [], "sections": {
        "authenticity": [{"name": "原件摘要", "passed": True, "detail": "本件无上传原件"}],
        "security": [{"name": "病毒检测", "passed": None, "detail": "未运行：本机未安装 ClamAV（clamscan）"}]}}
    assert conclusion_of(old) == "部分未检测" and unchecked_count(old) == 1
    text = readable(old, archival_code="Z109-WS·2026-Y-ZJJ-0001", checked_at="2026-11-22T10:00:00+08:00")
    assert "结论：部分未检测（1 项未检测，不视为通过）" in text and "[未检测] 病毒检测" in text
    assert conclusion_of(None) == "未检测"
