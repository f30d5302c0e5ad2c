"""附件 — files kept as ZODB blobs, byte-identical, with capture-time digests.

Uploads are streamed in chunks into the blob while SHA-256 and SM3 are
computed (:class:`Digester`), so a 200 MB scan never sits in memory.  A file
that ``views.multipart`` has already spooled *and digested* while parsing the
request carries its :class:`Digests` (``upload_digests``): :func:`capture`
then takes them as they are and hands the spooled file to the blob by a hard
link (a copy where that is impossible), so the bytes are read once.
The type is decided from the bytes, never from the name or the browser.

Bombs are refused here and bounded wherever a file is opened later:

* images: the pixel count is read from the header (:func:`open_image`) before
  anything is decoded, above ``duban.max_image_pixels`` the upload is refused
  and no thumbnail or OCR copy is decoded; :func:`reduced_image` decodes a
  JPEG at 1/2…1/8 scale and any other format once, in its own mode, never
  copying it at full size;
* Office / OFD files (zip containers): :func:`open_container` checks the
  central directory before any member is inflated (members, per-member and
  overall compression ratio, stored sizes), :func:`read_member` inflates a
  member in chunks and stops the moment it gives more than its directory
  entry declares or than the byte budget allows.  :func:`screen_container`
  is the upload-time check (also containers nested in the file, and the XML
  parts' real sizes).  A file merely *big* (an export of 300,000 rows) is
  kept; only its text is not indexed (``catalog.extract``).
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import shutil
import struct
import tempfile
import threading
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterator, Mapping
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
#: zip containers: their directory is checked at upload, their members are inflated with a budget
ZIP_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/ofd",
})

#: defaults of the ``duban.max_extract_bytes`` / ``max_zip_ratio`` / ``max_zip_members`` / ``max_image_pixels`` settings
MAX_EXTRACT_BYTES = 50 * 1024 * 1024
MAX_ZIP_RATIO = 200
MAX_ZIP_MEMBERS = 10_000
MAX_IMAGE_PIXELS = 50_000_000
#: a container inside a container inside the file is the deepest looked into; deeper is refused
MAX_ZIP_NESTING = 2
#: members (and archives) declaring less than this may compress as well as they like: they cannot hurt
RATIO_FLOOR = 1 << 20
#: central-directory bytes allowed per member before zipfile parses it (a real entry is ~100)
_ENTRY_ALLOWANCE = 256
_CONTAINER_NAMES = re.compile(r"\.(zip|docx|docm|xlsx|xlsm|pptx|pptm|ofd|odt|ods|odp|epub|jar)$", re.I)
_XML_PARTS = re.compile(r"\.(xml|rels)$", re.I)


class UploadRefused(Exception):
    """The file is refused; ``status`` is 413 (too large) or 415 (type)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ContainerLimits:
    """Limits on opening a zip container (and decoding an image) — the ``duban.*`` settings."""

    max_bytes: int = MAX_EXTRACT_BYTES  # inflated for text, one file, all parts together
    max_ratio: float = MAX_ZIP_RATIO  # uncompressed / compressed, per member and overall
    max_members: int = MAX_ZIP_MEMBERS
    max_pixels: int = MAX_IMAGE_PIXELS

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ContainerLimits:
        settings = settings or {}

        def number(key: str, default, kind=int):
            try:
                value = kind(settings.get(key) or default)
            except (TypeError, ValueError):
                return default
            return value if value > 0 else default

        return cls(number("duban.max_extract_bytes", MAX_EXTRACT_BYTES),
                   number("duban.max_zip_ratio", MAX_ZIP_RATIO, float),
                   number("duban.max_zip_members", MAX_ZIP_MEMBERS),
                   number("duban.max_image_pixels", MAX_IMAGE_PIXELS))


