"""四性检测 of the uploaded originals themselves: signatures (真实性) and readability (可用性).

The package's digests prove the bytes did not change since capture; they do
not prove that a signed PDF's signature still holds, nor that a photo can be
read at all (a JPEG cut short still digests fine, and shows as a grey block).
Here every original is checked for what it is:

* 真实性 — each digital signature of a PDF is validated with pyHanko: the
  signed bytes are intact and the signature is cryptographically valid
  (the certificate chain is reported as 未验证 unless trust roots are
  configured: ``duban.signature_trust_roots``, PEM files).
* 可用性 — each original is fully decoded: images by Pillow ``load()`` (a
  truncated image fails), PDFs opened with pikepdf and every page's content
  parsed, Office files and OFD as zip packages (every member's CRC checked,
  the package's own part present).  A format nobody here can decode is
  「未检测」, never a pass.

Each function returns plain check dicts (see :func:`.checks.check`); a check
that could not run has ``passed`` None.  :func:`capture_checks` runs both on
an attachment and records the result on it (``attachment.original_checks``);
the background capture worker (:mod:`.capture`) calls it after an upload
commits; filing runs them again on the copies in the package and compares.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ..timeutil import isoformat, now
from .checks import check

Source = str | Path | BinaryIO

OFFICE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
OFD = {"application/ofd"}
#: a zip member larger than this (uncompressed) is not inflated to check it: 「未检测」
MAX_MEMBER_BYTES = 2 * 1024 ** 3


def _open(source: Source) -> BinaryIO:
    return open(source, "rb") if isinstance(source, str | Path) else source


def _rewind(f: BinaryIO) -> None:
    try:
        f.seek(0)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - every source here seeks
        pass


# -- 可用性 ---------------------------------------------------------------------------

def usability(source: Source, mimetype: str, name: str) -> dict[str, Any]:
    """One check: ``source`` (path or binary file) fully decoded as ``mimetype``."""
    label = f"原件可完整读取：{name}"
    f = _open(source)
    try:
        if mimetype.startswith("image/"):
            return _image(f, label)
        if mimetype == "application/pdf":
            return _pdf(f, label)
        if mimetype in OFFICE:
            return _zip(f, label, "[Content_Types].xml", "Office 文档")
        if mimetype in OFD or name.lower().endswith(".ofd"):
            return _zip(f, label, "OFD.xml", "OFD 文档")
        if mimetype.startswith("text/"):
            return _text(f, label)
        return check("usability.original", label, None, f"未检测：无法校验此格式（{mimetype or '未知类型'}）")
    finally:
        if isinstance(source, str | Path):
            f.close()
        else:
            _rewind(f)


_strict = threading.Lock()


def _image(f: BinaryIO, label: str) -> dict[str, Any]:
    """Every frame decoded, strictly: WeasyPrint sets Pillow's ``LOAD_TRUNCATED_IMAGES`` for the whole
    process when imported (a JPEG cut short then decodes, grey below the cut); it is off while we decode."""
    from PIL import Image, ImageFile

    with _strict:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            result = _decode(Image, f, label)
        finally:
            tolerant = ImageFile.LOAD_TRUNCATED_IMAGES  # set meanwhile by an import elsewhere?
            ImageFile.LOAD_TRUNCATED_IMAGES = saved or tolerant
    if tolerant and result["passed"]:  # pragma: no cover - a race with a first import of WeasyPrint
        return check("usability.original", label, None, "未检测：解码期间 Pillow 被设置为容忍截断图像")
    return result


def _decode(Image, f: BinaryIO, label: str) -> dict[str, Any]:  # noqa: N803 - the PIL.Image module
    try:
        with Image.open(f) as img:
            fmt, size = img.format, img.size
            frames = getattr(img, "n_frames", 1)
            for n in range(frames):  # every frame of an animated GIF / multi-page TIFF
                img.seek(n)
                img.load()
    except Image.DecompressionBombError as exc:
        return check("usability.original", label, False, f"图像像素超出限制：{exc}")
    except Exception as exc:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError …
        return check("usability.original", label, False, f"图像无法完整解码：{exc}"[:300])
    return check("usability.original", label, True, f"{fmt} 图像 {size[0]}×{size[1]}，完整解码"
                 + (f"（{frames} 帧）" if frames > 1 else ""))


def _pdf(f: BinaryIO, label: str) -> dict[str, Any]:
    import pikepdf

    try:
        with pikepdf.open(f) as pdf:
            pages = len(pdf.pages)
            if not pages:
                return check("usability.original", label, False, "PDF 没有页面")
            for n, page in enumerate(pdf.pages, 1):
                try:
                    pikepdf.parse_content_stream(page)
                except pikepdf.PdfError as exc:
                    return check("usability.original", label, False, f"第 {n} 页内容无法解析：{_pdf_reason(exc)}")
    except pikepdf.PasswordError:
        return check("usability.original", label, False, "PDF 有打开密码，无法读取")
    except pikepdf.PdfError as exc:
        return check("usability.original", label, False, f"PDF 无法解析：{_pdf_reason(exc)}")
    return check("usability.original", label, True, f"PDF 共 {pages} 页，每页内容可解析")


def _zip(f: BinaryIO, label: str, required: str, kind: str) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(f) as zf:
            members = zf.infolist()
            names = {m.filename for m in members}
            if required not in names:
                return check("usability.original", label, False, f"{kind}结构不完整：缺少 {required}")
            big = [m.filename for m in members if m.file_size > MAX_MEMBER_BYTES]
            if big:
                return check("usability.original", label, None, f"未检测：成员过大（{big[0]}）")
            bad = zf.testzip()  # inflates every member and checks its CRC
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError,
            NotImplementedError) as exc:
        return check("usability.original", label, False, f"{kind}无法解压：{exc}"[:300])
    if bad is not None:
        return check("usability.original", label, False, f"{kind}成员损坏（CRC 不符）：{bad}")
    return check("usability.original", label, True, f"{kind}，{len(members)} 个成员均可解压且校验一致")


def _text(f: BinaryIO, label: str) -> dict[str, Any]:
    import codecs

    for encoding in ("utf-8", "gb18030"):
        _rewind(f)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return check("usability.original", label, True, f"文本（{encoding.upper()}）可完整解码")
    return check("usability.original", label, False, "文本既非 UTF-8 也非 GB18030 编码")


# -- 真实性: digital signatures ------------------------------------------------------------

def signatures(source: Source, name: str, *, trust_roots: Iterable[bytes] = ()) -> list[dict[str, Any]]:
    """One check per digital signature of a PDF (none for an unsigned PDF).

    Not passed: the signed bytes were altered (not intact), the signature does not verify, or
    the file was changed after signing beyond what signatures allow (form filling, annotations,
    later signatures).  Could not run (None): the signature could not be read at all.
    """
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader
        from pyhanko.sign.validation import validate_pdf_signature
        from pyhanko_certvalidator import ValidationContext
    except ImportError:  # pragma: no cover - pyHanko is a requirement
        return [check("authenticity.signature", f"电子签名：{name}", None, "未检测：未安装 pyHanko")]
    f = _open(source)
    try:
        data = f.read()
    finally:
        if isinstance(source, str | Path):
            f.close()
        else:
            _rewind(f)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        found = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - a PDF pyHanko cannot read: its signatures are unknown
        return [check("authenticity.signature", f"电子签名：{name}", None, f"未检测：签名无法读取（{exc}）"[:300])]
    roots = list(trust_roots)
    out = []
    for sig in found:
        label = f"电子签名有效：{name}（{sig.field_name}）"
        try:
            context = _validation_context(ValidationContext, roots)
            _quiet_chain_warnings()
            status = validate_pdf_signature(sig, context)
        except Exception as exc:  # noqa: BLE001 - malformed signature dictionaries, CMS …
            out.append(check("authenticity.signature", label, False, f"签名无法验证：{exc}"[:300]))
            continue
        signer = _signer(status)
        modified = str(getattr(status.modification_level, "name", "")) if status.modification_level else ""
        if not status.intact:
            passed, detail = False, f"签名后内容被改动（摘要不符）；签名人 {signer}"
        elif not status.valid:
            passed, detail = False, f"签名值验证失败；签名人 {signer}"
        elif modified == "OTHER":
            passed, detail = False, f"签名后文件有不允许的修改；签名人 {signer}"
        else:
            chain = ("证书链可信" if status.trusted else "证书链不可信") if roots else "证书链未验证（未配置信任根）"
            passed, detail = True, f"签名完整有效；签名人 {signer}；{chain}"
        out.append(check("authenticity.signature", label, passed, detail,
                         signature=signature_elements(sig, status, signer, passed)))
    return out


def signature_elements(sig, status, signer: str, passed: bool) -> dict[str, str]:
    """The DA/T 46 电子签名 elements of one pyHanko-validated signature (plain strings).

    签名结果 is the signer's signature value (base64), 证书 the signing certificate (DER, base64),
    证书引证 its issuer and serial number; ``status`` says what the validation found.
    """
    import base64

    def safe(get) -> str:
        try:
            return str(get() or "")
        except Exception:  # noqa: BLE001 - a field a malformed signature lacks
            return ""

    sub_filter = safe(lambda: str(sig.sig_object.get("/SubFilter", "")).lstrip("/"))
    cert = status.signing_cert
    return {
        "field": str(sig.field_name or ""),
        "rule": f"PDF 数字签名（ISO 32000-1 12.8，{sub_filter or 'CMS'}），签名覆盖 /ByteRange 所列字节",
        "time": safe(lambda: status.signer_reported_dt.isoformat()),
        "signer": signer,
        "result": safe(lambda: base64.b64encode(sig.signer_info["signature"].native).decode("ascii")),
        "status": "有效" if passed else "无效",
        "certificate": safe(lambda: base64.b64encode(cert.dump()).decode("ascii")),
        "reference": safe(lambda: f"颁发者：{cert.issuer.human_friendly}；序列号：{cert.serial_number:x}"),
        "algorithm": safe(lambda: f"{status.pkcs7_signature_mechanism}（摘要 {status.md_algorithm}）"),
    }


def _validation_context(cls, roots: list[bytes]):
    from asn1crypto import pem, x509

    certs = []
    for blob in roots:
        for _type, _headers, der in (pem.unarmor(blob, multiple=True) if pem.detect(blob) else [(None, None, blob)]):
            certs.append(x509.Certificate.load(der))
    return cls(trust_roots=certs, allow_fetching=False)


def _signer(status) -> str:
    try:
        return str(status.signing_cert.subject.human_friendly)
    except Exception:  # noqa: BLE001 - a certificate without a readable subject
        return "（无法读取）"


class _ChainWarnings(logging.Filter):
    """pyHanko logs an unverified certificate chain as a warning with a traceback, every time; the
    check reports the chain itself (「证书链未验证」), so those records are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Validation error [cert context")


_chain_warnings = _ChainWarnings()


def _quiet_chain_warnings() -> None:
    logger = logging.getLogger("pyhanko.sign.validation.generic_cms")
    if _chain_warnings not in logger.filters:
        logger.addFilter(_chain_warnings)


def trust_roots(settings: dict[str, Any] | None) -> list[bytes]:
    """PEM files named by ``duban.signature_trust_roots`` (whitespace-separated paths)."""
    paths = str((settings or {}).get("duban.signature_trust_roots") or "").split()
    return [Path(p).read_bytes() for p in paths]


# -- one original, at capture and at filing ---------------------------------------------------

def original_checks(source: Source, mimetype: str, name: str, *,
                    roots: Iterable[bytes] = ()) -> dict[str, list[dict[str, Any]]]:
    """{"authenticity": [signature checks], "usability": [decode check]} of one original."""
    use = usability(source, mimetype, name)
    sigs = signatures(source, name, trust_roots=roots) if mimetype == "application/pdf" and use["passed"] else []
    return {"authenticity": sigs, "usability": [use]}


def capture_checks(att, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check an attachment's blob and record the result on it as ``original_checks`` (plain data)."""
    with att.open() as f:
        found = original_checks(f, att.mimetype, att.filename, roots=trust_roots(settings))
    result = {"at": isoformat(now()), **found}
    att.original_checks = result
    return result


def on_attachment_added(event) -> None:
    """Check an attachment right away (in the caller's transaction).

    Not wired: it would slow every upload.  The app queues uploads instead and checks them in the
    background after commit (:mod:`.capture`); this stays for scripts that want the check inline.
    """
    att = event.object
    if getattr(att, "type_name", "") != "attachment":
        return
    from pyramid.threadlocal import get_current_registry

    capture_checks(att, getattr(get_current_registry(), "settings", None))


def _pdf_reason(exc: Exception) -> str:
    """qpdf's reason without the stream/temp-file names it prefixes (they mean nothing to a records
    officer and would put server paths into the report): ``stream <…>: unable to find …`` -> ``unable to find …``."""
    text = re.sub(r"^.*?(?:stream <[^>]*>|/\S+)\s*(?:\(.*?\))?:\s*", "", str(exc), count=1)
    text = re.sub(r"/\S+", "…", text)
    return (text or "文件结构损坏")[:200]
