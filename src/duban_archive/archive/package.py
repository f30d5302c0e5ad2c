"""The archival package: a BagIt bag (RFC 8493) zipped, built with ``bagit``.

Layout::

    bagit.txt  bag-info.txt  manifest-sha256.txt  manifest-sm3.txt
    README.txt  check-report.json  check-report.txt  premis.xml  sm2-public-key.pem
    tagmanifest-sha256.txt  tagmanifest-sm3.txt  signature-sm2.json   (tag files)
    data/dossier.pdf  data/metadata.xml  data/originals/<档号 ASCII>-NN.<ext>

The package proves itself (:mod:`.verify`): ``manifest-sm3.txt`` and
``tagmanifest-sm3.txt`` repeat bagit's SHA-256 manifests with SM3, and both
tag manifests are signed with the site's SM2 key (:mod:`.signing`) in
``signature-sm2.json``; ``premis.xml`` is the event log (:mod:`.premis`).
Recomputing the manifests after a change (as ``bagit`` does) breaks the
signature, so ``duban-archive verify-package`` refuses such a package.

``bagit`` changes the process's working directory while it bags, so every
call into it holds :data:`BAGIT_LOCK` (the web server runs several threads).

Digests (SHA-256 and SM3 of every payload file) are computed by two threads:
SM3 runs at ~170 MB/s and the photos are megabytes.  Given a function that
renders the dossier instead of the PDF, :func:`build_package` copies and
digests the originals while the render's worker lays the dossier out; each
original is then checked for what it is (signatures, full decoding:
:mod:`.originals`) on the copy in the bag.

The 四性检测 refuses the package when a check failed, or when a check that
did not run must have run (``rules/checks.toml``); otherwise the report says
honestly what was not checked (「未检测」, conclusion 「部分未检测」).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..timeutil import isoformat, now
from . import checks, formats, originals, premis, signing, verify
from .metadata import PayloadFile, VersionInfo, build_metadata
from .rules import get_rules

BAGIT_LOCK = verify.BAGIT_LOCK
EXTENSIONS = {
    "application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
    "image/webp": ".webp", "image/tiff": ".tif", "application/ofd": ".ofd", "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
STORED = {".pdf", ".jpg", ".png", ".gif", ".webp", ".docx", ".xlsx", ".pptx", ".ofd", ".zip"}


class PackageRefused(Exception):
    """A 四性检测 check failed: the package is not sealed; ``failed`` lists why."""

    def __init__(self, failed: list[str], summary: dict[str, Any]) -> None:
        self.failed = failed
        self.summary = summary
        self.message = "四性检测未通过，不能归档：" + "；".join(failed)
        super().__init__(self.message)


@dataclass
class Package:
    data: bytes
    sha256: str
    sm3: str
    pages: int
    summary: dict[str, Any]
    files: list[PayloadFile]
    dossier: bytes = b""  # the PDF in the package


def ascii_code(archival_code: str) -> str:
    """``Z109-WS·2026-Y-ZJJ-0001`` -> ``Z109-WS.2026-Y-ZJJ-0001`` (safe in every file system)."""
    text = archival_code.replace("·", ".")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"


def build_package(site, item, registry, *, dossier: bytes | Callable[[], bytes], archival_code: str, fonds: str,
                  year: int, retention: str, unit_code: str, piece: int, piece_series: list[int],
                  version: VersionInfo | int, source_organization: str, embedded_expected: dict[str, str],
                  filed: dict[str, Any] | None = None, corrections: list[dict[str, Any]] | None = None) -> Package:
    """Bag, check (四性检测) and zip; raises :class:`PackageRefused` when a check fails.

    ``dossier`` is the PDF, or a function that renders it (``lambda: render_dossier(...)``): the
    originals are then copied into the bag and digested by threads of this process while the
    render runs in its workers, and the PDF comes back as :attr:`Package.dossier`.  What the
    function raises (:class:`~.render.RenderFailed`) passes through, and nothing is left behind.
    ``source_organization`` is the 立档单位 (``fonds_name``); ``filed`` (``{time, actor, code}``) and
    ``corrections`` feed the event log.
    """
    if isinstance(version, int):
        version = VersionInfo(version)
    base = ascii_code(archival_code)
    settings = dict(getattr(registry, "settings", None) or {})
    roots = originals.trust_roots(settings)
    with tempfile.TemporaryDirectory(prefix="duban-bag-") as tmp:
        bag_dir = Path(tmp) / base
        (bag_dir / "originals").mkdir(parents=True)
        payload: list[PayloadFile] = []
        sources: list[Any] = []
        captured: list[dict[str, Any] | None] = []
        attachments = list(item.attachments.values())
        try:
            for n, att in enumerate(attachments, 1):
                rel = f"originals/{base}-{n:02d}{EXTENSIONS.get(att.mimetype, '.bin')}"
                captured.append(getattr(att, "original_checks", None))
                payload.append(PayloadFile(f"data/{rel}", att.filename, att.title, att.kind, att.mimetype,
                                           att.size, "", "", capture_sha256=att.sha256, capture_sm3=att.sm3))
                sources.append(att.open())  # opened here: the database connection stays in this thread
        except BaseException:
            for src in sources:
                src.close()
            raise
        # copies, digests and the originals' own checks on both cores (hashlib, zlib and Pillow let go of
        # the GIL; SM3 at ~170 MB/s is most of the package's time), while the dossier renders
        with ThreadPoolExecutor(max_workers=2) as pool:
            copied = [pool.submit(_copy_digest_check, src, bag_dir / f.path.removeprefix("data/"), f, roots)
                      for src, f in zip(sources, payload, strict=True)]
            if callable(dossier):
                dossier = dossier()
            rendered_at = isoformat(now()) or ""
            (bag_dir / "dossier.pdf").write_bytes(dossier)
            digest = pool.submit(checks.file_digests, bag_dir / "dossier.pdf")
            use, embedded_found, pages = checks.usability(dossier)
            dossier_file = PayloadFile("data/dossier.pdf", "dossier.pdf", f"{item.title}（案卷）", "dossier",
                                       "application/pdf", len(dossier), "", "")
            files = [dossier_file, *payload]
            dossier_file.sha256, dossier_file.sm3 = digest.result()
            dossier_file.extra["format"] = formats.identify(bag_dir / "dossier.pdf", "application/pdf")
            found = []
            for f, done in zip(payload, copied, strict=True):
                f.sha256, f.sm3, own = done.result()
                f.extra["format"] = own.pop("format")
                f.extra["signatures"] = [c["signature"] for c in own["authenticity"] if c.get("signature")]
                found.append(own)
        version.package_name = version.package_name or f"{base}-v{version.version}.zip"
        metadata = build_metadata(site, item, registry, archival_code=archival_code, fonds=fonds,
                                  fonds_name=source_organization, year=year, retention=retention,
                                  unit_code=unit_code, piece=piece, pages=pages, files=files, version=version,
                                  category=get_rules(registry).category, filed=filed)
        (bag_dir / "metadata.xml").write_bytes(metadata)
        import bagit

        info = {"Source-Organization": source_organization, "External-Identifier": archival_code,
                "External-Description": f"{item.title}（{item.number}）", "Bag-Group-Identifier": fonds,
                "Bag-Count": f"{version.version} of {version.version}", "Internal-Sender-Identifier": item.item_id}
        with BAGIT_LOCK:
            bag = bagit.make_bag(str(bag_dir), info, checksums=["sha256"])
        report = {
            "authenticity": checks.authenticity(bag_dir, files, embedded_expected, embedded_found)
            + [c for own, at_capture in zip(found, captured, strict=True)
               for c in _with_capture(own["authenticity"], at_capture, "authenticity")],
            "integrity": checks.integrity(bag_dir, files, metadata, piece_series, piece),
            "usability": use + [c for own, at_capture in zip(found, captured, strict=True)
                                for c in _with_capture(own["usability"], at_capture, "usability")],
            "security": checks.security(bag_dir, settings),
        }
        with BAGIT_LOCK:
            try:
                bag.validate(fast=False)
                report["integrity"].append(checks.check("integrity.bagit", "BagIt 校验", True, "清单与文件一致"))
            except bagit.BagError as exc:
                report["integrity"].append(checks.check("integrity.bagit", "BagIt 校验", False, str(exc)[:300]))
        summary = checks.summarize(report, get_rules(registry).unchecked)
        if summary["blocked"]:
            raise PackageRefused(summary["blocking"], summary)
        checked_at = isoformat(now()) or ""
        (bag_dir / "check-report.json").write_text(checks.dumps(summary), "utf-8")
        (bag_dir / "check-report.txt").write_text(
            checks.readable(summary, archival_code=archival_code, checked_at=checked_at), "utf-8")
        (bag_dir / "README.txt").write_text(readme(item, archival_code, files, version.version, checked_at), "utf-8")
        key = signing.registry_key(registry)
        (bag_dir / "premis.xml").write_bytes(premis.build_log(
            site, item, archival_code=archival_code, version=version.version, fonds_name=source_organization,
            files=files, attachments=attachments, summary=summary, checked_at=checked_at, rendered_at=rendered_at,
            filed=filed or {"time": checked_at, "actor": "", "code": archival_code},
            corrections=corrections or [], sealed_at=checked_at))
        known = {f.path: f.sm3 for f in files}
        verify.write_sm3_manifest(bag_dir, known)
        (bag_dir / verify.PUBLIC_KEY_FILE).write_text(key.pem(), "ascii")
        with BAGIT_LOCK:
            bag.save()  # tagmanifest now covers the report, README, event log and the SM3 manifest
        verify.seal(bag_dir, key, signer=source_organization, signed_at=checked_at)
        data = zip_dir(bag_dir, base)
    from ..content_types.attachment import _sm3

    sm3 = _sm3()
    sm3.update(data)
    return Package(data, hashlib.sha256(data).hexdigest(), sm3.hexdigest(), pages, summary, files, dossier)


def _copy_digest_check(source, path: Path, f: PayloadFile, roots: list[bytes]) -> tuple[str, str, dict[str, Any]]:
    """Copy an original into the bag, then digest and check (signatures, decoding) what is actually there."""
    try:
        with open(path, "wb") as dst:
            shutil.copyfileobj(source, dst, 1 << 20)
    finally:
        source.close()
    sha, sm3 = checks.file_digests(path)
    found: dict[str, Any] = dict(originals.original_checks(path, f.mimetype, f.original_name, roots=roots))
    found["format"] = formats.identify(path, f.mimetype)
    return sha, sm3, found


def _with_capture(found: list[dict[str, Any]], at_capture: dict[str, Any] | None,
                  section: str) -> list[dict[str, Any]]:
    """The checks made now, each saying what the same check said at capture (真实性 at capture and at filing)."""
    before = {c["name"]: c for c in (at_capture or {}).get(section, [])}
    out = []
    for c in found:
        earlier = before.get(c["name"])
        note = (f"采集时（{at_capture.get('at', '')}）：{earlier['status']}" if at_capture and earlier is not None
                else "采集时：未记录")
        plain = {k: v for k, v in c.items() if k != "signature"}  # the 电子签名 elements go to metadata.xml
        out.append({**plain, "detail": f"{c['detail']}；{note}", "at_capture": earlier["status"] if earlier else None})
    return out


def zip_dir(bag_dir: Path, base: str) -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(p for p in bag_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(bag_dir).as_posix()
            method = zipfile.ZIP_STORED if path.suffix.lower() in STORED else zipfile.ZIP_DEFLATED
            zf.write(path, f"{base}/{rel}", compress_type=method)
    return buf.getvalue()


def readme(item, archival_code: str, files: list[PayloadFile], version: int, checked_at: str) -> str:
    lines = [
        f"档号 / Archival code: {archival_code}",
        f"题名: {item.title}",
        f"事项编号: {item.number}",
        f"包版本: {version}（更正时生成新版本，旧版本保留）",
        f"封包时间: {checked_at}",
        "",
        "本包为 BagIt（RFC 8493）格式：data/ 为内容，manifest-sha256.txt / manifest-sm3.txt 为内容清单，",
        "tagmanifest-sha256.txt / tagmanifest-sm3.txt 为标签文件清单，两份标签清单由立档单位以 SM2 签名",
        "（signature-sm2.json，公钥 sm2-public-key.pem，须与立档单位公布的公钥核对）；",
        "data/metadata.xml 为 DA/T 46-2009 元数据（含 SM3 摘要），premis.xml 为事件日志；",
        "check-report.json / check-report.txt 为四性检测（DA/T 70-2018）报告。",
        "校验：duban-archive verify-package 本文件.zip --public-key 公钥.pem",
        "data/dossier.pdf 为 PDF/A-3 案卷，盖章扫描件原件逐字节嵌入其中。",
        "",
        "文件 / Files:",
    ]
    for f in files:
        lines.append(f"  {f.path}  <- {f.original_name}  ({f.size} bytes)")
    return "\n".join(lines) + "\n"
