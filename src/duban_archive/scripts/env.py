"""Loading an ini file into a ready application registry for commands."""

from __future__ import annotations

import logging
import os

from pyramid.paster import get_app, setup_logging


def load_registry(ini: str):
    """Build the app from ``ini`` and return its registry (no server started)."""
    if not os.path.exists(ini):
        raise LookupError(f"找不到配置文件 {ini}")
    setup_logging(ini)
    # a command joining the site's ZEO server: its connection chatter is not the admin's business
    logging.getLogger("ZEO").setLevel(logging.WARNING)
    app = get_app(ini, options={"duban_command": "true"})
    return app.registry
