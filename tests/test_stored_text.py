"""Stored sentences read back in English, and unchanged when read back in Chinese (issue 15)."""

from __future__ import annotations

from duban_archive.archive.check_texts import SENTENCES, VERSION_REASONS
from duban_archive.audit.describe import zh
from duban_archive.i18n import localizer
from duban_archive.stored_text import Sentences


def english(msgid, mapping):
    from pyramid.i18n import TranslationString

    text = localizer("en").translate(TranslationString(msgid, domain="duban_archive"))
    return text.format_map(mapping) if mapping else text


STORED = ["PNG 图像 64×48，完整解码；采集时（2026-12-04T10:00:00+08:00）：通过",
          "PDF 共 3 页，每页内容可解析（采集时 2026-12-04 10:00）",
          "未检测：未配置病毒扫描程序（duban.virus_scanner），本机也未安装 ClamAV",
          "原件可完整读取：现场照片（整改后）.png", "签名完整有效；签名人 张三；证书链未验证（未配置信任根）",
          "Office 文档，12 个成员均可解压且校验一致"]


def test_a_sealed_report_reads_in_english_with_its_values_kept():
    assert [SENTENCES.localize(s, english) for s in STORED] == [
        "PNG image 64×48, fully decoded; at capture (2026-12-04T10:00:00+08:00): Passed",
        "PDF with 3 pages, every page parses (at capture, 2026-12-04 10:00)",
        "Not checked: no virus scanner configured (duban.virus_scanner) and ClamAV is not installed on this machine",
        "Original fully readable: 现场照片（整改后）.png",  # the file's name is data
        "signature intact and valid; signed by 张三; certificate chain not verified (no trust roots configured)",
        "Office document, all 12 members unzip and match their checksums"]
    assert VERSION_REASONS.localize("著录更正：题名有误", english) == "Metadata correction: 题名有误"


def test_read_back_in_chinese_every_sentence_is_byte_identical():
    for text in STORED + ["著录更正：题名有误", "归档"]:
        assert SENTENCES.localize(text, zh) == text
        assert VERSION_REASONS.localize(text, zh) == text


def test_a_sentence_no_template_wrote_is_shown_as_stored():
    sentences = Sentences(("立卷归档，档号 {code}",))
    assert sentences.localize("请尽快补充材料", english) == "请尽快补充材料"
    assert sentences.localize("立卷归档，档号 X-1", english) == "Filed, archival code X-1"
