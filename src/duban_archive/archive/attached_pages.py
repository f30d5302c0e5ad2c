"""Pages of uploaded PDFs (signed and sealed reports) that are copied into the PDF/A dossier.

The dossier is PDF/A-3b; ``render.py`` swaps placeholder pages for the pages
of each signed report after layout.  A page copied as is brings along every
object it reaches — fonts, images, annotations, actions — and an arbitrary
upload may carry what PDF/A forbids.  :func:`problems` says, in Chinese, why
a page cannot be copied as is (an empty list: copy it); :func:`rasterize`
makes a one-page PDF holding only an image of the page, which is always safe
to copy.  The original file stays embedded byte-identical as an associated
file either way, so its signatures remain verifiable.

Checks follow ISO 19005-2/3 (PDF/A-2 and -3 share them) for what a copied
page can bring: non-embedded fonts, JavaScript and other forbidden actions,
automatic actions, encryption, LZW, external streams, PostScript and
reference XObjects, transfer functions and halftones, non-standard blend
modes, page transparency groups without a blending colour space, DeviceCMYK
(the dossier's output intent is sRGB), image interpolation, forbidden or
hidden annotations and annotations without appearance, signature fields
(a copied signature would show as broken) and optional content (its OCGs are
not registered in the dossier).  Document-level JavaScript in the source is
reported too: such a file is not trusted page by page.
"""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

DEFAULT_DPI = 200
#: ceiling for one rendered page (a poster-sized page is rendered at a lower resolution instead)
MAX_PIXELS = 40_000_000
JPEG_QUALITY = 85
PDFTOPPM_TIMEOUT = 60

#: ISO 19005-2 6.5.1: action types a conforming file shall not contain
FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/Hide", "/SetOCGState",
                     "/Rendition", "/Trans", "/GoTo3DView", "/JavaScript"}
ALLOWED_NAMED_ACTIONS = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
#: 6.3.1: annotation types not permitted (FileAttachment: its file would lack an AF relationship)
FORBIDDEN_ANNOTATIONS = {"/3D", "/Sound", "/Screen", "/Movie", "/FileAttachment", "/RichMedia"}
STANDARD_BLEND_MODES = {"/Normal", "/Compatible", "/Multiply", "/Screen", "/Overlay", "/Darken", "/Lighten",
                        "/ColorDodge", "/ColorBurn", "/HardLight", "/SoftLight", "/Difference", "/Exclusion",
                        "/Hue", "/Saturation", "/Color", "/Luminosity"}
FONT_SUBTYPES = {"/Type1", "/MMType1", "/TrueType", "/CIDFontType0", "/CIDFontType2"}
# annotation flags (PDF 32000-1 12.5.3)
_INVISIBLE, _HIDDEN, _PRINT, _NOVIEW, _TOGGLE_NOVIEW = 1, 2, 4, 32, 256
_CONTAINERS = (Dictionary, Array, Stream)
#: keys not followed: back to the page tree or the annotation's page, and long arrays of numbers
#: (glyph widths, ranges, boxes) that cannot hold anything a check looks for
_SKIP_KEYS = frozenset({"/Parent", "/P", "/Widths", "/W", "/W2", "/Rect", "/MediaBox", "/CropBox", "/BleedBox",
                        "/TrimBox", "/ArtBox", "/BBox", "/Matrix", "/FontBBox", "/FontMatrix", "/Decode", "/Range",
                        "/Domain", "/Encode", "/Bounds", "/C0", "/C1", "/Size", "/Differences", "/CIDSet"})
_GSTATE_KEYS = frozenset({"/TR", "/TR2", "/HTP", "/HT", "/BM"})
#: a content stream needs tokenizing only if it may use one of these operators or names
_SUSPECT_OPERATORS = re.compile(rb"(?:^|\s)(?:k|K|BI|PS)(?:\s|$)|DeviceCMYK")
CMYK = "使用 DeviceCMYK 颜色（档案 PDF 的输出意图为 sRGB，未指定 CMYK 特性文件）"


