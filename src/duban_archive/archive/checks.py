"""四性检测 (DA/T 70-2018): authenticity, integrity, usability, security.

Each check returns plain dicts ``{"name", "passed", "detail"}`` (``passed``
is None for a check that could not run, e.g. no virus scanner installed);
a package whose report has any ``False`` is not filed.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .metadata import PayloadFile, missing_required

SECTIONS = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}


def _check(name: str, passed: bool | None, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "detail": detail}


def file_digests(path: Path) -> tuple[str, str]:
    from ..content_types.attachment import _sm3

    sha, sm3 = hashlib.sha256(), _sm3()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            sha.update(chunk)
            sm3.update(chunk)
    return sha.hexdigest(), sm3.hexdigest()


def authenticity(bag_dir: Path, files: list[PayloadFile], embedded_expected: dict[str, str],
                 embedded_found: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        if not f.capture_sha256:
            continue
        sha, sm3 = f.sha256, f.sm3  # taken from the bytes written into the bag
        ok = sha == f.capture_sha256 and (not f.capture_sm3 or sm3 == f.capture_sm3)
        out.append(_check(f"原件与采集时摘要一致：{f.original_name}", ok,
                          f"SHA-256 {sha}" if ok else f"摘要不符：采集时 {f.capture_sha256}，现为 {sha}"))
    for name, sha in embedded_expected.items():
        got = embedded_found.get(name)
        out.append(_check(f"档案 PDF 内嵌原件逐字节一致：{name}", got == sha,
                          "一致" if got == sha else f"内嵌文件摘要 {got or '缺失'}，应为 {sha}"))
    if not out:
        out.append(_check("原件摘要", True, "本件无上传原件"))
    return out


def integrity(bag_dir: Path, files: list[PayloadFile], metadata: bytes, piece_series: list[int],
              piece: int) -> list[dict[str, Any]]:
    out = []
    payload = [p for p in (bag_dir / "data").rglob("*") if p.is_file()]
    expected = {f.path for f in files}
    actual = {p.relative_to(bag_dir).as_posix() for p in payload}
    size_ok = all((bag_dir / f.path).stat().st_size == f.size for f in files if (bag_dir / f.path).exists())
    ok = expected <= actual and size_ok
    out.append(_check("文件数量与字节数", ok,
                      f"{len(actual)} 个文件，共 {sum(p.stat().st_size for p in payload)} 字节"
                      if ok else f"缺失：{'、'.join(sorted(expected - actual)) or '无'}；大小不符：{not size_ok}"))
    missing = missing_required(metadata)
    out.append(_check("必备元数据项", not missing, "齐全" if not missing else "缺少：" + "、".join(missing)))
    series = sorted(set(piece_series) | {piece})
    gaps = sorted(set(range(1, series[-1] + 1)) - set(series)) if series else []
    out.append(_check("件号连续无空号", not gaps, f"件号 {piece}，本系列 1–{series[-1]}" if not gaps
                      else "空号：" + "、".join(map(str, gaps))))
    return out


def usability(pdf_bytes: bytes) -> tuple[list[dict[str, Any]], dict[str, str], int]:
    """PDF checks; also returns the embedded files' SHA-256 and the page count."""
    import pikepdf

    out: list[dict[str, Any]] = []
    embedded: dict[str, str] = {}
    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except pikepdf.PdfError as exc:
        return [_check("PDF 可解析", False, str(exc))], embedded, 0
    with pdf:
        pages = len(pdf.pages)
        out.append(_check("PDF 可解析", pages > 0, f"共 {pages} 页"))
        out.append(_check("未加密", not pdf.is_encrypted, "未加密" if not pdf.is_encrypted else "文件已加密"))
        meta = pdf.open_metadata()
        part = meta.get("pdfaid:part")
        conf = meta.get("pdfaid:conformance")
        out.append(_check("PDF/A 标识", part in ("2", "3", "4") and bool(conf),
                          f"PDF/A-{part}{(conf or '').lower()}" if part else "缺少 PDF/A 标识（XMP pdfaid）"))
        fonts, unembedded, active = scan_document(pdf)
        out.append(_check("字体全部嵌入", not unembedded,
                          f"{fonts} 个字体均已嵌入" if not unembedded else "未嵌入：" + "、".join(sorted(unembedded))))
        out.append(_check("无 JavaScript 与自动动作", not active, "无" if not active else "；".join(active)))
        for spec in pdf.attachments.values():
            embedded[spec.filename] = hashlib.sha256(spec.get_file().read_bytes()).hexdigest()
    return out, embedded, pages


