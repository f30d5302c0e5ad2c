"""Text of attachments for the index: PDF text layer, .docx, plain text, OCR.

Runs in the indexer (after commit), never in a request transaction.  Results
are cached by SHA-256 under ``<var>/cache/text`` so a rebuild does not OCR
every scan again.  When OCR is impossible (no ``tesseract`` or no ``chi_sim``)
the attachment is recorded as *not OCR'd* (``ok=False``) rather than
silently indexed as empty, and is retried once OCR becomes available.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

MAX_CHARS = 200_000
OCR_MAX_PAGES = 20
TIMEOUT = 120


@dataclass
class Extracted:
    text: str
    ok: bool  # False: a scan/image whose text could not be read (not OCR'd)
    method: str


@lru_cache(maxsize=1)
def ocr_available() -> bool:
    exe = shutil.which("tesseract")
    if not exe:
        return False
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return "chi_sim" in (out.stdout + out.stderr).split()


def extract_attachment(att, cache_dir: str | Path | None = None) -> Extracted:
    """Text of attachment ``att`` (cached by digest when ``cache_dir`` is given)."""
    cache = Path(cache_dir) / "text" / f"{att.sha256}.json" if cache_dir and att.sha256 else None
    if cache is not None and cache.exists():
        try:
            data = json.loads(cache.read_text("utf-8"))
            if data["ok"] or not ocr_available():
                return Extracted(data["text"], data["ok"], data["method"])
        except (ValueError, KeyError):
            pass
    try:
        path = att.blob.committed()
    except Exception:  # uncommitted or missing blob: nothing to read yet
        return Extracted("", True, "none")
    result = extract_file(path, att.mimetype)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps({"text": result.text, "ok": result.ok, "method": result.method},
                                  ensure_ascii=False), "utf-8")
        tmp.replace(cache)
    return result


def extract_file(path: str, mimetype: str) -> Extracted:
    try:
        if mimetype == "application/pdf":
            return _pdf(path)
        if mimetype.endswith("wordprocessingml.document"):
            return Extracted(_docx(path)[:MAX_CHARS], True, "docx")
        if mimetype.endswith("spreadsheetml.sheet"):
            return Extracted(_xlsx(path)[:MAX_CHARS], True, "xlsx")
        if mimetype == "text/plain":
            with open(path, "rb") as f:
                return Extracted(f.read(MAX_CHARS * 3).decode("utf-8", "replace")[:MAX_CHARS], True, "text")
        if mimetype.startswith("image/"):
            return _ocr_image(path)
    except Exception as exc:  # a broken file must not stop indexing of the item
        log.warning("text extraction failed for %s (%s): %s", path, mimetype, exc)
        return Extracted("", True, "failed")
    return Extracted("", True, "none")


def _pdf(path: str) -> Extracted:
    text = ""
    exe = shutil.which("pdftotext")
    if exe:
        out = subprocess.run([exe, "-enc", "UTF-8", "-q", path, "-"], capture_output=True, timeout=TIMEOUT)
        text = out.stdout.decode("utf-8", "replace")
    else:
        from pypdf import PdfReader

        text = "\n".join((page.extract_text() or "") for page in PdfReader(path).pages)
    if len(text.strip()) >= 10:
        return Extracted(text[:MAX_CHARS], True, "pdf-text")
    # no text layer: a scanned PDF
    if not ocr_available() or not shutil.which("pdftoppm"):
        return Extracted("", False, "not-ocred")
    with tempfile.TemporaryDirectory(prefix="duban-ocr-") as tmp:
        subprocess.run(["pdftoppm", "-r", "200", "-gray", "-png", "-l", str(OCR_MAX_PAGES), path,
                        f"{tmp}/p"], check=True, capture_output=True, timeout=TIMEOUT * 2)
        parts = [_tesseract(str(p)) for p in sorted(Path(tmp).glob("p*.png"))]
    return Extracted("\n".join(parts)[:MAX_CHARS], True, "pdf-ocr")


def _docx(path: str) -> str:
    import docx

    doc = docx.Document(path)
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.append(" ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _xlsx(path: str) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    parts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            parts.append(" ".join(str(v) for v in row if v is not None))
            if sum(map(len, parts)) > MAX_CHARS:
                return "\n".join(parts)
    return "\n".join(parts)


def _ocr_image(path: str) -> Extracted:
    if not ocr_available():
        return Extracted("", False, "not-ocred")
    return Extracted(_tesseract(path)[:MAX_CHARS], True, "ocr")


def _tesseract(path: str) -> str:
    out = subprocess.run(["tesseract", path, "-", "-l", "chi_sim+eng"], capture_output=True, timeout=TIMEOUT)
    text = out.stdout.decode("utf-8", "replace")
    # tesseract puts spaces between Chinese characters; they would split words
    return re.sub(r"(?<=[\u4e00-\u9fff])[ \t]+(?=[\u4e00-\u9fff])", "", text)