class ContainerRefused(Exception):
    """A zip container over a limit; ``reason`` is one Chinese sentence.

    ``hostile``: the file looks built to hurt (ratio, member count, a directory
    that lies) and is refused at upload; otherwise it is only too big to index.
    """

    def __init__(self, reason: str, *, hostile: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hostile = hostile


class ImageTooLarge(Exception):
    """An image whose header claims more pixels than allowed; nothing of it was decoded.

    ``size`` is ``None`` when Pillow refused it while opening (it tells only the pixel count).
    """

    def __init__(self, pixels: int, max_pixels: int, size: tuple[int, int] | None = None) -> None:
        self.pixels, self.max_pixels, self.size = pixels, max_pixels, size
        super().__init__(f"{pixels} pixels, limit {max_pixels}")

    @property
    def reason(self) -> str:
        shown = f"{self.size[0]}×{self.size[1]}" if self.size else f"约 {self.pixels / 1_000_000:.0f} 百万像素"
        return f"图片像素过多（{shown}，疑似“解压炸弹”），上限 {self.max_pixels / 1_000_000:.0f} 百万像素"


class Attachment(Persistent):
    type_name = "attachment"
    __name__: str | None = None
    __parent__ = None

    def __init__(self, kind: str, filename: str, title: str, uploader: str, created) -> None:
        self.kind = kind
        self.filename = filename
        self.title = safe_title(title) or filename
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
    """The original name without path parts, control characters or tricks (cleaned, never refused).

    Format characters go too (U+202E would show “gpj.exe” as “exe.jpg”), and so does a
    character that no dossier font draws (it becomes “_”): the name is printed in the
    dossier's list of attachments, and an upload must never make its item unfileable.
    """
    from ..validation import clean_text

    name = clean_text(name or "", multiline=True)  # lone surrogates and control characters out, NFC
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".")
    if not name.isascii():
        from ..archive.fonts import missing_glyphs

        for ch in missing_glyphs(name):
            name = name.replace(ch, "_")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 110] + dot + ext[:9]) if dot else name[:120]
    return name or "附件"


def safe_title(title: str) -> str:
    """An attachment's title under the text policy: one line, NFC; refused (400) like any text field."""
    from ..validation import normalize_text, text_problem

    title = (title or "").strip()
    problem = text_problem(title)
    if problem:
        raise UploadRefused(400, f"附件标题{problem}")
    return normalize_text(title)


def _sm3():
    try:
        return hashlib.new("sm3")  # OpenSSL's implementation: ~240 MB/s here
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


#: bytes of a file kept for sniffing its type
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Digests:
    """What :class:`Digester` learnt of a stream: its size, both digests and its first bytes.

    ``over_limit``: the stream passed this many bytes and was dropped there
    (nothing of it kept, no digests): :func:`capture` refuses it with 413.
    """

    size: int
    sha256: str
    sm3: str
    head: bytes
    over_limit: int = 0


