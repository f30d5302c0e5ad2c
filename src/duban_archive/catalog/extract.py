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

Office files are read with bounded memory whatever they claim: the zip
directory is checked before anything is inflated (``open_container``:
members, compression ratio), the parts the text comes from must declare at
most ``duban.max_extract_bytes`` together, and they are inflated in 64 KiB
pieces that stop at the size each declares (a lying header is caught) and at
that budget, straight into a streaming XML parser that builds no tree
(``_DocxText``, ``_SheetText``; shared strings are kept up to
``SST_MAX_CHARS``).  Over a limit nothing is indexed but the file's name, one
warning is logged, and the attachment is recorded as not extracted
(``ok=False``, method ``over-limit``) — the mark "not OCR'd" uses, shown in the
search results and on the item page.  That result is never cached: raising the
limit and reindexing reads the file.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ..content_types.attachment import (
    Budget,
    ContainerLimits,
    ContainerRefused,
    ImageTooLarge,
    open_container,
    open_image,
    read_member,
    reduced_image,
)

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
#: shared strings of a workbook kept for its cells (the first ones: a sheet read up to MAX_CHARS uses those)
SST_MAX_CHARS = 4 * MAX_CHARS
SST_MAX_ITEMS = 250_000
OVER_LIMIT = "over-limit"  # method of an attachment not extracted because of a limit (never cached)


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


def extract_attachment(att, cache_dir: str | Path | None = None,
                       limits: ContainerLimits | None = None) -> Extracted:
    """Text of attachment ``att`` (cached by digest when ``cache_dir`` is given).

    ``limits``: the site's (``ContainerLimits.from_settings(registry.settings)``); default ones otherwise.
    """
    cache = Path(cache_dir) / "text" / f"{att.sha256}.json" if cache_dir and att.sha256 else None
    if cache is not None and cache.exists():
        try:
            data = json.loads(cache.read_text("utf-8"))
            if data["method"] != OVER_LIMIT and (data["ok"] or not ocr_available()):
                return Extracted(data["text"], data["ok"], data["method"])
        except (ValueError, KeyError):
            pass
    try:
        path = att.blob.committed()
    except Exception:  # uncommitted or missing blob: nothing to read yet
        return Extracted("", True, "none")
    result = extract_file(path, att.mimetype, limits, label=f"{att.__name__}（{att.filename}）")
    if cache is not None and result.method != OVER_LIMIT:  # a limit may be raised: decided again next time
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")  # reindex workers may extract the same file
        tmp.write_text(json.dumps({"text": result.text, "ok": result.ok, "method": result.method},
                                  ensure_ascii=False), "utf-8")
        tmp.replace(cache)
    return result


def extract_file(path: str, mimetype: str, limits: ContainerLimits | None = None,
                 label: str | None = None) -> Extracted:
    limits = limits or ContainerLimits()
    try:
        if mimetype == "application/pdf":
            return _pdf(path)
        if mimetype.endswith("wordprocessingml.document"):
            return Extracted(_docx(path, limits)[:MAX_CHARS], True, "docx")
        if mimetype.endswith("spreadsheetml.sheet"):
            return Extracted(_xlsx(path, limits)[:MAX_CHARS], True, "xlsx")
        if mimetype == "text/plain":
            with open(path, "rb") as f:
                return Extracted(f.read(MAX_CHARS * 3).decode("utf-8", "replace")[:MAX_CHARS], True, "text")
        if mimetype.startswith("image/"):
            return _ocr_image(path, limits)
    except (ContainerRefused, ImageTooLarge) as exc:  # nothing indexed but the name; the mark says why
        log.warning("text of %s (%s) not extracted, over a limit: %s", label or path, mimetype, exc.reason)
        return Extracted("", False, OVER_LIMIT)
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