def scan_document(pdf) -> tuple[int, set[str], list[str]]:
    """Every object of ``pdf``, not just what the pages' resources list: the number of fonts, the
    names of those not embedded, and the active content found (JavaScript, forbidden actions,
    automatic actions) — in form XObjects, annotations, appearance streams and orphans alike.

    Each indirect object is read once with the direct objects inside it, so the cost is one
    pass over the file.
    """
    from pikepdf import Array, Dictionary, Stream

    from .attached_pages import FONT_SUBTYPES, font_embedded, font_name, forbidden_action

    containers = (Dictionary, Array, Stream)
    fonts = 0
    unembedded: set[str] = set()
    active: dict[str, int] = {}
    for top in pdf.objects:
        if not isinstance(top, containers):
            continue
        stack = [top]
        while stack:
            obj = stack.pop()
            values = list(obj) if isinstance(obj, Array) else [v for k, v in obj.items() if k not in _NUMBER_KEYS]
            stack.extend(v for v in values if isinstance(v, containers) and not v.is_indirect)
            if isinstance(obj, Array):
                continue
            keys = set(obj.keys())
            subtype = obj.get("/Subtype") if "/Subtype" in keys else None
            if subtype in FONT_SUBTYPES and ("/BaseFont" in keys or obj.get("/Type") == "/Font"):
                fonts += 1
                if not font_embedded(obj):
                    unembedded.add(font_name(obj))
            if "/S" in keys or "/JS" in keys:
                kind = forbidden_action(obj)
                if kind:
                    key = f"含 {kind} 动作"
                    active[key] = active.get(key, 0) + 1
            if "/AA" in keys:
                active["含自动动作（/AA）"] = active.get("含自动动作（/AA）", 0) + 1
            if "/JavaScript" in keys:  # the catalog's /Names: the name tree of document scripts
                active["含 JavaScript 名称树"] = active.get("含 JavaScript 名称树", 0) + 1
    return fonts, unembedded, [f"{what}（{n} 处）" for what, n in active.items()]


#: long arrays of numbers that cannot hold a font or an action
_NUMBER_KEYS = frozenset({"/Widths", "/W", "/W2", "/Rect", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox",
                          "/ArtBox", "/BBox", "/Matrix", "/FontBBox", "/Decode", "/Range", "/Domain", "/Encode",
                          "/Bounds", "/C0", "/C1", "/Size"})


def security(bag_dir: Path) -> list[dict[str, Any]]:
    scanner = shutil.which("clamdscan") or shutil.which("clamscan")
    if scanner is None:
        return [_check("病毒检测", None, "未运行：本机未安装 ClamAV（clamscan）")]
    try:
        proc = subprocess.run([scanner, "--no-summary", "-r", str(bag_dir / "data")], capture_output=True,
                              text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [_check("病毒检测", False, f"病毒扫描未完成：{exc}")]
    if proc.returncode == 0:
        return [_check("病毒检测", True, f"{Path(scanner).name}：未发现病毒")]
    if proc.returncode == 1:
        return [_check("病毒检测", False, "发现病毒：" + proc.stdout.strip()[:500])]
    return [_check("病毒检测", None, f"未运行：扫描器出错（{proc.stderr.strip()[:200]}）")]


def summarize(report: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    failed = [f"{SECTIONS[s]}：{c['name']}（{c['detail']}）" for s, cs in report.items() for c in cs
              if c["passed"] is False]
    return {"passed": not failed, "failed": failed, "sections": report}


def readable(summary: dict[str, Any], *, archival_code: str, checked_at: str) -> str:
    mark = {True: "通过", False: "不通过", None: "未运行"}
    lines = ["四性检测报告（DA/T 70-2018）", f"档号：{archival_code}", f"检测时间：{checked_at}",
             f"结论：{'通过' if summary['passed'] else '不通过'}", ""]
    for section, checks in summary["sections"].items():
        lines.append(f"【{SECTIONS[section]}】")
        for c in checks:
            lines.append(f"  [{mark[c['passed']]}] {c['name']}：{c['detail']}")
        lines.append("")
    return "\n".join(lines)


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2)
