"""Safe PDF/A rendering with WeasyPrint — for dossiers and every printable form.

Why a worker process: an item's content comes from many hands, and layout
engines have had bugs; the render runs in a child forked from this process
once it is warm (WeasyPrint imported, Noto CJK coverage and fonts loaded, one
page laid out), with CPU and address-space limits, and the parent kills it
when the wall clock runs out.
Nothing it does touches the database: a failed render changes nothing and
says why in :class:`RenderFailed`.

Why a memory-only URL fetcher: the HTML may contain user text; it is escaped
by the templates, but even a template bug must not let ``file:///etc/passwd``
or a network URL into a record.  Only ``asset:`` URLs given with the job are
served; there is no file, network or redirect path at all.

Fonts: Noto Serif/Sans CJK SC come from fontconfig and are subsetted by
WeasyPrint through HarfBuzz (``libharfbuzz-subset0``), the fast path: the
collections are never embedded whole (see :func:`harfbuzz_subsetting`).
A job is one HTML document laid out by one worker, so the PDF holds exactly
one subset per face: page numbers (``counter(page)``), the 卷内目录's
numbers (``target-counter()``) and the 归档章's 页数 are laid out by
WeasyPrint like any text, with the pages of uploaded PDFs standing in as
placeholder pages (:attr:`RenderJob.pdf_pages`) that the worker swaps for the
real ones after layout (:mod:`.assembly`).

(Laying a dossier out in parts on several workers was tried: each part
embedded its own subset of each face, files grew 18–62 %, and with two
dossiers rendering at once on two cores it was slower, not faster — figures
in ``bench/bench_dossier.py``.)

Usage for other printable forms (催办单, 督办单 ...)::

    from duban_archive.archive.render import render_pdf, render_template
    html = render_template("duban_archive.notifications:templates/notice.pt", notice=...)
    pdf = render_pdf(html, title="督办单")
"""

from __future__ import annotations

import io
import os
import resource
import threading
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

from .assembly import assemble
from .fonts import MissingGlyphs, check_text, covered
from .job import ASSET_PREFIX, Embedded, RenderFailed, RenderJob, asset_url

__all__ = ["ASSET_PREFIX", "DEFAULT_MEMORY", "DEFAULT_TIMEOUT", "Embedded", "RenderFailed", "RenderJob", "asset_url",
           "base_css", "package_css", "render_in_process", "render_job", "render_pdf", "render_template", "warm_up"]

#: wall-clock seconds, CPU seconds and address space (bytes) of one render
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 3 * 1024 ** 3


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


_font_config_obj: Any = None


def font_config():
    """One WeasyPrint FontConfiguration per process, made warm: forked workers find Noto loaded."""
    global _font_config_obj
    if _font_config_obj is None:
        from weasyprint.text.fonts import FontConfiguration

        _font_config_obj = FontConfiguration()
    return _font_config_obj


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
    """Parse the job's package stylesheets here, before the fork (~12 ms in every worker otherwise).

    Only our own files, and only those that load nothing (no ``@import``, no
    ``@font-face``): parsing one fetches nothing, and its fetcher serves nothing.
    """
    from weasyprint import CSS

    for css in job.stylesheets:
        if css in _package_css and css not in _parsed_css and "@import" not in css and "@font-face" not in css:
            _parsed_css[css] = CSS(string=css, base_url="asset:/", url_fetcher=make_fetcher({}),
                                   font_config=font_config())


def render_in_process(job: RenderJob) -> bytes:
    """Render ``job`` here and now, without a worker (tests compare it with a forked render)."""
    return _render(job)


def _render(job: RenderJob, *, forked: bool = False) -> bytes:
    """Lay the document out, write it, and swap the placeholder pages for the uploaded ones."""
    from weasyprint import CSS, HTML

    check_text(job.html)
    for css in job.stylesheets:
        check_text(css)
    if forked:
        _worker_shortcuts()
    _downscale(job, set(job.downscale))
    fetcher = make_fetcher(job.assets)
    fonts = font_config()
    html = HTML(string=job.html, base_url="asset:/", url_fetcher=fetcher)
    sheets = [_parsed_css.get(css) or CSS(string=css, base_url="asset:/", url_fetcher=fetcher, font_config=fonts)
              for css in job.stylesheets]
    document = html.render(stylesheets=sheets, font_config=fonts)
    placeholders: dict[str, int] = {}
    for i, page in enumerate(document.pages):
        for name in page.anchors:
            if name in job.pdf_pages:
                placeholders.setdefault(name, i)
    # the embedded originals are added by the assembly, stored as they are
    pdf = document.write_pdf(pdf_variant=job.variant, uncompressed_pdf=False)
    return assemble(job, pdf, placeholders)


