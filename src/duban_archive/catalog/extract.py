"""Text of attachments for the index: PDF text layer, .docx, .xlsx, plain text, OCR.

Runs in the indexer (after commit), never in a request transaction.  Results
are cached by SHA-256 under ``<var>/cache/text`` so a rebuild does not OCR
every scan again.  When OCR is impossible (no ``tesseract`` or no ``chi_sim``)
the attachment is recorded as *not OCR'd* (``ok=False``) rather than
silently indexed as empty, and is retried once OCR becomes available.

Only the pages of a PDF without a text layer are OCR'd (a typed cover
sheet in front of a scanned, stamped reply keeps its text layer).  OCR is
bounded: at most ``OCR_MAX_PAGES`` such pages, rendered at ``OCR_DPI`` with
the longer side capped at ``OCR_MAX_SIDE`` pixels (photos are shrunk to that
too), and ``OCR_BUDGET`` seconds per attachment.  Text read before a limit
is hit is kept (method ``pdf-ocr-partial``) and cached, so a rebuild does not
retry it forever.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

MAX_CHARS = 200_000
TIMEOUT = 120  # seconds for one pdftotext / pdftoppm / tesseract run
OCR_MAX_PAGES = 20
OCR_BUDGET = 300.0  # seconds of OCR per attachment, all pages together
OCR_DPI = 200  # scans are usually 200-300 dpi; rendering finer only adds noise and time
OCR_MAX_SIDE = 4000  # pixels: an A3 page at 200 dpi fits, a poster or a 50-megapixel photo is shrunk
# chi_sim alone reads Latin letters and digits too; adding eng makes tesseract misread Chinese lines as Latin
OCR_LANG = "chi_sim"
# one thread per tesseract: its OpenMP threads cost ~40% more CPU for the same page on 2 cores
_OCR_ENV = {"OMP_THREAD_LIMIT": "1"}
MIN_PAGE_CHARS = 10  # fewer non-blank characters on a page: no real text layer (a scan, maybe a stamp)
_SPACE = re.compile(r"\s+")


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
    return OCR_LANG in (out.stdout + out.stderr).split()


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
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # reindex workers may extract the same file
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
    pages = _text_pages(path)
    # a page without a text layer is a scan (or blank): only those go through OCR
    scanned = [n for n, text in enumerate(pages, 1) if len(_SPACE.sub("", text)) < MIN_PAGE_CHARS]
    if not scanned:
        return Extracted("\n".join(pages)[:MAX_CHARS], True, "pdf-text")
    if not (ocr_available() and shutil.which("pdftoppm") and shutil.which("pdfinfo")):
        # keep any text layer, but record the scanned pages as not read (retried once OCR exists)
        return Extracted("\n".join(pages)[:MAX_CHARS], False, "not-ocred")
    ocred, complete = _ocr_pages(path, scanned)
    text = "\n".join(ocred.get(n, pages[n - 1]) for n in range(1, len(pages) + 1))
    return Extracted(text[:MAX_CHARS], True, "pdf-ocr" if complete else "pdf-ocr-partial")


def _text_pages(path: str) -> list[str]:
    exe = shutil.which("pdftotext")
    if exe:
        out = subprocess.run([exe, "-enc", "UTF-8", "-q", path, "-"], capture_output=True, timeout=TIMEOUT)
        pages = out.stdout.decode("utf-8", "replace").split("\f")
        return pages[:-1] if len(pages) > 1 and not pages[-1].strip() else pages  # \f ends every page
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(path).pages]


def _ocr_pages(path: str, numbers: list[int]) -> tuple[dict[int, str], bool]:
    """OCR pages ``numbers`` (1-based) within the limits; returns texts by page and whether all were read."""
    deadline = time.monotonic() + OCR_BUDGET
    todo = numbers[:OCR_MAX_PAGES]
    if len(numbers) > len(todo):
        log.warning("OCR of %s reads only %d of its %d scanned pages", path, len(todo), len(numbers))
    sizes = _page_sizes(path, todo[-1])
    done: dict[int, str] = {}
    with tempfile.TemporaryDirectory(prefix="duban-ocr-") as tmp:
        for number in todo:
            # one page at a time: bounded disk use, and the budget is checked between pages
            width, height = sizes.get(number, (612.0, 792.0))
            dpi = max(36, min(OCR_DPI, int(OCR_MAX_SIDE * 72 / max(width, height, 1.0))))
            stem = Path(tmp) / f"p{number}"
            try:
                subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", "-singlefile",
                                "-f", str(number), "-l", str(number), path, str(stem)],
                               check=True, capture_output=True, timeout=_left(deadline))
                done[number] = _tesseract(f"{stem}.png", deadline)
            except subprocess.TimeoutExpired:
                log.warning("OCR of %s stopped at page %d: time budget used up", path, number)
                break
            Path(f"{stem}.png").unlink()
            if sum(map(len, done.values())) >= MAX_CHARS:
                break
    return done, len(done) == len(numbers)


def _page_sizes(path: str, last: int) -> dict[int, tuple[float, float]]:
    """Page sizes in points of pages 1..``last`` (``pdfinfo``), to cap the rendered pixels."""
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", str(last), path], capture_output=True, timeout=TIMEOUT)
    info = out.stdout.decode("utf-8", "replace")
    return {int(n): (float(w), float(h))
            for n, w, h in re.findall(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", info, re.M)}


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise subprocess.TimeoutExpired("ocr", OCR_BUDGET)
    return min(TIMEOUT, left)


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

    parts: list[str] = []
    size = 0
    # a file object: openpyxl refuses paths whose suffix is not .xlsx, and blobs end in .blob
    with open(path, "rb") as f:
        wb = load_workbook(f, read_only=True, data_only=True)
        try:
            for ws in wb.worksheets:
                parts.append(ws.title)
                for row in ws.iter_rows(values_only=True):
                    line = " ".join(_cell_text(v) for v in row if v is not None and v != "")
                    if line:
                        parts.append(line)
                        size += len(line) + 1
                    if size > MAX_CHARS:
                        return "\n".join(parts)
        finally:
            wb.close()  # read-only workbooks keep their archive open until closed
    return "\n".join(parts)


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 13710.0 -> 13710: numbers are searched as typed
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _ocr_image(path: str) -> Extracted:
    if not ocr_available():
        return Extracted("", False, "not-ocred")
    deadline = time.monotonic() + OCR_BUDGET
    with tempfile.TemporaryDirectory(prefix="duban-ocr-") as tmp:
        try:
            return Extracted(_tesseract(_shrunk(path, tmp), deadline)[:MAX_CHARS], True, "ocr")
        except subprocess.TimeoutExpired:
            log.warning("OCR of %s gave up: time budget used up", path)
            return Extracted("", True, "ocr-timeout")


def _shrunk(path: str, tmp: str) -> str:
    """``path``, or a copy whose longer side is ``OCR_MAX_SIDE`` pixels (OCR time grows with pixels)."""
    from PIL import Image

    with Image.open(path) as img:
        if max(img.size) <= OCR_MAX_SIDE:
            return path
        img.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE))
        out = str(Path(tmp) / "shrunk.png")
        img.convert("L").save(out)
        return out


def _tesseract(path: str, deadline: float) -> str:
    out = subprocess.run(["tesseract", path, "-", "-l", OCR_LANG], capture_output=True,
                         timeout=_left(deadline), env={**os.environ, **_OCR_ENV})
    if out.returncode != 0:
        log.warning("tesseract failed on %s: %s", path, out.stderr.decode("utf-8", "replace")[-500:])
    text = out.stdout.decode("utf-8", "replace")
    # tesseract puts spaces between Chinese characters; they would split words
    return _CJK_GAP.sub("", text)


_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t]+(?=[{_CJK}])")