class Digester:
    """SHA-256 and SM3 of a stream fed in chunks, plus its size and first :data:`HEAD_BYTES`.

    SM3 is the slow one (OpenSSL has no assembly for it: ~240 MB/s against
    SHA-256's ~1.2 GB/s), so once a stream passes :attr:`THREAD_AFTER` bytes
    its SM3 runs in a helper thread: hashlib releases the GIL while it hashes,
    so SM3 overlaps SHA-256, parsing and writing instead of following them.
    The queue to the thread is bounded (:attr:`QUEUE` chunks), so a fast
    producer waits rather than piling chunks up in memory.
    """

    THREAD_AFTER = 1 << 20
    QUEUE = 8

    def __init__(self, threaded: bool = True) -> None:
        self.size = 0
        self._head = bytearray()
        self._sha = hashlib.sha256()
        self._sm3 = _sm3()
        self._threaded = threaded and not isinstance(self._sm3, _GmsslSM3)  # gmssl holds the GIL: no gain
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None

    def update(self, data: bytes) -> None:
        if not data:
            return
        if not isinstance(data, bytes):  # the helper thread must see bytes nobody changes later
            data = bytes(data)
        if len(self._head) < HEAD_BYTES:
            self._head += data[: HEAD_BYTES - len(self._head)]
        self.size += len(data)
        self._sha.update(data)
        if self._queue is None and self._threaded and self.size > self.THREAD_AFTER:
            self._queue = queue.Queue(self.QUEUE)
            self._thread = threading.Thread(target=self._hash_sm3, name="sm3", daemon=True)
            self._thread.start()
        if self._queue is not None:
            self._queue.put(data)
        else:
            self._sm3.update(data)

    def _hash_sm3(self) -> None:
        assert self._queue is not None
        while (data := self._queue.get()) is not None:
            if self._failed is None:
                try:
                    self._sm3.update(data)
                except BaseException as exc:  # noqa: BLE001 — re-raised in finish()
                    self._failed = exc

    def _join(self) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def finish(self) -> Digests:
        """The digests of everything fed so far (the stream is complete)."""
        self._join()
        if self._failed is not None:
            raise self._failed
        return Digests(self.size, self._sha.hexdigest(), self._sm3.hexdigest(), bytes(self._head))

    def abort(self) -> None:
        """Stop the helper thread (the stream is abandoned)."""
        self._failed = self._failed or RuntimeError("abandoned")
        self._join()


def _digested(source: IO[bytes]) -> Digests | None:
    """The digests ``views.multipart`` took of ``source`` while parsing, if it is still unread."""
    known = getattr(source, "upload_digests", None)
    if not isinstance(known, Digests):
        return None
    try:
        return known if source.tell() == 0 else None
    except (OSError, ValueError):
        return None


def _store(source: IO[bytes], blob: Blob) -> None:
    """Put the bytes of an already digested ``source`` into ``blob``: a hard link when it is a file.

    The spooled upload and the blob then share one inode (nothing writes to
    either afterwards: a blob's file is read-only once committed); the
    spooled name is removed when the request ends.  Where a link cannot be
    made (another file system, an in-memory part), the bytes are copied.
    """
    path = getattr(source, "name", None)
    if isinstance(path, str) and os.path.isabs(path):
        link = f"{path}.{os.getpid()}.{threading.get_ident()}.link"
        try:
            os.link(path, link)
        except OSError:
            pass
        else:
            try:
                blob.consumeFile(link)  # a rename beside the spooled file (both in the temp dir)
                return
            except Exception:  # noqa: BLE001 — fall back to copying
                if os.path.exists(link):
                    os.remove(link)
    with blob.open("w") as out:
        shutil.copyfileobj(source, out, 1 << 20)


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
            max_pixels: int = MAX_IMAGE_PIXELS, limits: ContainerLimits | None = None) -> Captured:
    """Stream ``source`` into ``blob``; refuse by size, type, image bomb or zip bomb.

    Raises :class:`UploadRefused`; the caller aborts the transaction so a
    refused upload leaves nothing behind.
    """
    known = _digested(source)
    if known is not None:  # spooled and digested while the request was parsed: not read again
        if known.over_limit or known.size > max_bytes:
            raise UploadRefused(413, f"文件过大：上限为 {_human(min(known.over_limit or max_bytes, max_bytes))}")
        _store(source, blob)
    else:
        digester = Digester()
        try:
            with blob.open("w") as out:
                while chunk := source.read(CHUNK):
                    if digester.size + len(chunk) > max_bytes:
                        raise UploadRefused(413, f"文件过大：上限为 {_human(max_bytes)}")
                    digester.update(chunk)
                    out.write(chunk)
        except BaseException:
            digester.abort()
            raise
        known = digester.finish()
    size, head = known.size, known.head
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
    elif mime in ZIP_TYPES:
        _screen_upload(blob, limits or ContainerLimits(max_pixels=max_pixels))
    return Captured(size, known.sha256, known.sm3, mime, width, height)


