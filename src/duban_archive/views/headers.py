"""Security headers on every response the application renders (issue 12).

* HTML pages: ``X-Frame-Options: DENY`` and ``Content-Security-Policy`` with
  ``frame-ancestors 'none'`` (no clickjacking), ``default-src 'self'`` (scripts, styles,
  images and fetches only from this site: the UI serves Bootstrap, ECharts and deform from
  ``/static`` and ``/deform_static``, never a CDN).  ``'unsafe-inline'`` stays for scripts and
  styles: deform's widgets emit inline ``<script>`` blocks with per-field ids, the layout calls
  ``deform.load()`` inline and the templates use ``style=`` attributes; nonces would mean
  overriding deform's templates (a follow-up).  ``img-src`` allows ``data:`` (Bootstrap's
  icons in CSS) and ``blob:`` (the photo preview before an upload).
* Every response: ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``.

A header a view has set itself wins (attachment downloads send their own sandboxing
``Content-Security-Policy``).  Responses made outside Pyramid's router (waitress's own
errors) do not pass through here; the retry policy's last-resort 409 calls :func:`secure`.
"""

from __future__ import annotations

from pyramid.events import NewResponse

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HTML_TYPES = ("text/html", "application/xhtml+xml")
EVERY_RESPONSE = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
HTML_ONLY = {"X-Frame-Options": "DENY", "Content-Security-Policy": CSP}


def add_security_headers(event) -> None:
    secure(event.response)


def secure(response):
    """Add the headers to ``response`` (also used for responses made outside the router)."""
    headers = response.headers
    for name, value in EVERY_RESPONSE.items():
        if name not in headers:
            headers[name] = value
    if (response.content_type or "").lower() in HTML_TYPES:
        for name, value in HTML_ONLY.items():
            if name not in headers:
                headers[name] = value
    return response


def includeme(config) -> None:
    config.add_subscriber(add_security_headers, NewResponse)
