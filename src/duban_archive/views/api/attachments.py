"""Attachments: multipart upload into a ZODB blob, streamed download of the exact bytes.

The body is refused by its declared length before it is parsed (413,
``views.limits``), then parsed once by ``views.multipart``: the file part is
spooled while SHA-256 and SM3 are taken, and ``content_types.attachment.capture``
links the spooled file into the blob without reading it again.  Downloads
stream the committed blob file; nothing is read whole into memory either way.
"""

from __future__ import annotations

from urllib.parse import quote

from pyramid.response import FileResponse
from pyramid.view import view_config

from ...audit.log import record
from ...audit.reads import log_read
from ...content_types.actions import add_attachment
from ...content_types.attachment import ACCEPTED, KINDS, _human
from ...content_types.site_access import get_site
from ...settings import DEFAULTS
from .errors import ApiError
from .openapi import document
from .schemas import array_of, ref
from .serialize import attachment_json
from .util import actor, get_item, require

#: multipart boundaries and part headers on top of the file itself
MULTIPART_SLACK = 64 * 1024
UPLOAD_FIELDS = ("file", "kind", "title")

document("api.item.attachments", "POST", "上传附件（multipart：file、kind、title?；返回 201 与 SHA-256/SM3 摘要）",
         request={"multipart": True, **ref("AttachmentUpload")}, response=ref("Attachment"), status=201,
         errors=(400, 401, 403, 404, 413, 415),
         params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])


def upload_limits(settings) -> tuple[int, int]:
    """(max bytes, max image pixels) from the ini, read per request so tests can lower them."""
    return (int(settings.get("duban.max_upload_bytes") or DEFAULTS["duban.max_upload_bytes"]),
            int(settings.get("duban.max_image_pixels") or DEFAULTS["duban.max_image_pixels"]))


@view_config(route_name="api.item.attachments", request_method="POST", renderer="json")
def upload_view(request):
    site, item = get_item(request, "add_attachment")
    max_bytes, max_pixels = upload_limits(request.registry.settings)
    length = request.content_length
    if length is not None and length > max_bytes + MULTIPART_SLACK:
        raise ApiError(413, f"文件过大：上限为 {_human(max_bytes)}", {"file": f"文件过大：上限为 {_human(max_bytes)}"})
    if not (request.content_type or "").startswith("multipart/form-data"):
        raise ApiError(400, "请以 multipart/form-data 上传", {"file": "请以 multipart/form-data 上传文件"})
    post = request.POST
    fields: dict[str, str] = {k: "不允许的字段（未知字段）" for k in post if k not in UPLOAD_FIELDS}
    upload = post.get("file")
    if upload is None or not hasattr(upload, "file"):
        fields["file"] = "请选择要上传的文件"
    kind = post.get("kind", "")
    if kind not in KINDS:
        fields["kind"] = "附件类别应为 photo（照片）、signed_report（盖章扫描件）或 other（其他）"
    title = post.get("title", "")
    if not isinstance(title, str) or len(title) > 200:
        fields["title"] = "不能超过 200 个字符"
    if fields:
        raise ApiError(400, "上传内容有误", fields)
    att = add_attachment(site, item, upload.file, upload.filename or "", kind, title,
                         request.authenticated_userid, max_bytes=max_bytes, max_pixels=max_pixels,
                         registry=request.registry)
    request.response.status_int = 201
    url = request.route_url("api.attachment.content", id=att.__name__)
    request.response.headers["Location"] = url
    return attachment_json(request, att)


document("api.item.attachments", "GET", "事项的附件列表（元数据：文件名、类别、类型、大小、SHA-256/SM3 摘要）",
         response=array_of("Attachment"),
         params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}])


@view_config(route_name="api.item.attachments", request_method="GET", renderer="json")
def attachment_list_view(request):
    _, item = get_item(request)
    log_read(request, item, via="api.attachments")
    return [attachment_json(request, a) for a in item.attachments.values()]


document("api.attachment.content", "GET", "下载附件原件（逐字节一致；每次下载记入审计）",
         response={"type": "string", "format": "binary"}, content_type="application/octet-stream",
         more_content={mimetype: {"type": "string", "format": "binary"} for mimetype in ACCEPTED},
         params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                 {"name": "inline", "in": "query", "required": False, "schema": {"type": "boolean"},
                  "description": "图片/PDF 在浏览器中直接显示"}])

INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"}


@view_config(route_name="api.attachment.content", request_method="GET")
def content_view(request):
    username = actor(request)
    site = get_site(request)
    att = site.attachment_index.get(request.matchdict["id"])
    if att is None:
        raise ApiError(404, "附件不存在")
    item = att.__parent__.__parent__
    require(request, "view", item)
    record(site, "download", username, item.item_id, attachment=att.__name__, filename=att.filename,
           sha256=att.sha256, via="api")
    # the committed blob file outlives this request's connection: hand it to the server's
    # wsgi.file_wrapper (waitress sends it straight from the file, nothing buffered in memory)
    response = FileResponse(att.blob.committed(), request=request, content_type=att.mimetype)
    if att.mimetype.startswith("text/"):
        response.charset = "utf-8"
    inline = request.GET.get("inline") in ("1", "true") and att.mimetype in INLINE_TYPES
    response.headers["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(att.filename)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Checksum-SHA256"] = att.sha256
    response.headers["X-Checksum-SM3"] = att.sm3
    return response