def _image_size(blob: Blob, max_pixels: int) -> tuple[int, int]:
    """Read only the header; refuse decompression bombs before decoding."""
    from PIL import UnidentifiedImageError

    with blob.open("r") as f:
        try:
            with open_image(f, max_pixels) as img:  # lazy: no pixel data decoded here
                return img.size
        except ImageTooLarge as exc:
            raise UploadRefused(413, exc.reason) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise UploadRefused(415, "图片无法识别或已损坏") from exc


def _screen_upload(blob: Blob, limits: ContainerLimits) -> None:
    with blob.open("r") as f:
        try:
            screen_container(f, limits)
        except ContainerRefused as exc:
            raise UploadRefused(413, f"文件疑似“压缩炸弹”，未被接受：{exc.reason}") from exc
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, struct.error, zlib.error) as exc:
            raise UploadRefused(415, "Office / OFD 文件已损坏，无法读取其内容（压缩包结构有误）") from exc


# -- images: the pixel count first, then a reduced decode ----------------------------------------
def configure_pillow(max_pixels: int) -> None:
    """Pillow's own bomb check agrees with ours: above ``max_pixels`` opening an image is an error.

    ``Image.MAX_IMAGE_PIXELS`` only makes Pillow *warn* between 1× and 2× the
    limit; the warning is made an error (one filter, added once per process).
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    if not any(f[0] == "error" and f[2] is Image.DecompressionBombWarning for f in warnings.filters):
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def open_image(fp, max_pixels: int | None = None):
    """``Image.open(fp)`` (lazy: only the header is read), refused above ``max_pixels``.

    Raises :class:`ImageTooLarge` before a single pixel is decoded; Pillow's
    ``UnidentifiedImageError`` / ``OSError`` for what is not an image.
    ``max_pixels=None``: the limit last configured in this process.
    """
    from PIL import Image

    if max_pixels is None:
        max_pixels = Image.MAX_IMAGE_PIXELS or MAX_IMAGE_PIXELS
    configure_pillow(max_pixels)
    try:
        img = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))  # Pillow's message: "Image size (N pixels) exceeds …"
        raise ImageTooLarge(int(found.group(1)) if found else 0, max_pixels) from exc
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise ImageTooLarge(width * height, max_pixels, (width, height))
    return img


_TRANSPOSE = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
              6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}  # EXIF orientation -> Image.Transpose


def reduced_image(fp, size: tuple[int, int], *, max_pixels: int | None = None, resample=None,
                  draft: tuple[int, int] | None = None):
    """The image in ``fp`` shrunk to fit ``size``: upright (EXIF orientation), mode ``RGB`` or ``L``.

    Memory: nothing is decoded above ``max_pixels`` (:class:`ImageTooLarge`);
    a JPEG is decoded at the smallest DCT scale still covering ``draft``
    (default ``size``); any other format is decoded once at full size in its
    own mode (1 byte a pixel for 1-bit, grey and palette images, 4 for colour)
    and only small copies are made of it: ``reduce()`` gives a copy at least
    twice ``size``, resampled then.  Images that must be converted first
    (1-bit, palette, transparency — laid on white) are converted and reduced
    one strip of about a megapixel at a time, to at least ``size``, never as a
    whole (a converted copy is less than 4 × ``size``).
    """
    from PIL import ExifTags, Image

    resample = resample if resample is not None else Image.Resampling.BICUBIC
    with open_image(fp, max_pixels) as img:
        orientation = img.getexif().get(ExifTags.Base.Orientation)  # JPEG/TIFF/WebP: from the header
        if img.format == "JPEG":
            img.draft("RGB", draft or size)
        if img.mode in _CONVERTED or "transparency" in img.info:
            img.load()
            # straight down to at least ``size`` (a reducing gap of 1): the converted copy stays small
            factor = max(1, int(min(img.width / size[0], img.height / size[1])))
            work = _reduced_in_strips(img, factor, "L" if img.mode in ("1", "L", "LA", "La") else "RGB")
        else:
            work = img  # reduce() inside: the only full-size buffer is the decoded one
        work.thumbnail(size, resample, reducing_gap=2.0)
        if orientation in _TRANSPOSE:
            work = work.transpose(Image.Transpose[_TRANSPOSE[orientation]])
        if work.mode not in ("RGB", "L"):
            work = work.convert("RGB")
        return work.copy() if work is img else work  # ``img`` is closed on leaving


#: modes resampled only after a conversion (1-bit and palette would be subsampled, alpha needs laying on white)
_CONVERTED = frozenset({"1", "P", "PA", "LA", "La", "RGBA", "RGBa"})
_STRIP_PIXELS = 1 << 20


def _reduced_in_strips(img, factor: int, mode: str):
    """Decoded ``img`` in ``mode``, ``factor`` times smaller, converted a strip at a time."""
    from PIL import Image

    width, height = img.size
    out = Image.new(mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))  # a multiple of ``factor``: blocks stay whole
    for top in range(0, height, rows):
        strip = _flat(img.crop((0, top, width, min(top + rows, height))), mode)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def _flat(img, mode: str):
    """``img`` in ``mode`` (``RGB`` or ``L``), its transparent pixels laid on white."""
    from PIL import Image

    if img.mode in ("PA", "LA", "La", "RGBA", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", img.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat if mode == "RGB" else flat.convert("L")
    return img.convert(mode)


# -- zip containers (Office, OFD): the directory first, then a budgeted inflate ------------------
def open_container(fp: IO[bytes], limits: ContainerLimits) -> zipfile.ZipFile:
    """The zip archive in ``fp``, after every check its directory allows — nothing is inflated yet.

    Refuses (:class:`ContainerRefused`, hostile) more members than allowed
    (counted from the end record, before zipfile parses the directory), a
    member or the whole archive declaring more than ``max_ratio`` times its
    compressed size (above 1 MB), and a stored member whose sizes disagree.
    A broken archive raises ``zipfile.BadZipFile``.
    """
    members, directory = _end_record(fp)
    allowance = max(limits.max_members * _ENTRY_ALLOWANCE, 1 << 20)
    if members > limits.max_members or directory > allowance:
        raise ContainerRefused(f"压缩包内文件过多（{members} 个，上限 {limits.max_members} 个）")
    fp.seek(0)
    zf = zipfile.ZipFile(fp)
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        raise ContainerRefused(f"压缩包内文件过多（{len(infos)} 个，上限 {limits.max_members} 个）")
    total = packed = 0
    for info in infos:
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ContainerRefused(f"压缩包目录与内容不符（{info.filename}）")
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ContainerRefused(
                f"“{info.filename}”压缩比异常：{_human(info.compress_size)} 解压后为 {_human(info.file_size)}"
                f"（{info.file_size / max(info.compress_size, 1):.0f} 倍，上限 {limits.max_ratio:.0f} 倍）")
        total += info.file_size
        packed += info.compress_size
    if total > RATIO_FLOOR and total > limits.max_ratio * max(packed, 1):
        raise ContainerRefused(f"压缩比异常：{_human(packed)} 解压后为 {_human(total)}"
                               f"（{total / max(packed, 1):.0f} 倍，上限 {limits.max_ratio:.0f} 倍）")
    return zf


def _end_record(fp: IO[bytes]) -> tuple[int, int]:
    """(members, central-directory bytes) as the end-of-central-directory record states them."""
    fp.seek(0, 2)
    end = fp.tell()
    length = min(end, 22 + 0xFFFF)  # the record, then a comment of at most 64 KiB
    fp.seek(end - length)
    tail = fp.read(length)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise zipfile.BadZipFile("no end of central directory")
    members, directory = struct.unpack("<HI", tail[at + 10:at + 16])
    if (members == 0xFFFF or directory == 0xFFFFFFFF) and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", tail[at - 12:at - 4])  # zip64 locator -> zip64 end record
        fp.seek(offset)
        record = fp.read(56)
        if record[:4] == b"PK\x06\x06":
            members, directory = struct.unpack("<QQ", record[32:48])
    return members, directory


class Budget:
    """Bytes that may still be inflated from one file (all members together)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ContainerRefused(f"解压后超过 {_human(self.limit)} 的上限", hostile=False)


