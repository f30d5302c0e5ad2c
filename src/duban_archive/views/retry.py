"""Retrying requests on ZODB conflicts, safely.

ZODB conflicts are normal when several people work at once; pyramid_retry
runs the losing request again.  Three things make that safe here:

* **The body is read once.** pyramid_retry needs a seekable body to run a
  request again; waitress already hands the app one (its own buffer file,
  holding exactly the body, at its start), so :func:`seekable_body` marks it
  seekable and pyramid_retry does not copy it (200 MB less to write per
  upload).  Any other ``wsgi.input`` is still spooled by pyramid_retry.
  Before each retry WebOb's cached form (``webob._parsed_post_vars``) is
  dropped and the body rewound.  A multipart body was parsed once by
  ``views.multipart`` (files spooled and digested): its parse stays in the
  environ for every attempt, each retry gets it again with its files rewound
  (an upload never arrives "empty" on a retry), and the spooled files are
  removed after the last attempt.
* **Back-off.** A short random sleep, doubling per attempt, lets the writer
  that won finish instead of colliding again at once.
* **No 500.** When every attempt conflicted, the client gets a JSON 409
  (``{"error": "conflict", "message": "…请重试"}``; an HTML page for the
  browser UI) instead of waitress's plain-text 500.  Nothing was written.
"""

from __future__ import annotations

import json
import logging
import random
import time

from pyramid_retry import IBeforeRetry, RetryableExecutionPolicy
from transaction.interfaces import TransientError
from webob import Response

log = logging.getLogger(__name__)

#: first back-off ceiling in seconds; doubles per attempt (random in [0, ceiling])
BACKOFF = 0.02

CONFLICT_MESSAGE = "数据正被他人同时修改，本次操作未保存，请重试"


def describe(exc: BaseException) -> str:
    """Which object conflicted (ZODB's ConflictError knows its oid and class)."""
    oid = getattr(exc, "oid", None)
    name = getattr(exc, "class_name", None) or type(exc).__name__
    return f"{name} oid={oid.hex() if isinstance(oid, bytes) else oid}"


def rewind_body(event) -> None:
    """``BeforeRetry`` subscriber: the next attempt reads the request body from its start.

    (A multipart form's parse is kept in the environ: ``views.multipart``
    hands the next attempt the same fields with their files rewound.)
    """
    environ = event.environ
    log.info("retrying %s %s after %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
             describe(event.exception))
    environ.pop("webob._parsed_post_vars", None)
    environ.pop("webob._parsed_query_vars", None)
    body = environ.get("wsgi.input")
    if body is not None and environ.get("webob.is_body_seekable"):
        body.seek(0)
    attempt = int(environ.get("retry.attempt", 0))
    time.sleep(random.uniform(0, BACKOFF * (2 ** attempt)))


def conflict_response(environ) -> Response:
    path = environ.get("PATH_INFO", "")
    accept = environ.get("HTTP_ACCEPT", "")
    if path.startswith("/api/") or "text/html" not in accept:
        body = json.dumps({"error": "conflict", "message": CONFLICT_MESSAGE, "fields": {}}, ensure_ascii=False)
        response = Response(body=body.encode("utf-8"), status=409, content_type="application/json",
                            charset="utf-8")
    else:
        page = ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>请重试</title></head>"
                f"<body><h1>请重试</h1><p>{CONFLICT_MESSAGE}。</p>"
                "<p><a href=\"javascript:history.back()\">返回上一页</a></p></body></html>")
        response = Response(body=page.encode("utf-8"), status=409, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = "1"
    from .headers import secure

    return secure(response)


def seekable_body(environ) -> None:
    """Mark ``wsgi.input`` seekable when it is a file holding exactly the body, read from its start.

    Then pyramid_retry's ``make_body_seekable`` only rewinds it instead of
    copying it to a temp file (waitress's buffer is such a file; so is
    WebTest's).  A socket stream, or a file with anything around the body,
    is left as it is and copied as before.
    """
    body = environ.get("wsgi.input")
    if body is None or environ.get("webob.is_body_seekable"):
        return
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
        if length < 0 or not body.seekable() or body.tell() != 0:
            return
        size = body.seek(0, 2)
        body.seek(0)
    except (AttributeError, OSError, ValueError):
        return
    if size == length:
        environ["webob.is_body_seekable"] = True


def execution_policy(attempts: int):
    """pyramid_retry's policy, with a 409 instead of a raised conflict after the last attempt.

    A body that ``views.limits`` will refuse unread gets a single attempt, so
    pyramid_retry does not spool a copy of it first.  After the last attempt
    the files of a parsed multipart body are removed.
    """
    from .limits import retry_attempts
    from .multipart import discard

    retrying = RetryableExecutionPolicy(attempts, activate_hook=retry_attempts)

    def policy(environ, router):
        seekable_body(environ)
        try:
            return retrying(environ, router)
        except TransientError as exc:
            log.warning("conflict after %d attempts: %s %s (%s)", attempts, environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), describe(exc))
            return conflict_response(environ)
        finally:
            discard(environ)

    return policy


def includeme(config) -> None:
    """Replaces ``config.include("pyramid_retry")``: its predicates, our policy."""
    from pyramid.config import PHASE1_CONFIG

    config.include("pyramid_retry")
    config.add_subscriber(rewind_body, IBeforeRetry)
    settings = config.get_settings()

    def register() -> None:  # after pyramid_retry's own registration, so ours wins
        config.set_execution_policy(execution_policy(int(settings.get("retry.attempts") or 5)))

    config.action(None, register, order=PHASE1_CONFIG + 1)
