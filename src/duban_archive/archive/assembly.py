"""After layout: the uploaded PDFs' own pages swapped in, the originals embedded (pikepdf).

The render worker (:mod:`.render`) lays the document out as one HTML
document with an empty placeholder page for every page of an uploaded PDF
(a signed and sealed report), so WeasyPrint numbers all pages itself.  Here
each placeholder is replaced by the page it stands for (rasterised when
PDF/A forbids what it carries, see :mod:`.attached_pages`); links, named
destinations and bookmarks pointing at the placeholder are pointed at the
page that took its place.  The originals are embedded byte-identical as
PDF/A-3 associated files.  The document's own XMP, output intent and fonts
(one subset per face) stay as WeasyPrint wrote them.

Imports :mod:`.job` and :mod:`.attached_pages`, never :mod:`.render`.
"""

from __future__ import annotations

import io
from typing import Any

from .job import Embedded, RenderFailed, RenderJob


def assemble(job: RenderJob, pdf: bytes, placeholders: dict[str, int]) -> bytes:
    """``pdf`` with the job's uploaded pages in place of their placeholders and its files embedded.

    ``placeholders``: element id -> index of the page it was laid out on.
    """
    if not (job.pdf_pages or job.embedded):
        return pdf
    import pikepdf

    keep: list[pikepdf.Pdf] = []  # copied pages read their streams from these until the save
    out = pikepdf.open(io.BytesIO(pdf))
    keep.append(out)
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

    swapped: dict[tuple[int, int], Any] = {}  # placeholder page -> the page that took its place
    taken: set[int] = set()
    for anchor, (data, page_no) in job.pdf_pages.items():
        at = placeholders.get(anchor)
        if at is None:
            raise RenderFailed(f"附页占位未能排版：{anchor}")
        if at in taken:  # two placeholders on one page: the first one wins
            continue
        taken.add(at)
        old = out.pages[at].obj
        out.pages[at] = _page_of(source(data), data, page_no, keep)
        new = out.pages[at].obj
        swapped[old.objgen] = new
        # an uploaded PDF made with our fonts must not share our subsets' names
        for font in _fonts(new):
            _retag_font(font, f"upload{at}")
    if swapped:
        _repoint(out, swapped)
    if job.embedded:
        _embed(out, job.embedded)
    buf = io.BytesIO()
    # streams come compressed from WeasyPrint; the originals stay as they are (PDFs are compressed inside)
    out.save(buf, deterministic_id=False, compress_streams=False)
    return buf.getvalue()


def _repoint(out, swapped: dict[tuple[int, int], Any]) -> None:
    """Destinations (named, of links, of bookmarks) on a placeholder page now go to its replacement."""
    import pikepdf
    from pikepdf import Array, Dictionary

    def fix(dest) -> None:
        if isinstance(dest, Dictionary):  # a named destination may be a dictionary holding /D
            dest = dest.get("/D")
        if isinstance(dest, Array) and len(dest) and isinstance(dest[0], Dictionary) and dest[0].is_indirect:
            new = swapped.get(dest[0].objgen)
            if new is not None:
                dest[0] = new

    def fix_holder(holder) -> None:  # a link annotation or an outline item
        fix(holder.get("/Dest"))
        action = holder.get("/A")
        if isinstance(action, Dictionary) and action.get("/S") == "/GoTo":
            fix(action.get("/D"))

    names = out.Root.get("/Names")
    if isinstance(names, Dictionary) and "/Dests" in names:
        for _name, dest in pikepdf.NameTree(names.Dests).items():
            fix(dest)
    for page in out.pages:
        for annot in page.obj.get("/Annots") or []:
            if isinstance(annot, Dictionary):
                fix_holder(annot)
    outlines = out.Root.get("/Outlines")
    stack = [outlines.get("/First")] if isinstance(outlines, Dictionary) else []
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, Dictionary) or item.objgen in seen:
            continue
        seen.add(item.objgen)
        fix_holder(item)
        stack.extend([item.get("/Next"), item.get("/First")])


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