def read_member(fp: IO[bytes], info: zipfile.ZipInfo, budget: Budget | None = None,
                chunk: int = CHUNK) -> Iterator[bytes]:
    """Inflate member ``info`` of the archive in ``fp`` in pieces of at most ``chunk`` bytes.

    The hard cap is applied while inflating, not trusted from the header: a
    member giving one byte more than its directory entry declares is refused
    (hostile), so is anything beyond ``budget``.  Size and CRC are checked at
    the end (``zipfile.BadZipFile``).
    """
    if info.flag_bits & 0x1:
        raise zipfile.BadZipFile(f"encrypted member {info.filename!r}")
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
    elif info.compress_type == zipfile.ZIP_STORED:
        inflater = None
    else:
        raise zipfile.BadZipFile(f"compression method {info.compress_type} of {info.filename!r}")
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header of {info.filename!r}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_length + extra_length)
    left, given, crc = info.compress_size, 0, 0
    while left > 0 and not (inflater is not None and inflater.eof):
        raw = fp.read(min(chunk, left))
        if not raw:
            raise zipfile.BadZipFile(f"{info.filename!r} is cut short")
        left -= len(raw)
        while raw:
            if inflater is None:
                data, raw = raw, b""
            else:
                data = inflater.decompress(raw, chunk)  # never more than ``chunk`` bytes at once
                raw = b"" if inflater.eof else inflater.unconsumed_tail
            if not data:
                continue
            given += len(data)
            if given > info.file_size:
                raise ContainerRefused(f"“{info.filename}”解压后超过其目录中声明的 {_human(info.file_size)}"
                                       "（压缩包目录造假）")
            if budget is not None:
                budget.take(len(data))
            crc = zlib.crc32(data, crc)
            yield data
    if given != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"size or CRC of {info.filename!r} does not match the directory")