class AttachedPageError(Exception):
    """The page cannot be read or rendered; ``message`` is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- checking ------------------------------------------------------------------------

def problems(pdf_bytes: bytes, page_index: int) -> list[str]:
    """Why page ``page_index`` (0-based) of ``pdf_bytes`` cannot be copied into a PDF/A file as is.

    Empty when it can.  An unreadable file is one problem (it then needs :func:`rasterize`,
    which may fail in turn with :class:`AttachedPageError`).
    """
    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except pikepdf.PasswordError:
        return ["文件有打开密码，无法读取"]
    except pikepdf.PdfError as exc:
        return [f"PDF 无法解析：{str(exc).rsplit(': ', 1)[-1]}"]
    with pdf:
        return page_problems(pdf, page_index)


def page_problems(pdf: pikepdf.Pdf, page_index: int) -> list[str]:
    """:func:`problems` for a PDF already open (the renderer opens each source once)."""
    if not 0 <= page_index < len(pdf.pages):
        raise IndexError(f"没有第 {page_index + 1} 页（共 {len(pdf.pages)} 页）")
    found: dict[str, None] = {}  # ordered set: the first reason found reads first
    if pdf.is_encrypted:
        found["原文件已加密（PDF/A 不允许加密）"] = None
    for reason in _document_scripts(pdf):
        found[reason] = None
    page = pdf.pages[page_index]
    group = page.obj.get("/Group")
    if isinstance(group, Dictionary) and group.get("/S") == "/Transparency" and "/CS" not in group:
        found["页面透明组未指定混合色彩空间"] = None
    for reason in _walk(page.obj):
        found[reason] = None
    return list(found)


def _document_scripts(pdf: pikepdf.Pdf) -> Iterator[str]:
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, Dictionary) and "/JavaScript" in names:
        yield "原文件含 JavaScript（文档级脚本）"
    action = root.get("/OpenAction")
    if isinstance(action, Dictionary) and forbidden_action(action):
        yield f"原文件打开时执行禁止的动作（{forbidden_action(action)}）"
    if "/AA" in root:
        yield "原文件含自动动作（/AA）"


def forbidden_action(action: Dictionary | Stream) -> str:
    kind = action.get("/S")
    if kind in FORBIDDEN_ACTIONS:
        return str(kind)[1:]
    if kind == "/Named" and action.get("/N") not in ALLOWED_NAMED_ACTIONS:
        return f"Named {action.get('/N')}"
    if "/JS" in action:
        return "JavaScript"
    return ""


def _walk(start: Dictionary) -> Iterator[str]:
    """Every problem in what ``start`` (a page) reaches, without wandering into other pages."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[Any, str]] = [(start, "")]
    while stack:
        obj, via = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, Array):
            for value in obj:
                if isinstance(value, _CONTAINERS):
                    stack.append((value, via))
                elif value == Name.DeviceCMYK:
                    yield CMYK
            continue
        if obj is not start and obj.get("/Type") in ("/Page", "/Pages"):
            continue  # a link's destination: not part of this page
        yield from _check_dict(obj, via)
        if isinstance(obj, Stream):
            yield from _check_stream(obj, via)
        for key, value in obj.items():
            if key in _SKIP_KEYS:
                continue
            if isinstance(value, _CONTAINERS):
                # the glyph procedures of a Type 3 font are content streams
                stack.append((value, "/Contents" if via == "/CharProcs" else key))
            elif value == Name.DeviceCMYK:
                yield CMYK


def _check_dict(d: Dictionary, via: str) -> Iterator[str]:
    keys = set(d.keys())  # one call into pikepdf; most dictionaries need nothing more
    subtype = d.get("/Subtype") if "/Subtype" in keys else None
    kind = d.get("/Type") if "/Type" in keys else None
    if subtype in FONT_SUBTYPES and (kind == "/Font" or "/BaseFont" in keys) and not font_embedded(d):
        yield f"字体未嵌入：{font_name(d)}"
    if kind == "/Action" or via in ("/A", "/Next", "/OpenAction") or "/JS" in keys:
        reason = forbidden_action(d)
        if reason:
            yield f"含 PDF/A 禁止的动作（{reason}）"
    if "/AA" in keys:
        yield "含自动动作（/AA）"
    if kind == "/Annot" or via == "/Annots":
        yield from _check_annotation(d)
    if subtype == "/Image":
        if "/Interpolate" in keys and d.Interpolate is True:
            yield "图像要求插值（Interpolate）"
        if "/Alternates" in keys:
            yield "图像含替代图像"
    elif subtype == "/Form":
        if "/PS" in keys or "/Subtype2" in keys and d.Subtype2 == "/PS":
            yield "含 PostScript 片段"
        if "/Ref" in keys:
            yield "含引用外部文件页面的 XObject"
    elif subtype == "/PS":
        yield "含 PostScript 片段"
    if "/OPI" in keys:
        yield "含 OPI 引用"
    if keys & _GSTATE_KEYS:  # graphics state parameters (the keys are ExtGState-only)
        if "/TR" in keys or "/TR2" in keys and d.TR2 != Name.Default:
            yield "含转移函数（TR）"
        if "/HTP" in keys or "/HT" in keys and isinstance(d.HT, Dictionary) and "/TransferFunction" in d.HT:
            yield "含半色调转移设置"
        blend = d.get("/BM")
        modes = list(blend) if isinstance(blend, Array) else [blend] if blend is not None else []
        if any(m not in STANDARD_BLEND_MODES for m in modes):
            yield "使用非标准混合模式"
    if via == "/OC" or kind in ("/OCG", "/OCMD"):
        yield "使用可选内容（图层）"


