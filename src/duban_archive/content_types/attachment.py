"""附件 — files kept as ZODB blobs, byte-identical, with capture-time digests.

Uploads are streamed in chunks from the request's spooled file into the blob
while SHA-256 and SM3 are computed, so a 200 MB scan never sits in memory.
The type is decided from the bytes, never from the name or the browser.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO, Any

import filetype
from persistent import Persistent
from ZODB.blob import Blob

CHUNK = 1 << 16

KINDS = {"photo": "照片", "signed_report": "盖章扫描件", "other": "其他"}

#: sniffed MIME type -> allowed kinds
ACCEPTED = {
    "image/jpeg": {"photo", "signed_report", "other"},
    "image/png": {"photo", "signed_report", "other"},
    "image/gif": {"photo", "other"},
    "image/webp": {"photo", "other"},
    "image/tiff": {"photo", "signed_report", "other"},
    "application/pdf": {"signed_report", "other"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"other", "signed_report"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"other"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {"other"},
    "application/ofd": {"signed_report", "other"},
    "text/plain": {"other"},
}
IMAGE_TYPES = {m for m in ACCEPTED if m.startswith("image/")}


class UploadRefused(Exception):
    """The file is refused; ``status`` is 413 (too large) or 415 (type)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Attachment(Persistent):
    type_name = "attachment"
    __name__: str | None = None
    __parent__ = None

    def __init__(self, kind: str, filename: str, title: str, uploader: str, created) -> None:
        self.kind = kind
        self.filename = filename
        self.title = title or filename
        self.uploader = uploader
        self.created = created
        self.blob = Blob()
        self.mimetype = "application/octet-stream"
        self.size = 0
        self.sha256 = ""
        self.sm3 = ""
        self.width: int | None = None
        self.height: int | None = None

    def open(self) -> IO[bytes]:
        return self.blob.open("r")


@dataclass
class Captured:
    size: int
    sha256: str
    sm3: str
    mimetype: str
    width: int | None = None
    height: int | None = None


def safe_filename(name: str) -> str:
    """The original name without path parts, control characters or tricks."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 110] + dot + ext[:9]) if dot else name[:120]
    return name or "附件"


def _sm3():
    try:
        return hashlib.new("sm3")  # OpenSSL's implementation: fast
    except ValueError:  # OpenSSL built without SM3: pure-Python fallback
        return _GmsslSM3()


class _GmsslSM3:
    """Incremental SM3 over gmssl's compression function (slow; fallback only).

    Keeps only the 256-bit state and a partial block, so even the fallback
    never holds the file in memory.
    """

    def __init__(self) -> None:
        from gmssl import sm3

        self._cf = sm3.sm3_cf
        self._v = list(sm3.IV)
        self._buf = b""
        self._length = 0

    def update(self, data: bytes) -> None:
        self._length += len(data)
        buf = self._buf + bytes(data)
        full = len(buf) - len(buf) % 64
        for i in range(0, full, 64):
            self._v = self._cf(self._v, buf[i:i + 64])
        self._buf = buf[full:]

    def hexdigest(self) -> str:
        tail = self._buf + b"\x80"
        tail += b"\x00" * ((56 - len(tail)) % 64) + (self._length * 8).to_bytes(8, "big")
        v = self._v
        for i in range(0, len(tail), 64):
            v = self._cf(v, tail[i:i + 64])
        return "".join(f"{x:08x}" for x in v)


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is not None:
        mime = kind.mime
        if mime == "application/zip" and b"OFD.xml" in head[:4096]:
            return "application/ofd"
        return mime
    try:
        sample = head[:4096]
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        try:  # a cut multi-byte character at the end of the sample
            text = head[:4090].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if "\x00" in text:
        return None
    return "text/plain"


def capture(source: IO[bytes], blob: Blob, *, max_bytes: int, kind: str,
            max_pixels: int = 50_000_000) -> Captured:
    """Stream ``source`` into ``blob``; refuse by size, type or image bomb.

    Raises :class:`UploadRefused`; the caller aborts the transaction so a
    refused upload leaves nothing behind.
    """
    sha = hashlib.sha256()
    sm3 = _sm3()
    size = 0
    head = b""
    with blob.open("w") as out:
        while True:
            chunk = source.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise UploadRefused(413, f"文件过大：上限为 {_human(max_bytes)}")
            if len(head) < 8192:
                head += chunk[: 8192 - len(head)]
            sha.update(chunk)
            sm3.update(chunk)
            out.write(chunk)
    if size == 0:
        raise UploadRefused(400, "文件为空")
    mime = sniff(head)
    if mime is None or mime not in ACCEPTED:
        raise UploadRefused(415, "不支持的文件类型（按文件内容识别），仅接受图片、PDF、OFD、Office 文档和纯文本")
    if kind not in ACCEPTED[mime]:
        raise UploadRefused(415, f"“{KINDS.get(kind, kind)}”不接受此类文件（{mime}）")
    width = height = None
    if mime in IMAGE_TYPES:
        width, height = _image_size(blob, max_pixels)
    return Captured(size, sha.hexdigest(), sm3.hexdigest(), mime, width, height)


def _image_size(blob: Blob, max_pixels: int) -> tuple[int, int]:
    """Read only the header; refuse decompression bombs before decoding."""
    from PIL import Image, UnidentifiedImageError

    with blob.open("r") as f, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit decides below
        try:
            with Image.open(f) as img:  # lazy: no pixel data decoded here
                width, height = img.size
        except Image.DecompressionBombError as exc:  # Pillow's own hard limit (2× its default)
            raise UploadRefused(
                413, f"图片像素过多（疑似“解压炸弹”），上限 {max_pixels // 1_000_000} 百万像素") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UploadRefused(415, "图片无法识别或已损坏") from exc
    if width * height > max_pixels:
        raise UploadRefused(413, f"图片像素过多（{width}×{height}），上限 {max_pixels // 1_000_000} 百万像素")
    return width, height


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def describe(att: Attachment) -> dict[str, Any]:
    from ..timeutil import isoformat

    return {
        "id": att.__name__,
        "filename": att.filename,
        "title": att.title,
        "kind": att.kind,
        "mimetype": att.mimetype,
        "size": att.size,
        "sha256": att.sha256,
        "sm3": att.sm3,
        "uploader": att.uploader,
        "created": isoformat(att.created),
    }
