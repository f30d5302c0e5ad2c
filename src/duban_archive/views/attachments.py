"""附件: upload (streamed into a blob), download (streamed out), image thumbnails.

The form was parsed before the view by ``views.multipart`` (the file spooled
and digested on the way); the view passes the file to
:func:`~duban_archive.content_types.actions.add_attachment`, which takes those
digests, sniffs the type and links the spooled file into the blob.  A refused
file (a file over the limit arrives marked, empty) dooms the transaction so
nothing of it is kept, and the form is shown again with the reason beside the
file field.  Downloads stream the committed blob file and are audit-logged.
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from ..audit.log import record
from ..audit.reads import log_read
from ..content_types.actions import Frozen, add_attachment
from ..content_types.attachment import (
    IMAGE_TYPES,
    KINDS,
    MAX_IMAGE_PIXELS,
    Attachment,
    ImageTooLarge,
    UploadRefused,
    _human,
    reduced_image,
)
from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from .layout import translate

THUMB_SIZE = (480, 360)
TITLE_MAX = 200
#: instead of a thumbnail that is not decoded (too many pixels, or broken): a picture, no text, no script
PLACEHOLDER = (b'<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360" viewBox="0 0 480 360">'
               b'<rect width="480" height="360" fill="#e9ecef"/><g fill="none" stroke="#adb5bd" stroke-width="8">'
               b'<rect x="170" y="120" width="140" height="110" rx="8"/><path d="M180 215l40-45 30 30 20-20 30 35"/>'
               b'<circle cx="275" cy="150" r="10"/><path d="M150 255L330 95"/></g></svg>')
log = logging.getLogger(__name__)


def max_upload_bytes(request) -> int:
    return int(request.registry.settings["duban.max_upload_bytes"])


def too_large_message(request) -> str:
    return translate(request, "文件过大：上限为 {limit}", {"limit": _human(max_upload_bytes(request))})


def _item_url(item) -> str:
    return f"/boards/{item.board_id}/{item.item_id}"


@view_config(context=SupervisionItem, name="upload", renderer="templates/upload.pt",
             permission="add_attachment")
def upload_view(context, request):
    if context.archived:
        raise HTTPForbidden(translate(request, Frozen.message))
    values = {"kind": "photo", "title": ""}
    errors: dict[str, str] = {}
    page = {"page_title": translate(request, "上传附件") + " · " + context.number, "item": context,
            "back": _item_url(context), "kinds": [(k, translate(request, v)) for k, v in KINDS.items()],
            "max_size": _human(max_upload_bytes(request)), "values": values, "errors": errors,
            "form_error": ""}
    if request.method != "POST":
        return page
    values["kind"] = request.POST.get("kind", "")
    values["title"] = request.POST.get("title", "").strip()
    upload = request.POST.get("file")
    if values["kind"] not in KINDS:
        errors["kind"] = translate(request, "请选择附件类别")
    if len(values["title"]) > TITLE_MAX:
        errors["title"] = translate(request, "不能超过 {n} 个字符", {"n": TITLE_MAX})
    if not hasattr(upload, "file") or not getattr(upload, "filename", ""):
        errors["file"] = translate(request, "请选择要上传的文件")
    if errors:
        request.response.status = 400
        page["form_error"] = translate(request, "填写内容有误，请按提示修改后重新提交（文件需重新选择）")
        return page
    site = find_site(context)
    try:
        att = add_attachment(site, context, upload.file, upload.filename, values["kind"], values["title"],
                             request.identity.username, max_bytes=max_upload_bytes(request),
                             max_pixels=int(request.registry.settings.get("duban.max_image_pixels", 50_000_000)),
                             registry=request.registry)
    except UploadRefused as exc:
        request.tm.doom()  # the partial blob and every other write of this request are dropped
        request.response.status = exc.status
        errors["file"] = translate(request, exc.message)
        page["form_error"] = translate(request, "文件未被接受，未做任何更改")
        return page
    except Frozen:
        request.tm.doom()
        raise HTTPForbidden(translate(request, Frozen.message)) from None
    request.session.flash(translate(request, "已上传：{name}", {"name": att.filename}))
    return HTTPSeeOther(location=f"{_item_url(context)}#tab-attachments")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """RFC 6266 / RFC 5987: an ASCII fallback plus the exact UTF-8 name."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in filename) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _open(att: Attachment):
    try:
        return open(att.blob.committed(), "rb")  # noqa: SIM115 — closed by the FileIter
    except Exception:  # noqa: BLE001 — uncommitted blob (same transaction): read through ZODB
        return att.blob.open("r")


def _item_of(att: Attachment) -> Any:
    folder: Any = att.__parent__  # the item's "attachments" folder
    return folder.__parent__


@view_config(context=Attachment, name="download", permission="view", request_method=("GET", "HEAD"))
def download_view(context, request):
    item = _item_of(context)
    ident = request.identity
    record(find_site(context), "download", ident.username if ident else "", item.item_id,
           attachment=context.__name__, filename=context.filename, via="ui")
    response = Response(app_iter=FileIter(_open(context)), content_type=context.mimetype,
                        content_length=context.size, conditional_response=False)
    if context.mimetype.startswith("text/"):
        response.charset = "utf-8"
    response.headers["Content-Disposition"] = content_disposition(context.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@view_config(context=Attachment, name="thumbnail", permission="view", request_method="GET")
def thumbnail_view(context, request):
    """A small JPEG of a photo for the item page (never the original bytes).

    Decoded reduced (:func:`reduced_image`: a JPEG at 1/8, anything else once in
    its own mode).  Above ``duban.max_image_pixels`` — by the size recorded at
    upload or, failing that, the file's header — nothing is decoded, and an
    image that cannot be decoded fails quietly: both get :data:`PLACEHOLDER`.
    """
    if context.mimetype not in IMAGE_TYPES:
        raise HTTPNotFound()
    log_read(request, _item_of(context), via="thumbnail", attachment=context.__name__)
    max_pixels = int(request.registry.settings.get("duban.max_image_pixels", MAX_IMAGE_PIXELS))
    if (getattr(context, "width", None) or 0) * (getattr(context, "height", None) or 0) > max_pixels:
        return _placeholder()
    try:
        with _open(context) as f:
            img = reduced_image(f, THUMB_SIZE, max_pixels=max_pixels)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=82)
    except ImageTooLarge as exc:
        log.info("no thumbnail of %s: %s", context.__name__, exc)
        return _placeholder()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for a broken file; never a 500 here
        log.warning("no thumbnail of %s (%s): %s: %s", context.__name__, context.mimetype, type(exc).__name__, exc)
        return _placeholder()
    response = Response(body=out.getvalue(), content_type="image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def _placeholder() -> Response:
    response = Response(body=PLACEHOLDER, content_type="image/svg+xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["Cache-Control"] = "private, no-cache"  # a raised limit shows the photo at once
    return response