def screen_container(fp: IO[bytes], limits: ContainerLimits, depth: int = 0) -> None:
    """The upload-time check of a zip container: :func:`open_container`, then

    * containers inside it (an .xlsx embedded in a .docx …) are inflated
      (within the budget) and screened the same way, at most
      ``MAX_ZIP_NESTING`` levels deep;
    * its XML parts — what any reader of the format inflates — are inflated
      and thrown away, proving their declared sizes true.  When they declare
      more than ``max_bytes`` together the file is merely too big to index
      (kept, not screened further: nothing will inflate them).
    """
    zf = open_container(fp, limits)
    budget = Budget(limits.max_bytes)
    for info in zf.infolist():
        if not _CONTAINER_NAMES.search(info.filename) or info.file_size > limits.max_bytes - budget.used:
            continue
        if depth >= MAX_ZIP_NESTING:
            raise ContainerRefused(f"压缩包嵌套过深（“{info.filename}”在第 {depth + 1} 层）")
        with tempfile.SpooledTemporaryFile(max_size=4 << 20) as inner:
            head = b""
            for data in read_member(fp, info, budget):
                head = head or data[:4]
                inner.write(data)
            if head == b"PK\x03\x04":
                screen_container(inner, limits, depth + 1)
    parts = [i for i in zf.infolist() if _XML_PARTS.search(i.filename)]
    if sum(i.file_size for i in parts) <= limits.max_bytes - budget.used:
        for info in parts:
            for _data in read_member(fp, info, budget):
                pass


def _human(n: float) -> str:
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
