"""Assembling the dossier's parts into one PDF/A-3 with pikepdf.

The render workers (:mod:`.render`) each lay out one part of the document;
the first worker then joins them here: pages of the parts in order, the
signed originals' own pages swapped in or inserted (rasterised when PDF/A
forbids what they carry, see :mod:`.attached_pages`), page numbers, the
卷内目录 numbers and the 归档章 页数 written into their slots, links,
named destinations and bookmarks rebuilt across parts, and the originals
embedded byte-identical as associated files.  One XMP, one OutputIntent.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from .render import (
    FOLIO_DROP,
    NUMERALS,
    PAGE_COUNT,
    PAGE_OF,
    PT,
    Embedded,
    PartLayout,
    RenderFailed,
    RenderJob,
    numerals_pdf,
)


def assemble(job: RenderJob, parts: list[PartLayout]) -> bytes:
    """One PDF/A from the parts: pages joined and inserted, numbers, links and bookmarks written."""
    if len(parts) == 1 and not (job.pdf_pages or job.inserts or job.folio or job.embedded or parts[0].slots):
        return parts[0].pdf
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    keep: list[pikepdf.Pdf] = []  # copied pages read their streams from these until the save
    out = pikepdf.open(io.BytesIO(parts[0].pdf))
    keep.append(out)
    for k, part in enumerate(parts[1:], 1):
        src = pikepdf.open(io.BytesIO(part.pdf))
        keep.append(src)
        _retag_fonts(src, f"part{k}")
        out.pages.extend(src.pages)

    sources: dict[int, pikepdf.Pdf] = {}

    def source(data: bytes) -> pikepdf.Pdf:
        src = sources.get(id(data))
        if src is None:
            try:
                src = sources[id(data)] = pikepdf.open(io.BytesIO(data))
            except pikepdf.PdfError as exc:
                raise RenderFailed(f"盖章扫描件 PDF 无法解析：{exc}") from exc
            keep.append(src)
        return src

    # the page sequence: ("p", part, page) laid out here, ("x", part, page) a placeholder swapped for an
    # uploaded PDF's page, ("i", anchor) an uploaded PDF's page put in before a part page
    seq: list[tuple] = [("p", k, i) for k, part in enumerate(parts) for i in range(len(part.pages))]
    anchors: dict[str, tuple[int, int, float, float]] = {}
    for k, part in enumerate(parts):
        for name, (i, x, y) in part.anchors.items():
            anchors.setdefault(name, (k, i, x, y))

    def position(anchor: str) -> int | None:
        found = anchors.get(anchor)
        if found is None:
            return None
        return next(n for n, e in enumerate(seq) if e[0] != "i" and e[1:] == found[:2])

    for anchor, (data, page_no) in job.pdf_pages.items():
        at = position(anchor)
        if at is None:
            raise RenderFailed(f"附页占位未能排版：{anchor}")
        if seq[at][0] == "p":  # two placeholders on one page: the first one wins
            out.pages[at] = _page_of(source(data), data, page_no, keep)
            seq[at] = ("x", *seq[at][1:])
    for ins in job.inserts:  # in order: two inserts before one anchor keep their order
        at = len(seq)
        if ins.before:
            at = position(ins.before)
            if at is None:
                raise RenderFailed(f"插入页的位置锚点不存在：{ins.before}")
        src = source(ins.data)
        for page_no, anchor in reversed(ins.pages):
            out.pages.insert(at, _page_of(src, ins.data, page_no, keep))
            seq.insert(at, ("i", anchor))
    where = {(e[1], e[2]): n for n, e in enumerate(seq) if e[0] != "i"}
    placed = {e[1]: n for n, e in enumerate(seq) if e[0] == "i"}
    pages = list(out.pages)
    for n, entry in enumerate(seq):  # an uploaded PDF made with our fonts must not share our subsets' names
        if entry[0] != "p":
            for font in _fonts(pages[n].obj):
                _retag_font(font, f"upload{n}")

    def page_of(anchor: str) -> int | None:
        if anchor in placed:
            return placed[anchor]
        found = anchors.get(anchor)
        return where.get((found[0], found[1])) if found else None

    # named destinations for every anchor, so WeasyPrint's own links (by name) resolve across parts
    dests: dict[str, Array] = {}
    for name, (k, i, x, y) in anchors.items():
        at = where.get((k, i))
        if at is not None and name != PAGE_COUNT and not name.startswith(PAGE_OF):
            dests[name] = Array([pages[at].obj, Name.XYZ, round(x * PT, 2), round((parts[k].pages[i][2] - y) * PT, 2),
                                 0])
    for name, at in placed.items():
        dests[name] = Array([pages[at].obj, Name.XYZ, 0, float(pages[at].mediabox[3]), 0])
    tree = pikepdf.NameTree.new(out)
    for name in sorted(dests):
        tree[name] = dests[name]
    if "/Names" not in out.Root:
        out.Root.Names = Dictionary()
    out.Root.Names.Dests = tree.obj

    for k, part in enumerate(parts):
        for i, anchor, (x1, y1, x2, y2) in part.links:
            at, target = where.get((k, i)), dests.get(anchor)
            if at is None or target is None:
                continue
            height = part.pages[i][2]
            annot = out.make_indirect(Dictionary(
                Type=Name.Annot, Subtype=Name.Link, F=4, BS=Dictionary(W=0), Dest=target,
                Rect=Array([round(x1 * PT, 2), round((height - y2) * PT, 2), round(x2 * PT, 2),
                            round((height - y1) * PT, 2)])))
            page = pages[at].obj
            if "/Annots" not in page:
                page.Annots = Array()
            page.Annots.append(annot)
        if k:
            for i in range(len(part.pages)):  # PDF/A: every annotation prints
                at = where.get((k, i))
                for annot in (pages[at].obj.get("/Annots") or []) if at is not None else []:
                    annot.F = 4

    if job.embedded:
        _embed(out, job.embedded)
    if len(parts) > 1:
        _bookmarks(out, parts, where)
    _numbers(job, out, parts, pages, seq, where, page_of, keep)
    buf = io.BytesIO()
    # streams come compressed from WeasyPrint; the originals stay as they are (PDFs are compressed inside)
    out.save(buf, deterministic_id=False, compress_streams=False)
    return buf.getvalue()


def _embed(out, files: list[Embedded]) -> None:
    """The files as PDF/A-3 associated files: embedded byte for byte, listed in /AF with their relationship."""
    import hashlib
    import mimetypes
    from datetime import UTC

    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    from ..timeutil import now

    when = String(now().astimezone(UTC).strftime("D:%Y%m%d%H%M%SZ"))
    tree = pikepdf.NameTree.new(out)
    specs = []
    for e in files:
        mime = mimetypes.guess_type(e.filename, strict=False)[0] or "application/octet-stream"
        stream = out.make_stream(e.data)
        stream.Type = Name.EmbeddedFile
        stream.Subtype = Name("/" + mime)
        digest = hashlib.md5(e.data, usedforsecurity=False).digest()
        stream.Params = Dictionary(Size=len(e.data), CheckSum=String(digest), CreationDate=when, ModDate=when)
        spec = out.make_indirect(Dictionary(
            Type=Name.Filespec, F=String(e.filename.encode("utf-8", "ignore")), UF=String(e.filename),
            EF=Dictionary(F=stream), Desc=String(e.description or e.filename),
            AFRelationship=Name("/" + e.relationship)))
        key = e.filename
        while key in tree:  # two originals of one name both stay
            key = "_" + key
        tree[key] = spec
        specs.append(spec)
    if "/Names" not in out.Root:
        out.Root.Names = Dictionary()
    out.Root.Names.EmbeddedFiles = tree.obj
    out.Root.AF = Array(specs)


def _page_of(src, data: bytes, page_no: int, keep: list):
    """Page ``page_no`` of an uploaded PDF, fit to be copied into the PDF/A dossier.

    A page carrying what PDF/A forbids (fonts not embedded, JavaScript, encryption …) is copied
    as a rasterised image of itself instead; the original stays embedded byte-identical.
    """
    import pikepdf

    from .attached_pages import AttachedPageError, page_problems, rasterize

    if not 0 <= page_no < len(src.pages):
        raise RenderFailed(f"盖章扫描件没有第 {page_no + 1} 页")
    if not page_problems(src, page_no):
        return src.pages[page_no]
    try:
        flat = pikepdf.open(io.BytesIO(rasterize(data, page_no)))
    except AttachedPageError as exc:
        raise RenderFailed(f"盖章扫描件第 {page_no + 1} 页不能安全放入档案 PDF：{exc.message}") from exc
    keep.append(flat)  # the copied page reads its image from here until the save
    return flat.pages[0]


def _retag_fonts(pdf, salt: str) -> None:
    """New subset tags for a part's fonts: each part subsets Noto on its own, under the same tag."""
    seen: set[tuple[int, int]] = set()
    for page in pdf.pages:
        resources = page.obj.get("/Resources")
        fonts = resources.get("/Font") if resources is not None else None
        if fonts is None or (fonts.is_indirect and fonts.objgen in seen):
            continue
        if fonts.is_indirect:
            seen.add(fonts.objgen)
        for font in fonts.values():
            if not font.is_indirect or font.objgen not in seen:
                seen.add(font.objgen)
                _retag_font(font, salt)