def _check_annotation(a: Dictionary) -> Iterator[str]:
    subtype = a.get("/Subtype")
    if subtype in FORBIDDEN_ANNOTATIONS:
        yield f"含 PDF/A 禁止的批注（{str(subtype)[1:]}）"
    if subtype == "/Widget" and (a.get("/FT") == "/Sig" or "/Sig" == _inherited(a, "/FT")):
        yield "含数字签名域（复制到档案 PDF 后签名无法验证；原件另行保存）"
    if subtype == "/Popup":
        return
    flags = int(a.get("/F", 0))
    if not flags & _PRINT or flags & (_INVISIBLE | _HIDDEN | _NOVIEW | _TOGGLE_NOVIEW):
        yield "批注未设打印标志或被隐藏"
    if subtype != "/Link" and "/AP" not in a and _area(a) > 0:
        yield "批注缺少外观流"


def _inherited(field: Dictionary, key: str) -> Any:
    node: Any = field
    depth = 0
    while isinstance(node, Dictionary) and depth < 32:
        if key in node:
            return node.get(key)
        node, depth = node.get("/Parent"), depth + 1
    return None


def _area(a: Dictionary) -> float:
    rect = a.get("/Rect")
    try:
        x0, y0, x1, y1 = (float(v) for v in rect)  # type: ignore[union-attr]  # None: TypeError, caught
    except (TypeError, ValueError):
        return 1.0
    return abs(x1 - x0) * abs(y1 - y0)


def font_embedded(font: Dictionary | Stream) -> bool:
    desc = font.get("/FontDescriptor")
    return isinstance(desc, Dictionary) and any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def font_name(font: Dictionary | Stream) -> str:
    name = str(font.get("/BaseFont", "/?"))[1:]
    return name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name


def _filters(d: Dictionary) -> list[Any]:
    f = d.get("/Filter")
    return list(f) if isinstance(f, Array) else [f] if f is not None else []


def _check_stream(s: Stream, via: str) -> Iterator[str]:
    d = s.stream_dict
    if any(k in d for k in ("/F", "/FFilter", "/FDecodeParms")):
        yield "数据流引用外部文件"
    filters = _filters(d)
    if Name.LZWDecode in filters:
        yield "使用 LZW 压缩（PDF/A 禁止）"
    if Name.Crypt in filters:
        yield "数据流单独加密（Crypt 过滤器）"
    # only what is known to be a content stream is parsed: binary data (font programs) could
    # tokenize into anything
    if via == "/Contents" or d.get("/Subtype") == "/Form" or d.get("/PatternType") == 1:
        yield from _check_content(s)


def _check_content(s: Stream) -> Iterator[str]:
    """Operators of a content stream: DeviceCMYK colours, and inline images (LZW, interpolation)."""
    try:
        data = s.read_bytes()
    except pikepdf.PdfError:
        return  # undecodable: nothing to read
    if not _SUSPECT_OPERATORS.search(data):
        return  # the common case, decided without tokenizing the stream in Python
    try:
        instructions = pikepdf.parse_content_stream(s)
    except pikepdf.PdfError:
        return
    for instruction in instructions:
        operands, operator = instruction.operands, instruction.operator
        op = str(operator)
        if op in ("k", "K") or op in ("cs", "CS") and operands and operands[0] == Name.DeviceCMYK:
            yield CMYK
        elif op == "PS":
            yield "含 PostScript 片段"
        elif op == "INLINE IMAGE":
            image = operands[0].obj if operands else None
            if isinstance(image, Dictionary):
                filters = _filters(image)
                if any(f in (Name.LZW, Name.LZWDecode) for f in filters):
                    yield "使用 LZW 压缩（PDF/A 禁止）"
                if image.get("/I") is True or image.get("/Interpolate") is True:
                    yield "图像要求插值（Interpolate）"
                if image.get("/CS") in (Name.CMYK, Name.DeviceCMYK):
                    yield CMYK


