"""Every ``multipart/form-data`` body, parsed once by a streaming parser (issue 16).

A tween (under ``views.limits``, so refused bodies are never read) parses the
body with ``multipart``'s push parser straight from ``wsgi.input`` and puts
the result where WebOb looks for its parsed form (``webob._parsed_post_vars``),
so ``request.POST`` — in our views, in deform's ``form.validate`` and in
Pyramid's CSRF check — is this parse; ``cgi.FieldStorage`` never runs.

* **Fields** are ``str`` (UTF-8 unless the part names another charset);
  **files** (parts with a file name) are :class:`UploadedFile` objects with
  what ``cgi.FieldStorage`` offered deform and our views: ``.file`` (rewound),
  ``.filename``, ``.type``, ``.length``, ``.headers``.  A part is kept in
  memory up to :data:`MEMORY_PART` bytes, then spooled to a named temp file.
* **Digested on the way**: each file's SHA-256 and SM3 are taken while it is
  spooled (``content_types.attachment.Digester``: SM3 in a helper thread),
  and the file object carries them (``upload_digests``), so
  ``attachment.capture`` neither hashes nor copies the bytes again — it links
  the spooled file into the blob.
* **Limits**: a body over the limit never gets here (``views.limits``: 413
  from its length).  A file over ``duban.max_upload_bytes`` is dropped the
  moment it passes the limit (what was spooled is deleted, the rest of it only
  counted) and handed on empty, marked over the limit: ``attachment.capture``
  refuses it with the usual 413 message, so the upload page shows its form
  again with the message beside the file field.  Text fields over
  :data:`MAX_TEXT` bytes together, more than :data:`MAX_PARTS` parts or
  :data:`MAX_FILES` files are a 413 here; a body that is not valid multipart
  (cut short, no boundary, broken part headers) a 400 with a Chinese message.
  These refusals answer before the view runs and write nothing.
* **Retries**: the parse lives in the environ (:data:`FORM_KEY`) for all
  attempts of the request: a retry after a ConflictError rewinds the files and
  gets a fresh copy of the same form; a file the first attempt closed makes
  the retry parse the rewound body again.  ``retry.execution_policy`` removes
  the spooled files when the last attempt is over.
* **File names**: raw UTF-8 as browsers send them (HTML5 quoting: ``%22``),
  RFC 2231/5987 ``filename*=UTF-8''…`` (preferred when both are given), and a
  GBK/GB18030 name from an old Windows client are all decoded.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any
from urllib.parse import unquote

import multipart as mp
from pyramid.view import view_config
from webob.multidict import MultiDict

from ..content_types.attachment import Digester, Digests, _human

log = logging.getLogger(__name__)

#: where the parse of a request's body is kept for all its attempts
FORM_KEY = "duban.multipart"
#: bytes read from ``wsgi.input`` at a time
READ_CHUNK = 1 << 19
#: a file part up to this size stays in memory; larger ones are spooled to disk
MEMORY_PART = 256 * 1024
#: text fields together (they are held in memory as ``str``)
MAX_TEXT = 1 << 20
#: parts in one body, and parts that are files
MAX_PARTS = 1000
MAX_FILES = 20
#: one part header line (a long Chinese file name, percent-encoded, fits easily)
MAX_HEADER = 16 * 1024

MALFORMED = "上传的表单内容不完整或格式有误（multipart/form-data 无法解析），未做任何更改，请重新提交"


class FormRefused(Exception):
    """The body is refused before any view sees it; nothing was kept."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class UploadedFile:
    """One file of the form, shaped like the ``cgi.FieldStorage`` WebOb used to hand out."""

    def __init__(self, name: str, filename: str, content_type: str, type_options: dict[str, str],
                 headers: list[tuple[str, str]], file: IO[bytes], digests: Digests) -> None:
        self.name = name
        self.filename = filename
        self.type = content_type
        self.type_options = type_options
        self.headers = dict(headers)
        self.headerlist = headers
        self.file = file
        self.digests = digests
        file.upload_digests = digests  # type: ignore[attr-defined]  # read by attachment.capture

    # cgi.FieldStorage's names for the same things
    @property
    def length(self) -> int:
        return self.digests.size

    size = length

    @property
    def content_type(self) -> str:
        return self.type

    @property
    def sha256(self) -> str:
        return self.digests.sha256

    @property
    def sm3(self) -> str:
        return self.digests.sm3

    @property
    def value(self) -> bytes:
        """All the bytes (as ``FieldStorage.value``): only for small files."""
        at = self.file.tell()
        self.file.seek(0)
        try:
            return self.file.read()
        finally:
            self.file.seek(at)

    def rewind(self) -> bool:
        """Back to the first byte for another attempt; False when the file was closed."""
        try:
            self.file.seek(0)
        except (ValueError, OSError):
            return False
        return True

    def close(self) -> None:
        self.file.close()  # a spooled file is deleted with it

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<UploadedFile {self.name!r}: {self.filename!r} {self.type} {self.length} bytes>"


