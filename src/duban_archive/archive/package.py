"""The archival package: a BagIt bag (RFC 8493) zipped, built with ``bagit``.

Layout::

    bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
    README.txt  check-report.json  check-report.txt      (tag files)
    data/dossier.pdf  data/metadata.xml  data/originals/<档号 ASCII>-NN.<ext>

``bagit`` changes the process's working directory while it bags, so every
call into it holds :data:`BAGIT_LOCK` (the web server runs several threads).

Digests (SHA-256 and SM3 of every payload file) are computed by two threads:
SM3 runs at ~170 MB/s and the photos are megabytes.  Given a function that
renders the dossier instead of the PDF, :func:`build_package` copies and
digests the originals while the render's workers lay the dossier out.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..timeutil import isoformat, now
from . import checks
from .metadata import PayloadFile, build_metadata

BAGIT_LOCK = threading.Lock()
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
                  year: int, retention: str, unit_code: str, piece: int, piece_series: list[int], version: int,
                  source_organization: str, embedded_expected: dict[str, str]) -> Package:
    """Bag, check (四性检测) and zip; raises :class:`PackageRefused` when a check fails.

    ``dossier`` is the PDF, or a function that renders it (``lambda: render_dossier(...)``): the
    originals are then copied into the bag and digested by threads of this process while the
    render runs in its workers, and the PDF comes back as :attr:`Package.dossier`.  What the
    function raises (:class:`~.render.RenderFailed`) passes through, and nothing is left behind.
    """
    base = ascii_code(archival_code)
    with tempfile.TemporaryDirectory(prefix="duban-bag-") as tmp:
        bag_dir = Path(tmp) / base
        (bag_dir / "originals").mkdir(parents=True)
        originals: list[PayloadFile] = []
        sources: list[Any] = []
        try:
            for n, att in enumerate(item.attachments.values(), 1):
                rel = f"originals/{base}-{n:02d}{EXTENSIONS.get(att.mimetype, '.bin')}"
                originals.append(PayloadFile(f"data/{rel}", att.filename, att.title, att.kind, att.mimetype,
                                             att.size, "", "", capture_sha256=att.sha256, capture_sm3=att.sm3))
                sources.append(att.open())  # opened here: the database connection stays in this thread
        except BaseException:
            for src in sources:
                src.close()
            raise
        # copies and digests on both cores (hashlib lets go of the GIL; SM3 at ~170 MB/s is most of the
        # package's time), while the dossier renders, and the PDF checks run
        with ThreadPoolExecutor(max_workers=2) as pool:
            copied = [pool.submit(_copy_and_digest, src, bag_dir / f.path.removeprefix("data/"))
                      for src, f in zip(sources, originals, strict=True)]
            if callable(dossier):
                dossier = dossier()
            (bag_dir / "dossier.pdf").write_bytes(dossier)
            digest = pool.submit(checks.file_digests, bag_dir / "dossier.pdf")
            use, embedded_found, pages = checks.usability(dossier)
            files = [PayloadFile("data/dossier.pdf", "dossier.pdf", f"{item.title}（案卷）", "dossier",
                                 "application/pdf", len(dossier), "", ""), *originals]
            for f, done in zip(files, [digest, *copied], strict=True):
                f.sha256, f.sm3 = done.result()
        metadata = build_metadata(site, item, registry, archival_code=archival_code, fonds=fonds, year=year,
                                  retention=retention, unit_code=unit_code, piece=piece, pages=pages,
                                  files=files, version=version)
        (bag_dir / "metadata.xml").write_bytes(metadata)
        import bagit

        info = {"Source-Organization": source_organization, "External-Identifier": archival_code,
                "External-Description": f"{item.title}（{item.number}）", "Bag-Group-Identifier": fonds,
                "Bag-Count": f"{version} of {version}", "Internal-Sender-Identifier": item.item_id}
        with BAGIT_LOCK:
            bag = bagit.make_bag(str(bag_dir), info, checksums=["sha256"])
        report = {
            "authenticity": checks.authenticity(bag_dir, files, embedded_expected, embedded_found),
            "integrity": checks.integrity(bag_dir, files, metadata, piece_series, piece),
            "usability": use,
            "security": checks.security(bag_dir),
        }
        with BAGIT_LOCK:
            try:
                bag.validate(fast=False)
                report["integrity"].append(checks._check("BagIt 校验", True, "清单与文件一致"))
            except bagit.BagError as exc:
                report["integrity"].append(checks._check("BagIt 校验", False, str(exc)[:300]))
        summary = checks.summarize(report)
        if not summary["passed"]:
            raise PackageRefused(summary["failed"], summary)
        checked_at = isoformat(now()) or ""
        (bag_dir / "check-report.json").write_text(checks.dumps(summary), "utf-8")
        (bag_dir / "check-report.txt").write_text(
            checks.readable(summary, archival_code=archival_code, checked_at=checked_at), "utf-8")
        (bag_dir / "README.txt").write_text(readme(item, archival_code, files, version, checked_at), "utf-8")
        with BAGIT_LOCK:
            bag.save()  # tagmanifest now covers the report and README
        data = zip_dir(bag_dir, base)
    from ..content_types.attachment import _sm3

    sm3 = _sm3()
    sm3.update(data)
    return Package(data, hashlib.sha256(data).hexdigest(), sm3.hexdigest(), pages, summary, files, dossier)


def _copy_and_digest(source, path: Path) -> tuple[str, str]:
    """Copy an original into the bag, then digest what is actually there."""
    try:
        with open(path, "wb") as dst:
            shutil.copyfileobj(source, dst, 1 << 20)
    finally:
        source.close()
    return checks.file_digests(path)


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
        "本包为 BagIt（RFC 8493）格式：data/ 为内容，manifest-sha256.txt 为内容清单，",
        "tagmanifest-sha256.txt 为标签文件清单；data/metadata.xml 为 DA/T 46-2009 元数据（含 SM3 摘要）；",
        "check-report.json / check-report.txt 为四性检测（DA/T 70-2018）报告。",
        "data/dossier.pdf 为 PDF/A-3 案卷，盖章扫描件原件逐字节嵌入其中。",
        "",
        "文件 / Files:",
    ]
    for f in files:
        lines.append(f"  {f.path}  <- {f.original_name}  ({f.size} bytes)")
    return "\n".join(lines) + "\n"