# -- Office files: streamed, budgeted, no tree ------------------------------------------------------
class _Package:
    """An OOXML package opened within ``limits``: its parts, relationships, and a budgeted parse."""

    def __init__(self, fp: IO[bytes], limits: ContainerLimits) -> None:
        self.fp = fp
        self.limits = limits
        self.members = {i.filename: i for i in open_container(fp, limits).infolist()}
        self.budget = Budget(limits.max_bytes)

    def relationships(self, part: str) -> list[tuple[str, str, str]]:
        """(id, type, target part) of ``part``'s relationships (``""``: the package's own)."""
        folder, name = posixpath.split(part)
        rels = _Relationships(self.limits.max_members)
        self.parse(posixpath.join(folder, "_rels", f"{name}.rels"), rels)
        return [(rid, kind, _resolve(part, target)) for rid, kind, target in rels.found]

    def main_part(self, default: str) -> str:
        return next((target for _rid, kind, target in self.relationships("")
                     if kind.endswith("/officeDocument") and target in self.members), default)

    def declare(self, parts: list[str]) -> None:
        """Refuse, before inflating any of them, ``parts`` declaring more than the budget has left."""
        declared = sum(self.members[p].file_size for p in set(parts) if p in self.members)
        if self.budget.used + declared > self.budget.limit:
            raise ContainerRefused(f"正文部分解压后共 {_mb(self.budget.used + declared)}，"
                                   f"超过全文提取上限 {_mb(self.budget.limit)}", hostile=False)

    def parse(self, part: str, target: _Target) -> None:
        """Feed ``part`` to ``target`` piece by piece, until it ends or the target has enough."""
        from lxml import etree

        info = self.members.get(part)
        if info is None:
            return
        parser = etree.XMLParser(target=target, resolve_entities=False, no_network=True, load_dtd=False)
        for piece in read_member(self.fp, info, self.budget):
            parser.feed(piece)
            if target.full:
                return
        parser.close()


