"""The documentation in the repository says what the app serves, and points nowhere outside it."""

from __future__ import annotations

import re
from pathlib import Path

from duban_archive.views.api.reference import BEGIN, END, render_operations, replace_generated

ROOT = Path(__file__).resolve().parents[1]


def test_docs_api_md_lists_exactly_what_openapi_json_describes(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    doc = (ROOT / "docs" / "api.md").read_text("utf-8")
    assert replace_generated(doc, render_operations(spec)) == doc, (
        "docs/api.md is stale: run .venv/bin/python tools/api_docs.py")
    headings = set(re.findall(r"^### `([A-Z]+) (\S+)`$", doc, re.M))
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert headings == served


def test_a_new_operation_makes_the_document_stale(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    doc = (ROOT / "docs" / "api.md").read_text("utf-8")
    spec["paths"]["/api/v1/__new__"] = {"get": {"summary": "新接口", "responses": {"200": {"description": "OK"}}}}
    assert replace_generated(doc, render_operations(spec)) != doc


def test_docs_do_not_send_readers_outside_the_repository():
    texts = [ROOT / "README.md", ROOT / "HACKING.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")]
    for path in texts:
        text = path.read_text("utf-8")
        assert "../shared" not in text and "shared/" not in text, path
        for link in re.findall(r"\]\(([^)#]+)\)", text):
            if "://" not in link:
                assert (path.parent / link).exists(), f"{path.name}: broken link {link}"
    assert BEGIN in (ROOT / "docs" / "api.md").read_text("utf-8")
    assert END in (ROOT / "docs" / "api.md").read_text("utf-8")
