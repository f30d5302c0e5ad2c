"""四性检测 (DA/T 70-2018): 真实性 (authenticity), 完整性 (integrity), 可用性 (usability), 安全性 (security).

Each check is a plain dict ``{"id", "name", "passed", "status", "detail"}``:
``passed`` True (通过), False (不通过) or None — the check did not run
(「未检测」: no scanner configured, a format nobody here can decode, a
scanner that errored).  A check that did not run is never a pass: the
report's conclusion is then 「部分未检测」, not 「通过」 (:func:`summarize`).
Whether a 「未检测」 also blocks filing is a rule (``rules/checks.toml``,
:class:`~.rules.UncheckedRules`); a 「不通过」 always blocks.

The checks of the originals themselves (signatures, full decoding) are in
:mod:`.originals`; the virus scan (a configurable scanner, ClamAV by
default when installed) is :func:`security`.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .metadata import PayloadFile, missing_required

SECTIONS = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}
STATUS = {True: "通过", False: "不通过", None: "未检测"}
PASSED, FAILED, INCOMPLETE = "通过", "不通过", "部分未检测"
#: seconds a virus scan may take (``duban.virus_scan_timeout``)
SCAN_TIMEOUT = 300.0


def check(check_id: str, name: str, passed: bool | None, detail: str, **extra: Any) -> dict[str, Any]:
    """One line of the report; ``check_id`` (``section.what``) is what ``rules/checks.toml`` names."""
    return {"id": check_id, "name": name, "passed": passed, "status": STATUS[passed], "detail": detail, **extra}


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
        out.append(check("authenticity.digest", f"原件与采集时摘要一致：{f.original_name}", ok,
                          f"SHA-256 {sha}" if ok else f"摘要不符：采集时 {f.capture_sha256}，现为 {sha}"))
    for name, sha in embedded_expected.items():
        got = embedded_found.get(name)
        out.append(check("authenticity.embedded", f"档案 PDF 内嵌原件逐字节一致：{name}", got == sha,
                          "一致" if got == sha else f"内嵌文件摘要 {got or '缺失'}，应为 {sha}"))
    if not out:
        out.append(check("authenticity.digest", "原件摘要", True, "本件无上传原件"))
    return out


def integrity(bag_dir: Path, files: list[PayloadFile], metadata: bytes, piece_series: list[int],
              piece: int) -> list[dict[str, Any]]:
    out = []
    payload = [p for p in (bag_dir / "data").rglob("*") if p.is_file()]
    expected = {f.path for f in files}
    actual = {p.relative_to(bag_dir).as_posix() for p in payload}
    size_ok = all((bag_dir / f.path).stat().st_size == f.size for f in files if (bag_dir / f.path).exists())
    ok = expected <= actual and size_ok
    out.append(check("integrity.files", "文件数量与字节数", ok,
                      f"{len(actual)} 个文件，共 {sum(p.stat().st_size for p in payload)} 字节"
                      if ok else f"缺失：{'、'.join(sorted(expected - actual)) or '无'}；大小不符：{not size_ok}"))
    missing = missing_required(metadata)
    out.append(check("integrity.metadata", "必备元数据项", not missing,
                     "齐全" if not missing else "缺少：" + "、".join(missing)))
    series = sorted(set(piece_series) | {piece})
    gaps = sorted(set(range(1, series[-1] + 1)) - set(series)) if series else []
    out.append(check("integrity.pieces", "件号连续无空号", not gaps, f"件号 {piece}，本系列 1–{series[-1]}" if not gaps
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
        return [check("usability.dossier", "档案 PDF 可解析", False, str(exc))], embedded, 0
    with pdf:
        pages = len(pdf.pages)
        out.append(check("usability.dossier", "档案 PDF 可解析", pages > 0, f"共 {pages} 页"))
        out.append(check("usability.dossier", "未加密", not pdf.is_encrypted,
                         "未加密" if not pdf.is_encrypted else "文件已加密"))
        meta = pdf.open_metadata()
        part = meta.get("pdfaid:part")
        conf = meta.get("pdfaid:conformance")
        out.append(check("usability.dossier", "PDF/A 标识", part in ("2", "3", "4") and bool(conf),
                          f"PDF/A-{part}{(conf or '').lower()}" if part else "缺少 PDF/A 标识（XMP pdfaid）"))
        fonts, unembedded, active = scan_document(pdf)
        out.append(check("usability.dossier", "字体全部嵌入", not unembedded,
                          f"{fonts} 个字体均已嵌入" if not unembedded else "未嵌入：" + "、".join(sorted(unembedded))))
        out.append(check("usability.dossier", "无 JavaScript 与自动动作", not active,
                         "无" if not active else "；".join(active)))
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


def scanner_command(settings: dict[str, Any] | None) -> list[str] | None:
    """The virus scanner to run, from ``duban.virus_scanner``; None when none is configured.

    Unset or ``auto``: ClamAV's ``clamdscan`` (the daemon) or ``clamscan`` when installed.
    ``off``: no scanner.  Anything else: a command line; the directory to scan is appended, and
    it must answer as ClamAV does — exit 0 clean, 1 infected (the findings on stdout), else an error.
    """
    value = str((settings or {}).get("duban.virus_scanner") or "").strip()
    if value.lower() in ("off", "none", "false", "no", "0"):
        return None
    if value in ("", "auto"):
        daemon = shutil.which("clamdscan")
        if daemon:
            return [daemon, "--no-summary", "--fdpass"]
        found = shutil.which("clamscan")
        return [found, "--no-summary", "-r"] if found else None
    return shlex.split(value)


def security(bag_dir: Path, settings: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The virus scan of the package's payload (the dossier, the metadata, every original)."""
    command = scanner_command(settings)
    if command is None:
        return [check("security.virus", "病毒检测", None, "未检测：未配置病毒扫描程序（duban.virus_scanner），"
                      "本机也未安装 ClamAV", configured=False)]
    name = Path(command[0]).name
    timeout = float((settings or {}).get("duban.virus_scan_timeout") or SCAN_TIMEOUT)
    try:
        proc = subprocess.run([*command, str(bag_dir / "data")], capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except (OSError, ValueError) as exc:
        return [check("security.virus", "病毒检测", None, f"未检测：扫描程序 {name} 无法启动（{exc}）"[:300],
                      configured=True)]
    except subprocess.TimeoutExpired:
        return [check("security.virus", "病毒检测", None, f"未检测：{name} 超过 {timeout:.0f} 秒未完成",
                      configured=True)]
    if proc.returncode == 0:
        return [check("security.virus", "病毒检测", True, f"{name}：未发现病毒", configured=True)]
    if proc.returncode == 1:
        found = [line.strip() for line in proc.stdout.splitlines() if line.strip().endswith("FOUND")]
        detail = "；".join(found) or proc.stdout.strip()
        return [check("security.virus", "病毒检测", False, f"{name} 发现病毒：{detail}"[:500], configured=True)]
    error = (proc.stderr.strip() or proc.stdout.strip())[:200]
    return [check("security.virus", "病毒检测", None, f"未检测：{name} 出错（退出码 {proc.returncode}：{error}）",
                  configured=True)]


def _line(section: str, c: dict[str, Any]) -> str:
    return f"{SECTIONS.get(section, section)}：{c['name']}（{c['detail']}）"


def summarize(report: dict[str, list[dict[str, Any]]], rules: Any = None) -> dict[str, Any]:
    """The conclusion of a report: 通过 only when every check ran and passed.

    ``rules`` (:class:`~.rules.UncheckedRules`) says which 「未检测」 block filing; ``blocked``
    is what the package obeys, ``blocking`` lists why.
    """
    failed = [_line(s, c) for s, cs in report.items() for c in cs if c["passed"] is False]
    unchecked = [(s, c) for s, cs in report.items() for c in cs if c["passed"] is None]
    blocking = failed + [_line(s, c) + "——按检测规则，未检测不得归档" for s, c in unchecked
                         if rules is not None and rules.blocks(c)]
    conclusion = FAILED if failed else INCOMPLETE if unchecked else PASSED
    return {"passed": conclusion == PASSED, "conclusion": conclusion, "blocked": bool(blocking),
            "failed": failed, "unchecked": [_line(s, c) for s, c in unchecked], "blocking": blocking,
            "sections": report}


def conclusion_of(summary: dict[str, Any] | None) -> str:
    """The conclusion of a stored summary, older ones (without ``conclusion``; None = 未运行) too."""
    if not summary:
        return "未检测"
    if summary.get("conclusion"):
        return str(summary["conclusion"])
    found = [c.get("passed") for cs in (summary.get("sections") or {}).values() for c in cs]
    return FAILED if False in found else INCOMPLETE if None in found else PASSED


def unchecked_count(summary: dict[str, Any] | None) -> int:
    return sum(1 for cs in ((summary or {}).get("sections") or {}).values() for c in cs if c.get("passed") is None)


def readable(summary: dict[str, Any], *, archival_code: str, checked_at: str) -> str:
    conclusion = conclusion_of(summary)
    if conclusion == INCOMPLETE:
        conclusion += f"（{unchecked_count(summary)} 项未检测，不视为通过）"
    lines = ["四性检测报告（DA/T 70-2018：真实性、完整性、可用性、安全性）", f"档号：{archival_code}",
             f"检测时间：{checked_at}", f"结论：{conclusion}", ""]
    for section, checks in summary["sections"].items():
        lines.append(f"【{SECTIONS[section]}】")
        for c in checks:
            lines.append(f"  [{STATUS[c['passed']]}] {c['name']}：{c['detail']}")
        lines.append("")
    if summary.get("unchecked"):
        lines.append("未检测项：")
        lines += [f"  {u}" for u in summary["unchecked"]]
        lines.append("")
    return "\n".join(lines)


def dumps(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2)