def _resolve(source: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


class _Target:
    """lxml parser target: events only, no tree; ``full`` stops the feeding."""

    @property
    def full(self) -> bool:
        return False

    def start(self, tag, attrib) -> None:
        pass

    def end(self, tag) -> None:
        pass

    def data(self, text: str) -> None:
        pass

    def doctype(self, *_args) -> None:  # OOXML has none; entity tricks start here
        raise ContainerRefused("Office 文件的 XML 中含有 DTD（正常文件不会有），疑似构造的文件")

    def close(self) -> None:
        return None


class _Lines:
    """Lines of text; ``size`` counts characters, also those of a line still being read."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0

    @property
    def full(self) -> bool:
        return self.size >= MAX_CHARS

    def add(self, text: str) -> None:
        if text:
            self.lines.append(text)
            self.size += len(text) + 1

    def text(self) -> str:
        return "\n".join(self.lines)


class _Relationships(_Target):
    def __init__(self, most: int) -> None:
        self.found: list[tuple[str, str, str]] = []
        self.most = most

    def start(self, tag, attrib) -> None:
        if _local(tag) == "Relationship" and attrib.get("TargetMode") != "External" and len(self.found) < self.most:
            self.found.append((attrib.get("Id", ""), attrib.get("Type", ""), attrib.get("Target", "")))


class _DocxText(_Target):
    """Paragraphs of a WordprocessingML part in document order (table cells too, a paragraph a line).

    Text of ``t`` elements only (not deleted text, not field codes); the
    ``mc:Fallback`` copy of a text box is skipped.  Characters are counted as
    they arrive, so one endless paragraph stops at MAX_CHARS too.
    """

    def __init__(self) -> None:
        self.out = _Lines()
        self.open: list[list[str]] = []  # paragraphs being read (a text box's sits inside another)
        self.in_text = 0
        self.skip = 0

    @property
    def full(self) -> bool:
        return self.out.full

    def start(self, tag, attrib) -> None:
        name = _local(tag)
        if name == "Fallback":
            self.skip += 1
        if self.skip:
            return
        if name == "p":
            self.open.append([])
        elif name == "t":
            self.in_text += 1
        elif name in ("tab", "br", "cr") and self.open:
            self.open[-1].append("\t" if name == "tab" else "\n")

    def end(self, tag) -> None:
        name = _local(tag)
        if self.skip:
            self.skip -= name == "Fallback"
            return
        if name == "p" and self.open:
            text = "".join(self.open.pop())
            if text:
                self.out.lines.append(text)  # its characters were counted as they came
        elif name == "t":
            self.in_text -= 1

    def data(self, text: str) -> None:
        if self.in_text and not self.skip:
            self.out.size += len(text)
            if self.open:
                self.open[-1].append(text)
            else:
                self.out.lines.append(text)

    def text(self) -> str:
        return "\n".join([*self.out.lines, *("".join(p) for p in self.open)])


def _docx(path: str, limits: ContainerLimits) -> str:
    with open(path, "rb") as f:
        package = _Package(f, limits)
        main = package.main_part("word/document.xml")
        package.declare([main])
        reader = _DocxText()
        package.parse(main, reader)
        return reader.text()


class _Workbook(_Target):
    def __init__(self, most: int) -> None:
        self.sheets: list[tuple[str, str]] = []  # (name, relationship id) in workbook order
        self.date1904 = False
        self.most = most

    def start(self, tag, attrib) -> None:
        name = _local(tag)
        if name == "sheet" and len(self.sheets) < self.most:
            rid = next((v for k, v in attrib.items() if k.endswith("}id")), "")
            self.sheets.append((attrib.get("name", ""), rid))
        elif name == "workbookPr":
            self.date1904 = attrib.get("date1904", "").lower() in ("1", "true")


class _Styles(_Target):
    """Which cell formats (indexes into ``cellXfs``) show numbers as dates."""

    def __init__(self) -> None:
        self.formats: dict[int, str] = {}
        self.dates = bytearray()
        self.in_xfs = False
        self._known: dict[str, int] = {}

    def start(self, tag, attrib) -> None:
        name = _local(tag)
        if name == "numFmt" and len(self.formats) < 10_000:
            try:
                self.formats[int(attrib.get("numFmtId", ""))] = attrib.get("formatCode", "")[:255]
            except ValueError:
                pass
        elif name == "cellXfs":
            self.in_xfs = True
        elif name == "xf" and self.in_xfs:
            self.dates.append(self._is_date(attrib.get("numFmtId", "0")))

    def end(self, tag) -> None:
        if _local(tag) == "cellXfs":
            self.in_xfs = False

    def _is_date(self, number: str) -> int:
        if number not in self._known:
            from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

            try:
                n = int(number)
            except ValueError:
                n = 0
            code = self.formats.get(n, BUILTIN_FORMATS.get(n))
            # 27–36 and 50–58: the East Asian locales' built-in date and time formats (年月日, 时分)
            self._known[number] = int(is_date_format(code) if code is not None else 27 <= n <= 36 or 50 <= n <= 58)
        return self._known[number]


class _SharedStrings(_Target):
    def __init__(self) -> None:
        self.strings: list[str] = []
        self.current: list[str] | None = None
        self.in_text = 0
        self.phonetic = 0  # rPh: the reading of a Japanese string, not its text
        self.chars = 0

    @property
    def full(self) -> bool:
        return self.chars >= SST_MAX_CHARS or len(self.strings) >= SST_MAX_ITEMS

    def start(self, tag, attrib) -> None:
        name = _local(tag)
        if name == "si":
            self.current = []
        elif name == "t":
            self.in_text += 1
        elif name == "rPh":
            self.phonetic += 1

    def end(self, tag) -> None:
        name = _local(tag)
        if name == "si" and self.current is not None:
            self.strings.append("".join(self.current))
            self.current = None
        elif name == "t":
            self.in_text -= 1
        elif name == "rPh":
            self.phonetic -= 1

    def data(self, text: str) -> None:
        if self.in_text and not self.phonetic and self.current is not None:
            self.current.append(text)
            self.chars += len(text)


class _SheetText(_Target):
    """Rows of a worksheet as lines of cell values (the cached values of formulas), into ``out``."""

    def __init__(self, out: _Lines, strings: list[str], dates: bytearray, date1904: bool) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        self.out, self.strings, self.dates = out, strings, dates
        self.epoch = CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900
        self.row: list[str] = []
        self.kind, self.style = "n", 0
        self.value: list[str] = []
        self.inline: list[str] = []
        self.in_value = self.in_inline = self.in_text = self.phonetic = 0

    @property
    def full(self) -> bool:
        return self.out.full

    def start(self, tag, attrib) -> None:
        name = _local(tag)
        if name == "c":
            self.kind = attrib.get("t", "n")
            try:
                self.style = int(attrib.get("s") or 0)
            except ValueError:
                self.style = 0
            self.value, self.inline = [], []
        elif name == "v":
            self.in_value += 1
        elif name == "is":
            self.in_inline += 1
        elif name == "t":
            self.in_text += 1
        elif name == "rPh":
            self.phonetic += 1

    def end(self, tag) -> None:
        name = _local(tag)
        if name == "c":
            text = self._cell()
            if text:
                self.row.append(text)
                self.out.size += len(text) + 1
        elif name == "row":
            self.flush()
        elif name == "v":
            self.in_value -= 1
        elif name == "is":
            self.in_inline -= 1
        elif name == "t":
            self.in_text -= 1
        elif name == "rPh":
            self.phonetic -= 1

    def data(self, text: str) -> None:
        if self.in_value:
            self.value.append(text)
        elif self.in_inline and self.in_text and not self.phonetic:
            self.inline.append(text)

    def flush(self) -> None:
        if self.row:
            self.out.lines.append(" ".join(self.row))  # characters counted cell by cell
            self.row = []

    def _cell(self) -> str:
        raw = "".join(self.value).strip()
        kind = self.kind
        if kind == "s":
            try:
                index = int(raw)
            except ValueError:
                return ""
            return self.strings[index] if 0 <= index < len(self.strings) else ""
        if kind == "inlineStr":
            return "".join(self.inline)
        if kind == "b":
            return {"1": "True", "0": "False"}.get(raw, raw)
        if kind in ("str", "e"):
            return raw
        if kind == "d":
            try:
                return _cell_text(datetime.fromisoformat(raw))
            except ValueError:
                return raw
        if not raw:
            return ""
        try:
            number: int | float = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            return raw
        if self.style < len(self.dates) and self.dates[self.style]:
            from openpyxl.utils.datetime import from_excel

            try:
                return _cell_text(from_excel(number, self.epoch))
            except (ValueError, OverflowError, TypeError):
                pass
        return _cell_text(number)


def _xlsx(path: str, limits: ContainerLimits) -> str:
    with open(path, "rb") as f:
        package = _Package(f, limits)
        book = package.main_part("xl/workbook.xml")
        rels = package.relationships(book)
        sheets = {rid: target for rid, kind, target in rels if kind.endswith("/worksheet")}
        styles = next((target for _rid, kind, target in rels if kind.endswith("/styles")), "")
        shared = next((target for _rid, kind, target in rels if kind.endswith("/sharedStrings")), "")
        package.declare([book, styles, shared, *sheets.values()])
        workbook = _Workbook(limits.max_members)
        package.parse(book, workbook)
        formats = _Styles()
        package.parse(styles, formats)
        strings = _SharedStrings()
        package.parse(shared, strings)
        out = _Lines()
        for name, rid in workbook.sheets:
            if rid not in sheets:
                continue  # a chart sheet
            out.add(name)
            sheet = _SheetText(out, strings.strings, formats.dates, workbook.date1904)
            package.parse(sheets[rid], sheet)
            sheet.flush()
            if out.full:
                break
        return out.text()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 13710.0 -> 13710: numbers are searched as typed
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _ocr_image(path: str, limits: ContainerLimits) -> Extracted:
    if not ocr_available():
        return Extracted("", False, "not-ocred")
    deadline = time.monotonic() + OCR_BUDGET
    with tempfile.TemporaryDirectory(prefix="duban-ocr-") as tmp:
        try:
            return Extracted(_tesseract(_shrunk(path, tmp, limits.max_pixels), deadline)[:MAX_CHARS], True, "ocr")
        except subprocess.TimeoutExpired:
            log.warning("OCR of %s gave up: time budget used up", path)
            return Extracted("", True, "ocr-timeout")


def _shrunk(path: str, tmp: str, max_pixels: int) -> str:
    """``path``, or a copy whose longer side is ``OCR_MAX_SIDE`` pixels (OCR time grows with pixels).

    Nothing is decoded above ``max_pixels`` (``ImageTooLarge``); the copy is decoded reduced.
    """
    with open(path, "rb") as f, open_image(f, max_pixels) as img:
        if max(img.size) <= OCR_MAX_SIDE:
            return path
    with open(path, "rb") as f:
        small = reduced_image(f, (OCR_MAX_SIDE, OCR_MAX_SIDE), max_pixels=max_pixels)
    out = str(Path(tmp) / "shrunk.png")
    small.convert("L").save(out)
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
