"""Safe PDF/A rendering with WeasyPrint — for dossiers and every printable form.

Why worker processes: an item's content comes from many hands, and layout
engines have had bugs; the render runs in children forked from this process
once it is warm (WeasyPrint imported, Noto CJK coverage and fonts loaded, one
page laid out), each with CPU and address-space limits, and the parent kills
them all when the wall clock runs out.
Nothing they do touches the database: a failed render changes nothing and
says why in :class:`RenderFailed`.

Why a memory-only URL fetcher: the HTML may contain user text; it is escaped
by the templates, but even a template bug must not let ``file:///etc/passwd``
or a network URL into a record.  Only ``asset:`` URLs given with the job are
served; there is no file, network or redirect path at all.

Fonts: Noto Serif/Sans CJK SC come from fontconfig and are subsetted by
WeasyPrint through HarfBuzz (``libharfbuzz-subset0``), the fast path: the
collections are never embedded whole (see :func:`harfbuzz_subsetting`).

Parts in parallel: a long document (the dossier) may come as several HTML
documents, each starting on a new page (``RenderJob.parts``).  Every part is
laid out and written by its own forked, limited worker, so the cores share
the work; the first part's worker then assembles the PDF with pikepdf
(:mod:`.assembly`).  It
appends the other parts' pages, puts in the pages of uploaded PDFs
(:class:`Inserted`) and writes what no part can know alone: page numbers
(:class:`Folio`), the page of an anchor into each ``page-of-<anchor>`` slot
(卷内目录), the page count into the ``page-count`` slot (归档章), links and
bookmarks across parts, named destinations.  The first part carries the
PDF/A-3b identity — XMP metadata, output intent, ``/Lang``, the embedded
originals as associated files (``/AF``); the other parts bring pages only.
A worker also skips fixed costs WeasyPrint pays per document that it does
not need (:func:`_worker_shortcuts`); a part of a few pages costs ~0.1 s.

Usage for other printable forms (催办单, 督办单 ...)::

    from duban_archive.archive.render import render_pdf, render_template
    html = render_template("duban_archive.notifications:templates/notice.pt", notice=...)
    pdf = render_pdf(html, title="督办单")
"""

from __future__ import annotations

import io
import logging
import os
import resource
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

#: wall-clock seconds, CPU seconds and address space (bytes) of one render
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 3 * 1024 ** 3
ASSET_PREFIX = "asset:"
#: id prefix of a number slot: ``<span class="pageno" id="page-of-record">`` receives the page of ``#record``
PAGE_OF = "page-of-"
#: id of the slot that receives the document's page count
PAGE_COUNT = "page-count"
#: CSS px -> PDF points
PT = 0.75
#: the glyphs the renderer draws numbers with (Noto Serif CJK, like the page numbers of base.css)
NUMERALS_HTML = ("<html><body><p style=\"font-family:'Noto Serif CJK SC';font-size:14pt\">— 0123456789</p>"
                 "</body></html>")
#: font resource name of those glyphs on the pages that get numbers
NUMERALS = "/DubanNumerals"
#: Noto CJK's line box is 1.151 em above and 0.286 em below the baseline: a line centred in the
#: bottom margin (base.css's @bottom-center) has its baseline this many em below the margin's middle
FOLIO_DROP = (1.151 - 0.286) / 2