def _fonts(obj, depth: int = 0):
    """The fonts a page (or a form XObject in it, a few levels down) uses."""
    resources = obj.get("/Resources")
    if resources is None or depth > 4:
        return
    yield from (resources.get("/Font") or {}).values()
    for xobject in (resources.get("/XObject") or {}).values():
        if xobject.get("/Subtype") == "/Form":
            yield from _fonts(xobject, depth + 1)


def _retag_font(font, salt: str) -> None:
    import hashlib

    from pikepdf import Name

    base = str(font.get("/BaseFont", ""))
    if len(base) < 9 or base[7] != "+":
        return
    digest = hashlib.md5((base + salt).encode(), usedforsecurity=False).digest()
    name = Name("/" + "".join(chr(65 + b % 26) for b in digest[:6]) + base[7:])
    font.BaseFont = name
    descriptors = [font.get("/FontDescriptor")]
    for descendant in font.get("/DescendantFonts", []):
        descendant.BaseFont = name
        descriptors.append(descendant.get("/FontDescriptor"))
    for descriptor in descriptors:
        if descriptor is not None:
            descriptor.FontName = name


def _bookmarks(out, parts: list[PartLayout], where: dict[tuple[int, int], int]) -> None:
    """The outline (headings) of all parts, nested by level as WeasyPrint nests one document's."""
    from pikepdf import OutlineItem, PageLocation

    with out.open_outline() as outline:
        outline.root.clear()
        stack: list[tuple[int, list]] = [(0, outline.root)]
        for k, part in enumerate(parts):
            for level, label, i, x, y in part.bookmarks:
                at = where.get((k, i))
                if at is None:
                    continue
                while len(stack) > 1 and stack[-1][0] >= level:
                    stack.pop()
                item = OutlineItem(label, at, PageLocation.XYZ, left=round(x * PT, 2),
                                   top=round((part.pages[i][2] - y) * PT, 2))
                stack[-1][1].append(item)
                stack.append((level, item.children))