def _worker_shortcuts() -> None:
    """Savings on WeasyPrint's fixed costs (and one strictness), only ever made in a throwaway worker process.

    * Fonts are subsetted by HarfBuzz in one pass instead of two.  WeasyPrint
      keeps the used glyph ids, then subsets again to trim the glyphs after
      the last one used; each pass over a CJK face (65,535 glyph slots) costs
      ~40 ms, twice per face.  One pass with the same flags keeps
      the same glyphs under the same ids (a few empty slots more at the end).
    * The face's file is not copied into each font object (see
      :func:`_font_file_views`).
    * pydyf deflates streams at zlib level 9; level 1 writes a document ~10 %
      faster (fonts, pages of text) for a PDF ~1.5 % larger.
    """
    import pydyf
    from PIL import ImageFile
    from weasyprint.pdf import fonts

    # WeasyPrint lets Pillow decode truncated images (grey below the cut) for the whole process; in this
    # throwaway worker a photo cut short fails the render instead of going into a record as a grey block
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    if getattr(pydyf, "zlib", None) is zlib:
        pydyf.zlib = _FastZlib()

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

    setattr(single_pass, "single_pass", True)  # noqa: B010 - a mark on a function
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
    Noto CJK collections are 19 and 26 MB, so every render paid ~60 ms of
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

    setattr(init, "file_views", True)  # noqa: B010 - a mark on a function
    fonts.Font.__init__ = init


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
            name = job.asset_names.get(url) or url.removeprefix(ASSET_PREFIX)
            raise RenderFailed(f"照片无法解码：{name}（{exc}）") from exc
        job.assets[url] = (out.getvalue(), "image/jpeg")
        job.downscale.discard(url)  # once: a job rendered again in this process is not shrunk twice


# -- the worker process ---------------------------------------------------------

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


# -- the parent side --------------------------------------------------------

_warm_lock = threading.Lock()
_fork_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Import WeasyPrint, load the fonts and lay out one page once, so forked renders start warm.

    Importing WeasyPrint, loading Noto CJK coverage and laying out one tiny
    Chinese page (fontconfig and Pango caches) costs about a second; every
    render forked afterwards skips it.  The page is laid out with the
    renderer's one FontConfiguration, so the workers inherit Noto Serif and
    Sans already loaded into Pango.  A failure here only costs speed: the
    worker then warms up on its own.
    """
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        _warmed = True
        try:
            # modules a render imports on first use (the fetcher's responses, image decoders, the
            # assembly's PDF library): imported here once, not by every forked worker
            import email.contentmanager  # noqa: F401
            import email.headerregistry  # noqa: F401
            import email.policy  # noqa: F401
            import fractions  # noqa: F401
            import mimetypes

            import pikepdf  # noqa: F401
            import weasyprint
            from PIL import Image, ImageOps  # noqa: F401

            from . import attached_pages  # noqa: F401

            try:  # filing's 四性检测 verifies signatures with it (0.3 s to import): not on the first filing
                import pyhanko.sign.validation  # noqa: F401
            except ImportError:  # pragma: no cover - a requirement; the check says 未检测 without it
                pass

            Image.preinit()  # the JPEG/PNG/GIF decoders (~35 ms)
            mimetypes.init()
            covered()
            weasyprint.HTML(string="<p style=\"font-family:'Noto Serif CJK SC'\">预热 warm — 1</p>"
                            "<h1 style=\"font-family:'Noto Sans CJK SC'\">预热</h1>",
                            url_fetcher=make_fetcher({})).render(font_config=font_config())
        except Exception:  # noqa: BLE001 # pragma: no cover - the worker then warms up on its own
            pass


def render_job(job: RenderJob, *, timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY) -> bytes:
    """Render ``job`` in a forked, resource-limited worker; raises :class:`RenderFailed`.

    Forks (not a fresh interpreter) so the worker starts with WeasyPrint and
    the fonts warm: a spawned worker would pay about a second each time.
    ``timeout`` is the wall clock of the render, and the worker's CPU limit;
    ``memory`` is its address-space budget.
    """
    import pickle
    import select
    import time

    warm_up()
    _parse_package_css(job)
    cpu_seconds = max(1, int(timeout))
    deadline = time.monotonic() + timeout
    pids: list[int] = []
    # One fork at a time: a worker forked for another render (another thread) while this one's pipe
    # is open would inherit its write end and keep it open, and this render would wait for ever.
    with _fork_lock:
        read_fd, write_fd = _pipe()
        try:
            pids.append(_fork(partial(_render, job, forked=True), write_fd, [read_fd], memory, cpu_seconds))
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
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
    # the PDF is here: the worker's exit (tearing down a few hundred MB) need not be waited for
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
    """End the worker (it has answered, or is out of time) and collect its exit."""
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