class RenderFailed(Exception):
    """The PDF could not be produced; ``message`` says why in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Embedded:
    """A file embedded byte-identical as a PDF/A-3 associated file."""

    filename: str
    data: bytes
    description: str = ""
    relationship: str = "Source"  # Source | Data | Alternative | Supplement


@dataclass
class Inserted:
    """Pages of an uploaded PDF put into the output after layout (a signed report's own pages)."""

    data: bytes
    #: (page index in ``data``, anchor name the page gets: slots and links may point at it)
    pages: list[tuple[int, str]]
    #: the pages go right before the page holding this anchor; at the end when empty
    before: str = ""


@dataclass
class Folio:
    """Page numbers “— N —” that the renderer writes itself, centred under the text block.

    A part laid out in parallel does not know its first page number, so the
    numbers are drawn after assembly, where base.css's ``@bottom-center`` box
    puts them.  Margin boxes are not laid out at all for such a job.
    """

    size: float = 14.0  # pt
    #: named pages (CSS ``page``) without a number; inserted PDF pages never get one
    skip: frozenset[str] = frozenset({"cover", "attached"})


@dataclass
class RenderJob:
    html: str
    title: str
    #: "asset:<name>" -> (bytes, mime type): the only URLs the fetcher serves
    assets: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    stylesheets: list[str] = field(default_factory=list)
    embedded: list[Embedded] = field(default_factory=list)
    #: element id of a placeholder page -> (pdf bytes, page index): swapped in after layout
    pdf_pages: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    variant: str = "pdf/a-3b"
    #: asset URLs of photos to downscale (EXIF orientation applied) before layout
    downscale: set[str] = field(default_factory=set)
    image_max_side: int = 1200
    #: documents whose pages follow ``html``'s, each starting a page, each laid out by its own worker
    parts: list[str] = field(default_factory=list)
    inserts: list[Inserted] = field(default_factory=list)
    folio: Folio | None = None


@dataclass
class PartLayout:
    """What a part's worker reports: its PDF and where things are on its pages (CSS px)."""

    pdf: bytes
    #: per page: (page name, width, height, margin left, margin right, margin bottom)
    pages: list[tuple[str, float, float, float, float, float]]
    #: anchor -> (page, x, y) of the element's top-left corner
    anchors: dict[str, tuple[int, float, float]]
    #: internal links to anchors outside the part (WeasyPrint drops them): (page, anchor, (x1, y1, x2, y2))
    links: list[tuple[int, str, tuple[float, float, float, float]]]
    #: (level, label, page, x, y)
    bookmarks: list[tuple[int, str, int, float, float]]
    #: number slots: (page, slot id, x1, x2, baseline y, font size, text-align)
    slots: list[tuple[int, str, float, float, float, float, str]]


def asset_url(name: str) -> str:
    return ASSET_PREFIX + name


# -- the worker side ----------------------------------------------------------

def make_fetcher(assets: dict[str, tuple[bytes, str]]):
    """A WeasyPrint URL fetcher that serves ``assets`` from memory and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class MemoryFetcher(URLFetcher):
        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols=("asset",), allow_redirects=False,
                             fail_on_errors=False)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):  # noqa: ARG002 - signature of URLFetcher.fetch
            found = assets.get(url)
            if found is None:
                self.refused.append(url)
                raise ValueError(f"refused URL: {url[:200]}")
            data, mime = found
            return URLFetcherResponse(url, data, {"Content-Type": mime})

        def open(self, url, data=None, timeout=None):  # never the urllib machinery
            return self.fetch(url if isinstance(url, str) else url.full_url)

    return MemoryFetcher()


def harfbuzz_subsetting() -> bool:
    """True when WeasyPrint subsets fonts with HarfBuzz (fast) rather than fontTools."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))


_font_config_obj = None


def font_config():
    """One WeasyPrint FontConfiguration per process, made warm: forked workers find Noto loaded."""
    global _font_config_obj
    if _font_config_obj is None:
        from weasyprint.text.fonts import FontConfiguration

        _font_config_obj = FontConfiguration()
    return _font_config_obj


_numerals_pdf: bytes | None = None


def numerals_pdf() -> bytes:
    """A tiny PDF whose one font holds “— 0123456789” in Noto Serif CJK: the renderer's pen for numbers."""
    global _numerals_pdf
    if _numerals_pdf is None:
        import weasyprint

        _numerals_pdf = weasyprint.HTML(string=NUMERALS_HTML, url_fetcher=make_fetcher({})).write_pdf(
            font_config=font_config())
    return _numerals_pdf


#: stylesheets of this package (text -> parsed), parsed once in the parent so each worker skips it
_parsed_css: dict[str, Any] = {}
_package_css: set[str] = set()


def package_css(name: str) -> str:
    """A stylesheet shipped in ``templates/``: trusted, so the renderer may parse it before forking."""
    from importlib.resources import files

    css = files("duban_archive.archive").joinpath(f"templates/{name}").read_text("utf-8")
    _package_css.add(css)
    return css


def _parse_package_css(job: RenderJob) -> None:
    """Parse the job's package stylesheets here, before the fork (~12 ms a part otherwise).

    Only our own files, and only those that load nothing (no ``@import``, no
    ``@font-face``): parsing one fetches nothing, and its fetcher serves nothing.
    """
    from weasyprint import CSS

    for css in job.stylesheets:
        if css in _package_css and css not in _parsed_css and "@import" not in css and "@font-face" not in css:
            _parsed_css[css] = CSS(string=css, base_url="asset:/", url_fetcher=make_fetcher({}),
                                   font_config=font_config())


def render_in_process(job: RenderJob) -> bytes:
    """Render ``job`` here and now, part after part (tests may call it; workers render one part each)."""
    from .assembly import assemble

    return assemble(job, [_render_part(job, k) for k in range(1 + len(job.parts))])


class _CrossPartAnchors(logging.Filter):
    """A part laid out alone links to sections another part holds; the assembly joins those links.

    WeasyPrint logs each such link as an ERROR ("No anchor #feedback …"): expected here, not news.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No anchor")


_cross_part_anchors = _CrossPartAnchors()


def _render_part(job: RenderJob, index: int, *, forked: bool = False) -> PartLayout:
    """Lay out and write part ``index`` (0 = ``job.html``, the one carrying metadata and attachments)."""
    from weasyprint import CSS, HTML

    if job.parts:
        logging.getLogger("weasyprint").addFilter(_cross_part_anchors)  # idempotent

    from .fonts import check_text

    text = job.html if index == 0 else job.parts[index - 1]
    check_text(text)
    for css in job.stylesheets:
        check_text(css)
    # only the photos this part shows (the asset URL appears quoted in its HTML)
    _downscale(job, {u for u in job.downscale if f'"{u}"' in text or any(u in css for css in job.stylesheets)})
    if forked:
        _worker_shortcuts(job)
    fetcher = make_fetcher(job.assets)
    fonts = font_config()
    html = HTML(string=text, base_url="asset:/", url_fetcher=fetcher)
    sheets = [_parsed_css.get(css) or CSS(string=css, base_url="asset:/", url_fetcher=fetcher, font_config=fonts)
              for css in job.stylesheets]
    document = html.render(stylesheets=sheets, font_config=fonts)
    layout = _describe(document)
    # the first part is the PDF/A file the others' pages join (their identity would be dropped anyway);
    # the embedded originals are added by the assembly, stored as they are
    layout.pdf = document.write_pdf(pdf_variant=job.variant if index == 0 else None, uncompressed_pdf=False)
    return layout


def _worker_shortcuts(job: RenderJob) -> None:
    """Savings on WeasyPrint's fixed costs, only ever made in a throwaway worker process.

    * A job with a :class:`Folio` lays out no margin boxes: WeasyPrint styles
      and places sixteen on every page even when they are empty (~3 ms a
      page), and the numbers come from the assembly.
    * Fonts are subsetted by HarfBuzz in one pass instead of two.  WeasyPrint
      keeps the used glyph ids, then subsets again to trim the glyphs after
      the last one used; each pass over a CJK face (65,535 glyph slots) costs
      ~40 ms, twice per face per part.  One pass with the same flags keeps
      the same glyphs under the same ids (a few empty slots more at the end).
    * The face's file is not copied into each font object (see
      :func:`_font_file_views`).
    * pydyf deflates streams at zlib level 9; level 1 writes a part ~10 %
      faster (fonts, pages of text) for a PDF ~1.5 % larger.
    """
    import pydyf
    import weasyprint.layout as layout
    from weasyprint.pdf import fonts

    if getattr(pydyf, "zlib", None) is zlib:
        pydyf.zlib = _FastZlib()

    if job.folio is not None and hasattr(layout, "make_margin_boxes"):
        layout.make_margin_boxes = lambda context, page, state: ()
    _font_file_views(fonts)
    original = getattr(fonts.Font, "_harfbuzz_subset", None)
    if original is None or getattr(original, "single_pass", False):
        return

    def single_pass(self, to_unicode, hinting) -> None:
        try:
            data = _subset_once(self, to_unicode, hinting)
        except Exception:  # noqa: BLE001 - anything unexpected: WeasyPrint's own way
            data = None
        if data:
            self.file_content = data
        else:
            original(self, to_unicode, hinting)

    def _subset_once(self, to_unicode, hinting) -> bytes | None:
        from weasyprint.text.ffi import ffi, harfbuzz, harfbuzz_subset

        subset = ffi.gc(harfbuzz_subset.hb_subset_input_create_or_fail(), harfbuzz_subset.hb_subset_input_destroy)
        glyphs = harfbuzz_subset.hb_subset_input_glyph_set(subset)
        used = sorted(to_unicode)
        harfbuzz.hb_set_add_sorted_array(glyphs, ffi.new(f"hb_codepoint_t[{len(used)}]", used), len(used))
        flags = (harfbuzz_subset.HB_SUBSET_FLAGS_RETAIN_GIDS | harfbuzz_subset.HB_SUBSET_FLAGS_PASSTHROUGH_UNRECOGNIZED
                 | harfbuzz_subset.HB_SUBSET_FLAGS_DESUBROUTINIZE)
        if not hinting:
            flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NO_HINTING
        if self.missing:
            flags |= harfbuzz_subset.HB_SUBSET_FLAGS_NOTDEF_OUTLINE
        harfbuzz_subset.hb_subset_input_set_flags(subset, flags)
        drop = harfbuzz_subset.hb_subset_input_set(subset, harfbuzz_subset.HB_SUBSET_SETS_DROP_TABLE_TAG)
        # WeasyPrint's list, and vertical metrics: text here is set horizontally, and in a subset that
        # keeps glyph ids, vmtx alone is a quarter of a megabyte to write and compress
        tags = sorted(harfbuzz.hb_tag_from_string(name, -1) for name in (
            b"BASE", b"DSIG", b"EBDT", b"EBLC", b"EBSC", b"GPOS", b"GSUB", b"JSTF", b"LTSH", b"PCLT", b"SVG ",
            b"vhea", b"vmtx", b"VORG"))
        harfbuzz.hb_set_add_sorted_array(drop, ffi.new(f"hb_codepoint_t[{len(tags)}]", tags), len(tags))
        face = ffi.gc(harfbuzz_subset.hb_subset_or_fail(self.hb_face, subset), harfbuzz.hb_face_destroy)
        return fonts.get_hb_object_data(face) if face else None

    single_pass.single_pass = True
    fonts.Font._harfbuzz_subset = single_pass


class _FastZlib:
    """zlib as pydyf sees it in a worker: every stream deflated at level 1."""

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compressobj(level: int = -1, *args: Any, **kwargs: Any) -> Any:  # noqa: ARG004 - the level is ours
        return zlib.compressobj(1, *args, **kwargs)

    @staticmethod
    def compress(data: bytes, level: int = -1) -> bytes:  # noqa: ARG004
        return zlib.compress(data, 1)


def _font_file_views(fonts) -> None:
    """A font keeps a view of its face's file (mapped by HarfBuzz) instead of a copy of it.

    WeasyPrint copies the whole face blob into ``Font.file_content`` — the
    Noto CJK collections are 19 and 26 MB, so every part paid ~60 ms of
    copying and page faults for bytes it never reads: the subset is made
    from the face, and replaces ``file_content``.  The view lives as long as
    the font holds its face.
    """
    original_init = fonts.Font.__init__
    if getattr(original_init, "file_views", False):
        return
    copy = fonts.get_hb_object_data

    def view(hb_object, ot_color=None, glyph=None):
        if ot_color is not None:
            return copy(hb_object, ot_color, glyph)
        from weasyprint.text.ffi import ffi, harfbuzz

        blob = harfbuzz.hb_face_reference_blob(hb_object)
        try:
            length = ffi.new("unsigned int *")
            data = harfbuzz.hb_blob_get_data(blob, length)
            return None if data == ffi.NULL else ffi.buffer(data, int(length[0]))
        finally:
            harfbuzz.hb_blob_destroy(blob)

    def init(self, *args, **kwargs) -> None:
        fonts.get_hb_object_data = view
        try:
            original_init(self, *args, **kwargs)
        finally:
            fonts.get_hb_object_data = copy

    init.file_views = True
    fonts.Font.__init__ = init


def _describe(document) -> PartLayout:
    pages: list[tuple[str, float, float, float, float, float]] = []
    anchors: dict[str, tuple[int, float, float]] = {}
    internal: list[tuple[int, str, tuple[float, float, float, float]]] = []
    bookmarks: list[tuple[int, str, int, float, float]] = []
    slots: list[tuple[int, str, float, float, float, float, str]] = []
    for i, page in enumerate(document.pages):
        box = page._page_box
        pages.append((box.page_type.name or "", page.width, page.height, box.margin_left, box.margin_right,
                      box.margin_bottom))
        wanted = set()
        for name, (x1, y1, _x2, _y2) in page.anchors.items():
            if name not in anchors:
                anchors[name] = (i, x1, y1)
                if name == PAGE_COUNT or name.startswith(PAGE_OF):
                    wanted.add(name)
        for kind, target, rect, _box in page.links:
            if kind == "internal":
                internal.append((i, target, tuple(rect)))
        for level, label, (x, y), _state in page.bookmarks:
            bookmarks.append((level, label, i, x, y))
        if wanted:  # a slot is an empty inline-block of no height: its box sits on the baseline
            for child in box.descendants():
                name = child.style["anchor"]
                if name in wanted:
                    wanted.discard(name)
                    x1, y1, x2, _y2 = page.anchors[name]
                    slots.append((i, name, x1, x2, y1, child.style["font_size"], child.style["text_align_all"]))
    links = [link for link in internal if link[1] not in anchors]
    return PartLayout(b"", pages, anchors, links, bookmarks, slots)


def _downscale(job: RenderJob, urls: set[str]) -> None:
    """Photos shrink to print size; EXIF orientation is applied to the pixels.

    Decoded under a memory bound (``reduced_image``): nothing above Pillow's
    ``MAX_IMAGE_PIXELS`` (the site's ``duban.max_image_pixels``), a JPEG at 1/2,
    1/4 … scale straight from the DCT, any other format once, never copied at full size.
    """
    from PIL import Image

    from ..content_types.attachment import reduced_image

    side = job.image_max_side
    for url in sorted(urls):
        data, _mime = job.assets[url]
        try:
            img = reduced_image(io.BytesIO(data), (side, side), resample=Image.Resampling.BILINEAR,
                                draft=(side // 2, side // 2)).convert("RGB")
            out = io.BytesIO()
            img.save(out, "JPEG", quality=82, optimize=False)
        except Exception as exc:  # noqa: BLE001 - a broken photo fails the render, with its name
            raise RenderFailed(f"照片无法解码：{url.removeprefix(ASSET_PREFIX)}（{exc}）") from exc
        job.assets[url] = (out.getvalue(), "image/jpeg")
        job.downscale.discard(url)  # once: an in-process render of several parts shares the job


# -- the worker processes ---------------------------------------------------------

def _run_child(work: Callable[[], Any], fd: int, close: list[int], memory: int, cpu_seconds: int) -> None:
    """Runs in a forked child: limits first, then ``work()``, then one pickled answer on ``fd``."""
    import gc
    import pickle
    import signal

    try:
        for other in close:
            os.close(other)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # the parent's objects are never scanned by this child's collections: no copy-on-write of the heap
        gc.freeze()
        answer: tuple[str, Any]
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = _vm_size() + memory
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
            answer = ("ok", work())
        except MemoryError:
            answer = ("error", "生成档案 PDF 时内存超出限制")
        except RenderFailed as exc:
            answer = ("error", exc.message)
        except Exception as exc:  # noqa: BLE001 - report everything to the parent, in Chinese
            from .fonts import MissingGlyphs

            if isinstance(exc, MissingGlyphs):
                answer = ("error", str(exc))
            else:
                answer = ("error", f"生成档案 PDF 失败：{type(exc).__name__}: {exc}"[:500])
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.close(fd)
    finally:
        os._exit(0)


def _vm_size() -> int:
    """This process's current address-space size: the budget is on top of what fork inherited."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:  # pragma: no cover - not Linux
        return 0


def _fork(work: Callable[[], Any], fd: int, close: list[int], memory: int, cpu_seconds: int) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
        _run_child(work, fd, close, memory, cpu_seconds)
    return pid


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> PartLayout:
    """A part worker's answer, in the first part's worker (which then assembles)."""
    import pickle

    try:
        status, payload = pickle.loads(_read_all(fd))
    except Exception as exc:  # noqa: BLE001 - a killed worker leaves a torn or empty answer
        raise RenderFailed("排版工作进程异常退出（可能超出内存或时间限制）") from exc
    finally:
        os.close(fd)
    if status != "ok":
        raise RenderFailed(payload)
    return payload


def _first_part(job: RenderJob, receive: list[int]) -> bytes:
    from .assembly import assemble

    first = _render_part(job, 0, forked=True)
    return assemble(job, [first, *(_receive(fd) for fd in receive)])


# -- the parent side --------------------------------------------------------

_warm_lock = threading.Lock()
_fork_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Import WeasyPrint, load the fonts and lay out one page once, so forked renders start warm."""
    global _warmed
    with _warm_lock:
        if not _warmed:
            from . import warm  # noqa: F401

            _warmed = True


def render_job(job: RenderJob, *, timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY) -> bytes:
    """Render ``job`` in forked, resource-limited workers; raises :class:`RenderFailed`.

    One worker per part, all at once; the first part's worker assembles and
    answers.  Forks (not fresh interpreters) so each starts with WeasyPrint
    and the fonts warm: a spawned worker would pay about a second each time.
    ``timeout`` is the wall clock of the whole job, and each worker's CPU
    limit; ``memory`` is each worker's address-space budget.
    """
    import pickle
    import select
    import time

    warm_up()
    _parse_package_css(job)
    cpu_seconds = max(1, int(timeout))
    deadline = time.monotonic() + timeout
    pids: list[int] = []
    read_fd = -1
    # One render at a time between making its pipes and closing the parent's write ends: a worker
    # forked meanwhile for another render (another thread) would inherit those ends and hold them
    # open, and a first worker waiting for its parts' end of file would wait for ever.
    with _fork_lock:
        links = [_pipe() for _ in job.parts]  # part k -> the first part's worker
        link_fds = [fd for pair in links for fd in pair]
        try:
            read_fd, write_fd = _pipe()
            try:  # the first part's worker first: it has the most to do
                pids.append(_fork(partial(_first_part, job, [r for r, _w in links]), write_fd,
                                  [read_fd, *(w for _r, w in links)], memory, cpu_seconds))
            finally:
                os.close(write_fd)
            for k, (_r, w) in enumerate(links, 1):
                pids.append(_fork(partial(_render_part, job, k, forked=True), w,
                                  [read_fd, *(fd for fd in link_fds if fd != w)], memory, cpu_seconds))
        except BaseException:
            if read_fd >= 0:
                os.close(read_fd)
            _reap(pids)
            raise
        finally:
            for fd in link_fds:
                os.close(fd)
    chunks: list[bytes] = []
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:
        _reap(pids)
        raise
    finally:
        os.close(read_fd)
    if timed_out:
        _reap(pids)
        raise RenderFailed(f"生成档案 PDF 超时（超过 {timeout:.0f} 秒），已中止")
    try:
        status, payload = pickle.loads(b"".join(chunks))
    except Exception as exc:  # noqa: BLE001 - a killed child leaves a torn or empty answer
        _reap(pids)
        raise RenderFailed("生成档案 PDF 的工作进程异常退出（可能超出内存或时间限制）") from exc
    if status != "ok":
        _reap(pids)
        raise RenderFailed(payload)
    # the PDF is here: the workers' exits (tearing down a few hundred MB each) need not be waited for
    _reap(pids, wait=False)
    return payload


def _pipe() -> tuple[int, int]:
    """A pipe that holds a megabyte: a PDF crosses it in a few writes, not in hundreds of 64 KB ones."""
    read_fd, write_fd = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):  # pragma: no cover - not Linux, or a lower system limit
        pass
    return read_fd, write_fd


def _reap(pids: list[int], *, wait: bool = True) -> None:
    """End every worker (the first has answered, or is out of time) and collect their exits."""
    import signal

    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def collect() -> None:
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass

    if wait:
        collect()
    else:
        threading.Thread(target=collect, name="render-reaper", daemon=True).start()


def render_pdf(html: str, *, title: str, stylesheets: list[str] | None = None,
               assets: dict[str, tuple[bytes, str]] | None = None,
               embedded: list[Embedded] | None = None, landscape: bool = False,
               timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """A PDF/A-3b of ``html`` (A4, GB/T 9704 typography), rendered safely.

    ``html`` must already be escaped (use :func:`render_template`); only the
    ``assets`` given here can be referenced (as ``asset:<name>``).
    """
    sheets = [base_css(landscape=landscape), *(stylesheets or [])]
    job = RenderJob(html=html, title=title, assets=dict(assets or {}), stylesheets=sheets,
                    embedded=list(embedded or []))
    return render_job(job, timeout=timeout)


def base_css(*, landscape: bool = False) -> str:
    css = package_css("base.css")
    if landscape:
        css += "\n@page { size: A4 landscape; margin: 20mm 20mm 18mm 20mm; }\n"
        _package_css.add(css)
    return css


def render_template(spec: str, **namespace: Any) -> str:
    """Render a Chameleon template (escaping every value) to an HTML string.

    ``spec`` is ``package:path`` (e.g. ``duban_archive.archive:templates/dossier.pt``).
    """
    return _template(spec)(**namespace)


_templates: dict[str, Any] = {}


def _template(spec: str):
    tpl = _templates.get(spec)
    if tpl is None:
        from chameleon import PageTemplateFile
        from pyramid.path import AssetResolver

        path = AssetResolver().resolve(spec).abspath()
        tpl = _templates[spec] = PageTemplateFile(path, encoding="utf-8")
    return tpl