class ParsedForm:
    """The fields of one body in order; one :class:`MultiDict` copy per attempt."""

    def __init__(self, fields: list[tuple[str, Any]]) -> None:
        self.fields = fields

    @property
    def files(self) -> list[UploadedFile]:
        return [v for _, v in self.fields if isinstance(v, UploadedFile)]

    def multidict(self) -> MultiDict:
        return MultiDict(self.fields)

    def rewind(self) -> bool:
        return all(f.rewind() for f in self.files)

    def close(self) -> None:
        for f in self.files:
            try:
                f.close()
            except OSError:  # pragma: no cover — a temp file already gone
                pass


# -- parsing ------------------------------------------------------------------------------------
def is_multipart(environ: Mapping[str, Any]) -> bool:
    ctype = environ.get("CONTENT_TYPE", "")
    return ctype.split(";", 1)[0].strip().lower() == "multipart/form-data"


def _redecode(value: str) -> str:
    """A header value the parser read as Latin-1: UTF-8 as browsers send, else GB18030 (old Windows clients)."""
    if value.isascii():
        return value
    raw = value.encode("latin-1")
    for charset in ("utf-8", "gb18030"):
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


_EXT_FILENAME = re.compile(r";\s*filename\*\s*=\s*(\"[^\"]*\"|[^;\s]*)", re.I)


def _extended_filename(disposition: str) -> str | None:
    """``filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf`` (RFC 2231 / 5987), decoded; None without one."""
    found = _EXT_FILENAME.search(disposition)
    if not found:
        return None
    value = found.group(1).strip('"')
    charset, sep, rest = value.partition("'")
    if not sep:
        return unquote(value, "utf-8", "replace")
    _language, _, encoded = rest.partition("'")
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError:
        charset = "utf-8"
    return unquote(encoded, charset or "utf-8", "replace")


def _part_meta(segment: mp.MultipartSegment) -> tuple[list[tuple[str, str]], str, str | None, str, dict[str, str]]:
    """(headers, field name, file name or None, content type, its options) of a part, decoded."""
    headers = [(k, _redecode(v)) for k, v in segment.headerlist]
    disposition = next((v for k, v in headers if k == "Content-Disposition"), "")
    _kind, name, filename = mp.parse_content_disposition(disposition)
    extended = _extended_filename(disposition)
    if extended is not None:
        filename = extended
    ctype, options = mp.parse_options_header(next((v for k, v in headers if k == "Content-Type"), ""))
    return headers, name or "", filename, ctype, options