# -- rasterizing ---------------------------------------------------------------------

def rasterize(pdf_bytes: bytes, page_index: int, dpi: int = DEFAULT_DPI) -> bytes:
    """A one-page PDF showing page ``page_index`` as one image, the page's visible size preserved.

    Rendered by poppler's ``pdftoppm`` (the crop box, rotation applied, annotations with their
    appearance included) as JPEG; nothing of the original page survives but its look, so the
    result carries no fonts, actions, annotations or transparency.  Raises
    :class:`AttachedPageError` when the page cannot be read or rendered.
    """
    width, height = _visible_size(pdf_bytes, page_index)
    area_in = (width / 72) * (height / 72)
    dpi = max(36, min(dpi, int(math.sqrt(MAX_PIXELS / area_in)) if area_in > 0 else dpi))
    with tempfile.TemporaryDirectory(prefix="duban-raster-") as tmp:
        source = os.path.join(tmp, "in.pdf")
        with open(source, "wb") as f:
            f.write(pdf_bytes)
        args = ["pdftoppm", "-f", str(page_index + 1), "-l", str(page_index + 1), "-r", str(dpi), "-cropbox",
                "-jpeg", "-jpegopt", f"quality={JPEG_QUALITY}", "-singlefile", source, os.path.join(tmp, "out")]
        try:
            proc = subprocess.run(args, capture_output=True, timeout=PDFTOPPM_TIMEOUT, check=False)
        except FileNotFoundError as exc:
            raise AttachedPageError("未安装 poppler-utils（pdftoppm），无法转换附页") from exc
        except subprocess.TimeoutExpired as exc:
            raise AttachedPageError(f"第 {page_index + 1} 页转换超时（{PDFTOPPM_TIMEOUT} 秒）") from exc
        out = os.path.join(tmp, "out.jpg")
        if proc.returncode != 0 or not os.path.exists(out):
            detail = proc.stderr.decode("utf-8", "replace").strip()[:200]
            raise AttachedPageError(f"第 {page_index + 1} 页无法渲染为图像：{detail or proc.returncode}")
        with open(out, "rb") as f:
            jpeg = f.read()
    return _image_page(jpeg, width, height)


def _visible_size(pdf_bytes: bytes, page_index: int) -> tuple[float, float]:
    """Width and height in points of the page as a viewer shows it (crop box, /Rotate applied)."""
    try:
        pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    except pikepdf.PasswordError as exc:
        raise AttachedPageError("文件有打开密码，无法读取") from exc
    except pikepdf.PdfError as exc:
        raise AttachedPageError(f"PDF 无法解析：{str(exc).rsplit(': ', 1)[-1]}") from exc
    with pdf:
        if not 0 <= page_index < len(pdf.pages):
            raise AttachedPageError(f"没有第 {page_index + 1} 页（共 {len(pdf.pages)} 页）")
        page = pdf.pages[page_index]
        x0, y0, x1, y1 = (float(v) for v in page.cropbox)
        width, height = abs(x1 - x0), abs(y1 - y0)
        if page.rotation % 180:
            width, height = height, width
    if width <= 0 or height <= 0:
        raise AttachedPageError(f"第 {page_index + 1} 页尺寸无效")
    return width, height


def _image_page(jpeg: bytes, width: float, height: float) -> bytes:
    """One page of ``width`` × ``height`` points filled with the JPEG (re-encoded only if not RGB/grey)."""
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        mode, (px_w, px_h) = img.mode, img.size
        if mode not in ("RGB", "L"):
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "JPEG", quality=JPEG_QUALITY)
            jpeg, mode = buf.getvalue(), "RGB"
    out = pikepdf.Pdf.new()
    image = Stream(out, jpeg, Type=Name.XObject, Subtype=Name.Image, Width=px_w, Height=px_h,
                   ColorSpace=Name.DeviceRGB if mode == "RGB" else Name.DeviceGray, BitsPerComponent=8,
                   Filter=Name.DCTDecode)
    page = out.add_blank_page(page_size=(width, height))
    page.obj.Resources = Dictionary(XObject=Dictionary(Im0=image))
    page.obj.Contents = out.make_stream(f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode())
    buf = io.BytesIO()
    out.save(buf, compress_streams=True)
    return buf.getvalue()
