"""Refuse oversized HTML form posts by Content-Length, before the form is parsed.

Pyramid's CSRF check parses ``request.POST`` before any view runs, so the
limit applies earlier, in a tween: the body is never parsed into a form nor
copied into a blob.  (pyramid_retry has already spooled the body to a temp
file by then, and waitress buffers it before calling the app: cap
``max_request_body_size`` in the server section to stop it at the socket.)
The JSON API (``/api/``) answers its own 413.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPRequestEntityTooLarge

#: room for the multipart envelope and the small fields around the file
FORM_OVERHEAD = 1 << 20


def body_limit_tween_factory(handler, registry):
    settings = registry.settings

    def body_limit_tween(request):
        limit = int(settings.get("duban.max_upload_bytes", 500 * 1024 * 1024)) + FORM_OVERHEAD
        length = request.content_length
        if length and length > limit and not request.path_info.startswith("/api/"):
            from .attachments import too_large_message

            exc = HTTPRequestEntityTooLarge(too_large_message(request))
            try:
                return request.invoke_exception_view((type(exc), exc, None))
            except Exception:  # noqa: BLE001 — no page template: the bare 413 still says why
                return exc
        return handler(request)

    return body_limit_tween