class _Numerals:
    """The numerals font (see :func:`numerals_pdf`) copied into ``out``: glyph ids and advances."""

    def __init__(self, out, keep: list) -> None:
        import pikepdf

        src = pikepdf.open(io.BytesIO(numerals_pdf()))
        keep.append(src)
        font = next(iter(src.pages[0].Resources.Font.values()))
        _retag_font(font, "numerals")
        self.font = out.copy_foreign(font)
        cmap = font.ToUnicode.read_bytes().decode("latin-1")
        self.cids: dict[str, int] = {}
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
            for cid, uni in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                self.cids[bytes.fromhex(uni).decode("utf-16-be")] = int(cid, 16)
        descendant = font.DescendantFonts[0]
        self.default = float(descendant.get("/DW", 1000))
        self.widths: dict[int, float] = {}
        w = list(descendant.get("/W", []))
        j = 0
        while j < len(w) - 1:
            first = int(w[j])
            if isinstance(w[j + 1], pikepdf.Array):
                self.widths.update({first + n: float(v) for n, v in enumerate(w[j + 1])})
                j += 2
            else:
                self.widths.update({c: float(w[j + 2]) for c in range(first, int(w[j + 1]) + 1)})
                j += 3

    def width(self, text: str, size: float) -> float:
        return sum(self.widths.get(self.cids[c], self.default) for c in text) * size / 1000

    def show(self, text: str, size: float, x: float, y: float) -> bytes:
        glyphs = "".join(f"{self.cids[c]:04x}" for c in text)
        return f"BT {NUMERALS} {size:.2f} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm <{glyphs}> Tj ET".encode()


def _numbers(job: RenderJob, out, parts: list[PartLayout], pages: list, seq: list[tuple],
             where: dict[tuple[int, int], int], page_of: Callable[[str], int | None], keep: list) -> None:
    """Write page numbers (folio) and the numbers of slots, in the numerals font, over the pages."""
    slots = [(k, *slot) for k, part in enumerate(parts) for slot in part.slots]
    if job.folio is None and not slots:
        return
    pen = _Numerals(out, keep)
    runs: dict[int, list[bytes]] = {}
    if job.folio is not None:
        size = job.folio.size
        for at, entry in enumerate(seq):
            if entry[0] != "p":
                continue
            name, width, _height, left, right, bottom = parts[entry[1]].pages[entry[2]]
            if name in job.folio.skip:
                continue
            text = f"— {at + 1} —"
            x = (left + width - right) / 2 * PT - pen.width(text, size) / 2
            runs.setdefault(at, []).append(pen.show(text, size, x, bottom / 2 * PT - FOLIO_DROP * size))
    for k, i, slot, x1, x2, baseline, size_px, align in slots:
        at = where.get((k, i))
        if at is None:
            continue
        if slot == PAGE_COUNT:
            number = len(seq)
        else:
            target = page_of(slot.removeprefix(PAGE_OF))
            if target is None:
                raise RenderFailed(f"页码引用的位置不存在：{slot.removeprefix(PAGE_OF)}")
            number = target + 1
        text, size = str(number), size_px * PT
        x = x1 * PT
        if align in ("right", "end"):
            x = x2 * PT - pen.width(text, size)
        elif align == "center":
            x = (x1 + x2) / 2 * PT - pen.width(text, size) / 2
        runs.setdefault(at, []).append(pen.show(text, size, x, (parts[k].pages[i][2] - baseline) * PT))
    from pikepdf import Dictionary

    for at, shown in runs.items():
        page = pages[at]
        resources = page.obj.get("/Resources")
        if resources is None:
            resources = page.obj.Resources = Dictionary()
        if "/Font" not in resources:
            resources.Font = Dictionary()
        resources.Font[NUMERALS] = pen.font
        # the page's own drawing keeps its graphics state to itself; the numbers use the default space
        page.contents_add(out.make_stream(b"q\n"), prepend=True)
        page.contents_add(out.make_stream(b"Q\nq 0 0 0 rg\n" + b"\n".join(shown) + b"\nQ\n"))
