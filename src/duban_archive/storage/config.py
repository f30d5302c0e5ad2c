"""Choosing and describing the storage for a data directory (see the package docstring)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import zeo
from .filestorage import filestorage_section

log = logging.getLogger(__name__)

#: ZODB's object cache per connection (objects, not bytes)
CACHE_SIZE = 20000

MODES = ("embedded", "zeo")


def write_embedded_conf(var: Path) -> Path:
    path = var / "zodb.conf"
    text = ("# written at start-up by duban_archive.storage.config; edits are overwritten\n"
            f"<zodb main>\n  cache-size {CACHE_SIZE}\n{filestorage_section(var)}</zodb>\n")
    if not path.exists() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")
    return path


def embedded_uri(var: Path) -> str:
    return f"zconfig://{quote(str(write_embedded_conf(var)))}#main"


def zeo_client_uri(var: Path) -> str:
    return (f"zeo://{quote(str(zeo.socket_path(var)))}?blob_dir={quote(str(var / 'blobs'))}"
            f"&shared_blob_dir=true&connection_cache_size={CACHE_SIZE}&wait_timeout=60")


def database_uri(settings: dict[str, Any], var: Path, command: bool) -> str:
    """The ``zodbconn.uri`` for ``var`` when the ini names none.

    A live ZEO server on ``var/zeo.sock`` always wins, so commands and second
    instances join the running site.  Otherwise ``duban.storage = zeo`` makes
    a *server* process (never a command) start one; everything else opens the
    FileStorage directly.
    """
    mode = str(settings.get("duban.storage") or "embedded").strip()
    if mode not in MODES:
        raise ValueError(f"duban.storage = {mode!r}: 只能是 {' / '.join(MODES)}")
    if zeo.server_alive(var):
        return zeo_client_uri(var)
    if mode == "zeo" and not command:
        zeo.start_server(var)
        return zeo_client_uri(var)
    return embedded_uri(var)