class _FileSink:
    """A file part being received: memory first, then a named temp file; digested as it comes.

    Past ``max_bytes`` what was kept is dropped at once and the rest of the
    part only counted: the view refuses it (413, the upload form shown again
    with the message) while nothing of it is on disk.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.digester = Digester()
        self.memory: io.BytesIO | None = io.BytesIO()
        self.spooled: IO[bytes] | None = None
        self.dropped = 0  # bytes seen once over the limit

    def write(self, data: bytes) -> None:
        if self.dropped:
            self.dropped += len(data)
            return
        if self.digester.size + len(data) > self.max_bytes:
            self.dropped = self.digester.size + len(data)
            self.discard()
            self.memory = io.BytesIO()
            return
        self.digester.update(data)
        if self.spooled is None:
            assert self.memory is not None
            if self.memory.tell() + len(data) <= MEMORY_PART:
                self.memory.write(data)
                return
            self.spooled = tempfile.NamedTemporaryFile(prefix="duban-upload-")  # noqa: SIM115 — closed with the form
            self.spooled.write(self.memory.getbuffer())
            self.memory = None
        self.spooled.write(data)

    def finish(self) -> tuple[IO[bytes], Digests]:
        if self.dropped:
            return io.BytesIO(), Digests(self.dropped, "", "", b"", over_limit=self.max_bytes)
        digests = self.digester.finish()
        file: IO[bytes]
        if self.spooled is not None:
            file = self.spooled
            file.flush()
        else:
            assert self.memory is not None
            file = self.memory
        file.seek(0)
        return file, digests

    def discard(self) -> None:
        self.digester.abort()
        if self.spooled is not None:
            self.spooled.close()
            self.spooled = None


class _TextSink:
    def __init__(self, budget: list[int], charset: str | None, transfer_encoding: str) -> None:
        self.budget = budget
        self.charset = charset
        self.transfer_encoding = transfer_encoding.strip().lower()
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.budget[0] -= len(data)
        if self.budget[0] < 0:
            raise FormRefused(413, f"表单中的文字内容超过 {_human(MAX_TEXT)} 的上限，未做任何更改")
        self.parts.append(data)

    def finish(self) -> str:
        raw = b"".join(self.parts)
        try:
            if self.transfer_encoding == "base64":  # obsolete (RFC 7578 4.7) but WebOb decoded it
                raw = base64.b64decode(raw)
            elif self.transfer_encoding == "quoted-printable":
                raw = binascii.a2b_qp(raw)
        except (binascii.Error, ValueError) as exc:
            raise FormRefused(400, MALFORMED) from exc
        charset = self.charset or "utf-8"
        try:
            return raw.decode(charset, "replace")
        except LookupError:
            return raw.decode("utf-8", "replace")

    def discard(self) -> None:
        self.parts = []


def _chunks(body: IO[bytes], length: int | None, max_body: int) -> Iterator[bytes]:
    """The body in pieces of at most :data:`READ_CHUNK`, never past ``length``; ends with ``b""``."""
    left = length if length is not None else max_body + 1
    while left > 0:
        chunk = body.read(min(READ_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        if length is None and left <= 0:
            raise FormRefused(413, f"请求体超过 {_human(max_body)} 的上限，未做任何更改")
        yield chunk
    yield b""


def parse(body: IO[bytes], content_type: str, length: int | None, *, max_file: int, max_body: int) -> ParsedForm:
    """Parse a whole ``multipart/form-data`` body; raises :class:`FormRefused` (nothing kept then).

    A file over ``max_file`` bytes is not refused here but kept as an empty
    :class:`UploadedFile` marked over the limit (``digests.over_limit``), which
    ``attachment.capture`` refuses with the usual 413 — so the upload page can
    show its form again with the message beside the file field.
    """
    _ctype, options = mp.parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise FormRefused(400, MALFORMED)
    if length == 0:
        return ParsedForm([])  # an empty body: an empty form (the view says what is missing)
    try:
        parser = mp.PushMultipartParser(boundary, content_length=-1 if length is None else length,
                                        max_header_size=MAX_HEADER, max_header_count=16,
                                        max_segment_count=MAX_PARTS, header_charset="latin1")
    except mp.MultipartError as exc:
        raise FormRefused(400, MALFORMED) from exc
    fields: list[tuple[str, Any]] = []
    text_budget = [MAX_TEXT]
    files = 0
    name = ""
    meta: tuple[list[tuple[str, str]], str, str | None, str, dict[str, str]] | None = None
    sink: _FileSink | _TextSink | None = None
    try:
        for chunk in _chunks(body, length, max_body):
            for event in parser.parse(chunk):  # b"" closes the parser: an unfinished body raises
                if isinstance(event, mp.MultipartSegment):
                    meta = _part_meta(event)
                    headers, name, filename, ctype, type_options = meta
                    if filename:
                        files += 1
                        if files > MAX_FILES:
                            raise FormRefused(413, f"一次提交的文件过多（上限 {MAX_FILES} 个），未做任何更改")
                        sink = _FileSink(max_file)
                    else:
                        transfer = next((v for k, v in headers if k == "Content-Transfer-Encoding"), "")
                        sink = _TextSink(text_budget, type_options.get("charset"), transfer)
                elif event is None:
                    assert sink is not None and meta is not None
                    if isinstance(sink, _FileSink):
                        headers, name, filename, ctype, type_options = meta
                        file, digests = sink.finish()
                        fields.append((name, UploadedFile(name, filename or "", ctype or "application/octet-stream",
                                                          type_options, headers, file, digests)))
                    else:
                        fields.append((name, sink.finish()))
                    sink, meta = None, None
                else:
                    assert sink is not None
                    sink.write(event)
    except mp.ParserLimitReached as exc:
        _discard(sink, fields)
        if "segment count" in str(exc):
            raise FormRefused(413, f"表单字段过多（上限 {MAX_PARTS} 个），未做任何更改") from exc
        raise FormRefused(400, MALFORMED) from exc
    except mp.MultipartError as exc:
        _discard(sink, fields)
        log.info("malformed multipart body refused: %s", exc)
        raise FormRefused(400, MALFORMED) from exc
    except BaseException:
        _discard(sink, fields)
        raise
    return ParsedForm(fields)


def _discard(sink: _FileSink | _TextSink | None, fields: list[tuple[str, Any]]) -> None:
    if sink is not None:
        sink.discard()
    ParsedForm(fields).close()


# -- the request side ---------------------------------------------------------------------------
def form_of(request) -> ParsedForm:
    """The request's parsed form: the one an earlier attempt made (rewound), else a fresh parse."""
    from .attachments import max_upload_bytes
    from .limits import body_limit

    environ = request.environ
    form = environ.get(FORM_KEY)
    if form is not None:
        if form.rewind():
            return form
        form.close()  # a view closed a file: read the body again (pyramid_retry rewound it)
        del environ[FORM_KEY]
    body = environ["wsgi.input"]
    if environ.get("webob.is_body_seekable"):
        body.seek(0)
    form = parse(body, environ.get("CONTENT_TYPE", ""), request.content_length,
                 max_file=max_upload_bytes(request), max_body=body_limit(request.registry.settings))
    environ[FORM_KEY] = form
    return form


