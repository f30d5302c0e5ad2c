"""Rewrite the generated chapter of docs/api.md from the app's OpenAPI description.

    .venv/bin/python tools/api_docs.py          # rewrite docs/api.md
    .venv/bin/python tools/api_docs.py --check  # exit 1 when docs/api.md is stale

The app is built from testing.ini on a throwaway data directory (nothing of var/ is touched).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "api.md"


def current_spec() -> dict:
    os.environ["DUBAN_VAR_DIR"] = tempfile.mkdtemp(prefix="duban-api-docs-")
    import transaction
    from pyramid.paster import get_app
    from webtest import TestApp

    from duban_archive.content_types.site_access import open_site

    app = get_app(str(ROOT / "testing.ini"))
    with open_site(app.registry, create=True):
        transaction.commit()
    return TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543"}).get("/api/v1/openapi.json").json


def main() -> int:
    from duban_archive.views.api.reference import render_operations, replace_generated

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    old = DOC.read_text("utf-8")
    new = replace_generated(old, render_operations(current_spec()))
    if args.check:
        if new != old:
            print("docs/api.md is stale: run .venv/bin/python tools/api_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(new, "utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
