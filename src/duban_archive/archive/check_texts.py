"""The 四性检测 report's words as msgids, so the item page can show a sealed report in English.

A report is sealed into the package as it was written — Chinese sentences with the values
filled in (「PDF 共 3 页，每页内容可解析（采集时 2026-12-04 10:00）」) — and is never
rewritten: :data:`SENTENCES` (:class:`~duban_archive.stored_text.Sentences` of the templates
the checks write: ``checks.py``, ``package.py``, ``originals.py``, ``report.py``) reads it back
in the reader's language.  Chinese readers get the stored text untouched.
"""

from __future__ import annotations

from ..stored_text import Sentences, Translate

#: sentences that wrap another one: tried first, so the inner sentence is translated on its own
WRAPPERS = ("{detail}（采集时 {at}）", "{detail}；采集时（{at}）：{status}", "{detail}；采集时：未记录")

#: what the checks write (``checks.py``, ``package.py``, ``originals.py``, ``report.py``): names and details
TEMPLATES = (
    # names
    "病毒检测", "BagIt 校验", "档案 PDF 可解析", "未加密", "PDF/A 标识", "字体全部嵌入", "无 JavaScript 与自动动作",
    "文件数量与字节数", "必备元数据项", "件号连续无空号", "原件摘要", "原件与采集时摘要一致：{name}",
    "档案 PDF 内嵌原件逐字节一致：{name}", "原件可完整读取：{name}", "电子签名：{name}",
    "电子签名有效：{name}（{field}）",
    # details
    "待检测：上传后在后台检测，尚未完成", "上传后在后台检测签名与可读性", "未检测：归档封包时扫描",
    "未检测：未配置病毒扫描程序（duban.virus_scanner），本机也未安装 ClamAV",
    "未检测：扫描程序 {name} 无法启动（{error}）",
    "未检测：{name} 超过 {seconds} 秒未完成", "{name}：未发现病毒", "{name} 发现病毒：{found}",
    "未检测：{name} 出错（退出码 {code}：{error}）", "清单与文件一致", "SHA-256 {sha}",
    "摘要不符：采集时 {expected}，现为 {found}",
    "一致", "内嵌文件摘要 {found}，应为 {expected}", "缺失", "本件无上传原件", "{n} 个文件，共 {size} 字节",
    "缺失：{missing}；大小不符：{size}", "无", "齐全", "缺少：{missing}", "件号 {piece}，本系列 1–{last}",
    "空号：{gaps}",
    "共 {pages} 页", "文件已加密", "缺少 PDF/A 标识（XMP pdfaid）", "{n} 个字体均已嵌入", "未嵌入：{fonts}",
    "未检测：无法校验此格式（{mimetype}）", "未知类型", "未检测：解码期间 Pillow 被设置为容忍截断图像",
    "图像像素超出限制：{error}",
    "图像无法完整解码：{error}", "{format} 图像 {width}×{height}，完整解码",
    "{format} 图像 {width}×{height}，完整解码（{frames} 帧）",
    "PDF 没有页面", "第 {n} 页内容无法解析：{error}", "PDF 有打开密码，无法读取", "PDF 无法解析：{error}",
    "文件结构损坏",
    "PDF 共 {pages} 页，每页内容可解析", "{kind}结构不完整：缺少 {required}", "未检测：成员过大（{name}）",
    "{kind}无法解压：{error}", "{kind}成员损坏（CRC 不符）：{name}", "{kind}，{n} 个成员均可解压且校验一致",
    "Office 文档",
    "OFD 文档", "文本（{encoding}）可完整解码", "文本既非 UTF-8 也非 GB18030 编码", "未检测：未安装 pyHanko",
    "未检测：签名无法读取（{error}）", "签名无法验证：{error}", "签名后内容被改动（摘要不符）；签名人 {signer}",
    "签名值验证失败；签名人 {signer}", "签名后文件有不允许的修改；签名人 {signer}",
    "签名完整有效；签名人 {signer}；{chain}",
    "证书链可信", "证书链不可信", "证书链未验证（未配置信任根）",
    # results quoted in a detail (「…；采集时（…）：通过」)
    "通过", "不通过", "未检测",
)

SENTENCES = Sentences(TEMPLATES, WRAPPERS)
#: why a package version was sealed (``filing.py``: the first at filing, the next ones at a 著录更正)
VERSION_REASONS = Sentences(("归档", "著录更正：{reason}"))


def localize(text: str, tr: Translate) -> str:
    """One stored sentence of a report in ``tr``'s language; unknown sentences as they are."""
    return SENTENCES.localize(text, tr)