def discard(environ: dict[str, Any]) -> None:
    """Remove the spooled files of the request (after its last attempt)."""
    form = environ.pop(FORM_KEY, None)
    if form is not None:
        form.close()


def multipart_tween_factory(handler, registry):
    from .limits import _has_body

    def multipart_tween(request):
        if is_multipart(request.environ):
            if not _has_body(request):  # a stray Content-Type on a GET: an empty form, as WebOb gave
                fields = MultiDict()
            else:
                try:
                    fields = form_of(request).multidict()
                except FormRefused as exc:
                    return request.invoke_exception_view((FormRefused, exc, None))
            # WebOb answers ``request.POST`` from here as long as ``wsgi.input`` is this body
            request.environ["webob._parsed_post_vars"] = (fields, request.body_file_raw)
        return handler(request)

    return multipart_tween


@view_config(context=FormRefused, renderer="json", path_info=r"^/api/")
def api_refused(exc: FormRefused, request):
    from .api.errors import error_response

    return error_response(request, exc.status, exc.message, {exc.field: exc.message} if exc.field else {})


@view_config(context=FormRefused, renderer="templates/error.pt", path_info=r"^(?!/api/)")
def page_refused(exc: FormRefused, request):
    from .layout import translate

    request.tm.doom()
    request.response.status = exc.status
    title = translate(request, "提交内容过大" if exc.status == 413 else "提交内容有误")
    return {"page_title": title, "title": title, "message": translate(request, exc.message), "status": exc.status}
