"""The ``[server:main]`` runner: waitress on ``http_port`` (API.md "running a second instance").

PasteDeploy lets an ini's ``[DEFAULT]`` section override the variables given
on the command line, so ``listen = 127.0.0.1:%(http_port)s`` with a
``[DEFAULT] http_port = 6543`` would ignore ``pserve INI http_port=N``.  This
runner reads ``http_port`` from the command-line variables itself and falls
back to 6543, so the ini needs no ``[DEFAULT]`` for it.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

DEFAULT_PORT = "6543"


def serve_paste(wsgi_app, global_conf, **kw):
    """``paste.server_runner``: ``host`` (default 127.0.0.1), port from ``http_port``, waitress options."""
    import waitress

    if "listen" not in kw:
        port = kw.pop("port", None) or global_conf.get("http_port") or os.environ.get("DUBAN_HTTP_PORT") \
            or DEFAULT_PORT
        kw["listen"] = f"{kw.pop('host', '127.0.0.1')}:{port}"
    kw["max_request_body_size"] = body_size(wsgi_app, kw.get("max_request_body_size"))
    return waitress.serve_paste(wsgi_app, global_conf, **kw)


def body_size(wsgi_app, configured) -> int:
    """waitress's ``max_request_body_size``: the app's body limit unless the ini says otherwise.

    waitress buffers a whole body before calling the app, so this is where an
    oversized upload is cut — at the socket, before it fills the temp disk.
    """
    from ..settings import body_limit

    settings = getattr(getattr(wsgi_app, "registry", None), "settings", None) or {}
    limit = body_limit(settings)
    if configured is None:
        return limit
    configured = int(configured)
    if configured < limit:
        log.warning("max_request_body_size = %d is below the upload limit (%d): larger uploads are cut by "
                    "the server", configured, limit)
    return configured
