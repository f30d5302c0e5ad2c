"""Format identification of an archived file from its bytes (DA/T 46 格式信息, 数字化属性).

Why not the MIME type: the browser names it from the file's extension, so a
renamed file lies; an inspector wants 格式名称 and 版本 as the bytes say
(PDF/A-3B, JPEG/JFIF 1.01, PNG 1.2, OFD 1.0, DOCX …), like Archivematica's
format identification.  Each answer is plain data for the metadata and the
PREMIS log: ``{"name", "version", "mimetype", "by", "digitization"}``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

OOXML = {"word/document.xml": ("DOCX", "Office Open XML 文字处理文档"),
         "xl/workbook.xml": ("XLSX", "Office Open XML 电子表格"),
         "ppt/presentation.xml": ("PPTX", "Office Open XML 演示文稿")}


def identify(path: str | Path, mimetype: str = "") -> dict[str, Any]:
    """What ``path`` is, read from its signature bytes (and inside: XMP, zip members, EXIF)."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(64)
    out: dict[str, Any] = {"name": "", "version": "", "mimetype": mimetype, "by": "文件头标识", "digitization": {}}
    try:
        if head.startswith(b"%PDF-"):
            out.update(_pdf(path, head))
        elif head.startswith(b"\xff\xd8\xff"):
            out.update(_jpeg(path, head))
        elif head.startswith(b"\x89PNG\r\n\x1a\n"):
            out.update(name="PNG", version="1.2", digitization=_image_attrs(path, "PNG（Deflate 无损压缩）"))
        elif head[:6] in (b"GIF87a", b"GIF89a"):
            out.update(name="GIF", version=head[3:6].decode(), digitization=_image_attrs(path, "LZW"))
        elif head[:4] in (b"II*\x00", b"MM\x00*"):
            out.update(name="TIFF", version="6.0", digitization=_image_attrs(path, ""))
        elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            out.update(name="WebP", version="", digitization=_image_attrs(path, "WebP"))
        elif head.startswith(b"PK\x03\x04"):
            out.update(_zip(path))
        elif mimetype.startswith("text/"):
            out.update(name="纯文本", version="", by="MIME 类型（文本无文件头）")
        else:
            out.update(name=mimetype or "未知格式", version="", by="未能识别，按 MIME 类型")
    except (OSError, ValueError, zipfile.BadZipFile, SyntaxError) as exc:
        out.update(name=out["name"] or mimetype or "未知格式", by=f"识别出错：{exc}"[:120])
    return out


def _pdf(path: Path, head: bytes) -> dict[str, Any]:
    import pikepdf

    match = re.match(rb"%PDF-(\d\.\d)", head)
    version = match.group(1).decode() if match else ""
    name = "PDF"
    try:
        with pikepdf.open(path) as pdf:
            version = str(pdf.pdf_version or version)
            meta = pdf.open_metadata()
            part, conf = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
            if part:
                name = f"PDF/A-{part}{(conf or '').upper()}"
    except pikepdf.PdfError:
        pass
    return {"name": name, "version": version}


def _jpeg(path: Path, head: bytes) -> dict[str, Any]:
    name, version = "JPEG", ""
    if head[6:11] == b"JFIF\x00":
        name, version = "JPEG/JFIF", f"{head[11]}.{head[12]:02d}"
    elif head[6:11] == b"Exif\x00":
        name = "JPEG/Exif"
    digitization = _image_attrs(path, "JPEG（有损压缩）")
    exif_version = digitization.pop("_exif_version", "")
    if name == "JPEG/Exif" and exif_version:
        version = exif_version
    return {"name": name, "version": version, "digitization": digitization}


def _image_attrs(path: Path, compression: str) -> dict[str, Any]:
    """数字化属性 where the image says: resolution, colour mode, compression, device, capture time.

    Nothing when the image cannot be read (the 可用性 check says why): the format stays what the
    header says."""
    try:
        return _read_attrs(path, compression)
    except (OSError, ValueError, SyntaxError):
        return {}


def _read_attrs(path: Path, compression: str) -> dict[str, Any]:
    from PIL import Image

    out: dict[str, Any] = {}
    with Image.open(path) as img:
        out["数字化对象形态"] = f"{img.width}×{img.height} 像素"
        dpi = img.info.get("dpi")
        if dpi and dpi[0]:
            out["扫描分辨率"] = f"{round(float(dpi[0]))} dpi"
        out["扫描色彩模式"] = {"1": "黑白二值", "L": "灰度", "P": "调色板彩色", "RGB": "彩色", "RGBA": "彩色（含透明）",
                           "CMYK": "CMYK 彩色"}.get(img.mode, img.mode)
        if compression:
            out["图像压缩方案"] = compression
        exif = img.getexif()
        device = " ".join(str(exif.get(t, "")).strip("\x00 ") for t in (0x010F, 0x0110)).strip()
        if device:
            out["数字化设备信息"] = device
        sub = exif.get_ifd(0x8769) if exif else {}
        taken = sub.get(0x9003) or exif.get(0x0132)
        if taken:
            out["数字化时间"] = str(taken).strip("\x00 ")
        raw = sub.get(0x9000)
        if isinstance(raw, bytes) and len(raw) == 4 and raw.isdigit():
            out["_exif_version"] = f"{int(raw[:2])}.{raw[2:].decode()}"
    return out


def _zip(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "OFD.xml" in names:
            text = zf.read("OFD.xml")[:4096].decode("utf-8", "replace")
            found = re.search(r"\bVersion=\"([^\"]+)\"", text)
            return {"name": "OFD", "version": found.group(1) if found else "1.0", "by": "OFD.xml（GB/T 33190）"}
        for member, (name, _title) in OOXML.items():
            if member in names:
                version = ""
                if "docProps/app.xml" in names:
                    app = zf.read("docProps/app.xml")[:8192].decode("utf-8", "replace")
                    found = re.search(r"<AppVersion>([^<]+)</AppVersion>", app)
                    version = found.group(1) if found else ""
                return {"name": name, "version": version or "ECMA-376", "by": "[Content_Types].xml 与主文档部件"}
    return {"name": "ZIP", "version": "", "by": "文件头标识"}
