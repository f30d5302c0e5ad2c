"""Safe PDF/A rendering with WeasyPrint — for dossiers and every printable form.

Why a worker process: an item's content comes from many hands, and layout
engines have had bugs; the render runs in a child forked from this process
once it is warm (WeasyPrint imported, Noto CJK coverage loaded, one page laid
out), with CPU and address-space limits, and the parent kills it when the
wall clock runs out.
Nothing it does touches the database: a failed render changes nothing and
says why in :class:`RenderFailed`.

Why a memory-only URL fetcher: the HTML may contain user text; it is escaped
by the templates, but even a template bug must not let ``file:///etc/passwd``
or a network URL into a record.  Only ``asset:`` URLs given with the job are
served; there is no file, network or redirect path at all.

Fonts: Noto Serif/Sans CJK SC come from fontconfig and are subsetted by
WeasyPrint through HarfBuzz (``libharfbuzz-subset0``), the fast path: the
collections are never embedded whole (see :func:`harfbuzz_subsetting`).

Usage for other printable forms (催办单, 督办单 ...)::

    from duban_archive.archive.render import render_pdf, render_template
    html = render_template("duban_archive.notifications:templates/notice.pt", notice=...)
    pdf = render_pdf(html, title="督办单")
"""

from __future__ import annotations

import os
import resource
import threading
from dataclasses import dataclass, field
from typing import Any

#: wall-clock seconds, CPU seconds and address space (bytes) of one render
DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY = 3 * 1024 ** 3
ASSET_PREFIX = "asset:"


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


def asset_url(name: str) -> str:
    return ASSET_PREFIX + name


# -- the child side ---------------------------------------------------------

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


def render_in_process(job: RenderJob) -> bytes:
    """Render ``job`` here and now (the worker calls this; tests may too)."""
    import io

    import pikepdf
    from weasyprint import CSS, HTML, Attachment

    from .fonts import check_text

    check_text(job.html)
    _downscale(job)
    for css in job.stylesheets:
        check_text(css)
    fetcher = make_fetcher(job.assets)
    html = HTML(string=job.html, base_url="asset:/", url_fetcher=fetcher)
    sheets = [CSS(string=css, base_url="asset:/", url_fetcher=fetcher) for css in job.stylesheets]
    document = html.render(stylesheets=sheets)
    placements: dict[int, tuple[bytes, int]] = {}
    if job.pdf_pages:
        for index, page in enumerate(document.pages):
            for anchor in page.anchors:
                if anchor in job.pdf_pages and index not in placements:
                    placements[index] = job.pdf_pages[anchor]
        lost = set(job.pdf_pages) - {a for i in placements for a in document.pages[i].anchors}
        if lost:
            raise RenderFailed("附页占位未能排版：" + "、".join(sorted(lost)))
    attachments = [Attachment(string=e.data, name=e.filename, description=e.description or e.filename,
                              relationship=e.relationship, url_fetcher=fetcher) for e in job.embedded]
    pdf = document.write_pdf(pdf_variant=job.variant, attachments=attachments or None,
                             uncompressed_pdf=False)
    if not placements:
        return pdf
    out = pikepdf.open(io.BytesIO(pdf))
    sources: dict[int, pikepdf.Pdf] = {}
    for index in sorted(placements):
        data, page_no = placements[index]
        src = sources.get(id(data))
        if src is None:
            try:
                src = sources[id(data)] = pikepdf.open(io.BytesIO(data))
            except pikepdf.PdfError as exc:
                raise RenderFailed(f"盖章扫描件 PDF 无法解析：{exc}") from exc
        out.pages[index] = src.pages[page_no]
    buf = io.BytesIO()
    out.save(buf, deterministic_id=False)
    return buf.getvalue()


def _downscale(job: RenderJob) -> None:
    """Photos shrink to print size; EXIF orientation is applied to the pixels."""
    import io

    from PIL import Image, ImageOps

    side = job.image_max_side
    for url in job.downscale:
        data, _mime = job.assets[url]
        try:
            with Image.open(io.BytesIO(data)) as img:
                if img.format == "JPEG":  # decode at 1/2, 1/4 … scale straight from the DCT: fast
                    img.draft("RGB", (side // 2, side // 2))
                img = ImageOps.exif_transpose(img)
                img = img.convert("RGB")
                img.thumbnail((side, side), Image.Resampling.BILINEAR, reducing_gap=2.0)
                out = io.BytesIO()
                img.save(out, "JPEG", quality=82, optimize=False)
        except Exception as exc:  # noqa: BLE001 - a broken photo fails the render, with its name
            raise RenderFailed(f"照片无法解码：{url.removeprefix(ASSET_PREFIX)}（{exc}）") from exc
        job.assets[url] = (out.getvalue(), "image/jpeg")


def _child(job: RenderJob, fd: int, memory: int, cpu_seconds: int) -> None:
    """Runs in the forked child: limits first, then render, then one pickled answer on ``fd``."""
    import pickle

    try:
        answer: tuple[str, Any]
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = _vm_size() + memory
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
            answer = ("ok", render_in_process(job))
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


# -- the parent side --------------------------------------------------------

_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Import WeasyPrint and lay out one page once, so forked renders start warm."""
    global _warmed
    with _warm_lock:
        if not _warmed:
            from . import warm  # noqa: F401

            _warmed = True


def render_job(job: RenderJob, *, timeout: float = DEFAULT_TIMEOUT, memory: int = DEFAULT_MEMORY) -> bytes:
    """Render ``job`` in a forked, resource-limited child; raises :class:`RenderFailed`.

    A fork (not a fresh interpreter) so the child starts with WeasyPrint and
    the font caches warm: a spawned worker would pay about a second each time.
    """
    import pickle
    import select
    import signal
    import time

    warm_up()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage cannot follow it
        os.close(read_fd)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _child(job, write_fd, memory, max(1, int(timeout)))
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
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
    finally:
        os.close(read_fd)
        if timed_out:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    if timed_out:
        raise RenderFailed(f"生成档案 PDF 超时（超过 {timeout:.0f} 秒），已中止")
    try:
        status, payload = pickle.loads(b"".join(chunks))
    except Exception as exc:  # noqa: BLE001 - a killed child leaves a torn or empty answer
        raise RenderFailed("生成档案 PDF 的工作进程异常退出（可能超出内存或时间限制）") from exc
    if status != "ok":
        raise RenderFailed(payload)
    return payload


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
    from importlib.resources import files

    css = files("duban_archive.archive").joinpath("templates/base.css").read_text("utf-8")
    if landscape:
        css += "\n@page { size: A4 landscape; margin: 20mm 20mm 18mm 20mm; }\n"
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

