"""Settings: the data directory, the ZODB URI and sensible defaults.

The data directory (Data.fs, blobs, index, logs, text-extraction cache) is ``var/``
beside the ini file, or ``$DUBAN_VAR_DIR`` when set, so several instances can
run side by side (API.md "running a second instance").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULTS = {
    "pyramid.default_locale_name": "zh_Hans",
    "tm.manager_hook": "pyramid_tm.explicit_manager",
    "tm.annotate_user": "false",
    "retry.attempts": "5",
    "duban.max_upload_bytes": str(500 * 1024 * 1024),
    "duban.max_image_pixels": str(50_000_000),
    # Office / OFD (zip) files: bytes inflated for their text, compression ratio, members (content_types/attachment.py)
    "duban.max_extract_bytes": str(50 * 1024 * 1024),
    "duban.max_zip_ratio": "200",
    "duban.max_zip_members": "10000",
    "duban.token_lifetime": str(8 * 3600),
    "duban.auto_init": "false",
    "duban.argon2_time_cost": "",
    "duban.argon2_memory_cost": "",
    "duban.run_workers": "false",
    "duban.storage": "embedded",
    "duban.ballast_mb": "32",
}


def var_dir(global_config: dict[str, Any], settings: dict[str, Any]) -> Path:
    explicit = os.environ.get("DUBAN_VAR_DIR") or settings.get("duban.var_dir")
    if explicit:
        path = Path(explicit)
    else:
        here = global_config.get("here") or settings.get("here") or os.getcwd()
        path = Path(here) / "var"
    return path.resolve()


def prepare_settings(global_config: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    settings = {**DEFAULTS, **settings}
    # a command (``duban-archive …``) joins a running site; it never starts workers or a server
    command = asbool(global_config.get("duban_command", "false"))
    if command:
        settings["duban.run_workers"] = "false"
    var = var_dir(global_config, settings)
    from .vardir import prepare

    # umask 077, sub-directories (one clear line when var/ is not writable), no group/other access
    prepare(var, ("blobs", "index", "log", "cache"))
    os.chmod(var / "blobs", 0o700)  # ZODB refuses world-readable blob dirs
    settings["duban.var_dir"] = str(var)
    if not settings.get("zodbconn.uri"):
        from .storage.config import database_uri

        settings["zodbconn.uri"] = database_uri(settings, var, command)
    if not settings.get("duban.secret"):
        settings["duban.secret"] = _instance_secret(var)
    if settings["duban.argon2_time_cost"]:
        from .security.users import configure_hasher

        configure_hasher(int(settings["duban.argon2_time_cost"]),
                         int(settings["duban.argon2_memory_cost"] or 65536))
    return settings


def _instance_secret(var: Path) -> str:
    """A per-instance secret kept in var/ so a fresh clone needs no editing."""
    path = var / "secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def asbool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


#: room for the multipart envelope and the small fields around the file
FORM_OVERHEAD = 1 << 20


def body_limit(settings) -> int:
    """The largest request body the app accepts: the upload limit plus the envelope.

    Here, not in ``views/limits.py`` (which refuses bodies over it), because the server runner
    (``scripts/serve.py``) sizes waitress's buffer from it and must not import the views.
    """
    return int(settings.get("duban.max_upload_bytes") or 500 * 1024 * 1024) + FORM_OVERHEAD
