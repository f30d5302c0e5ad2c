"""Security headers (issue 12): no framing, a same-origin content policy, no MIME sniffing."""

from __future__ import annotations

from duban_archive.testing import api, login

from .conftest import item_url, png_bytes


def csp(res) -> dict[str, str]:
    """The Content-Security-Policy as directive -> sources."""
    out = {}
    for part in res.headers["Content-Security-Policy"].split(";"):
        name, _, sources = part.strip().partition(" ")
        out[name] = sources
    return out


def assert_html_headers(res) -> None:
    assert res.content_type == "text/html"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["Referrer-Policy"] == "same-origin"
    policy = csp(res)
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "http" not in res.headers["Content-Security-Policy"]  # nothing from elsewhere


def test_html_pages_forbid_framing_and_sniffing(testapp, in_progress_item):
    assert_html_headers(testapp.get("/login"))
    assert_html_headers(testapp.get("/no-such-page", status=404))  # error pages too
    login(testapp, "supervisor")
    for url in ("/", "/boards/zdgz", item_url(in_progress_item), "/search?q=%E9%81%93%E8%B7%AF"):
        assert_html_headers(testapp.get(url))


def test_json_and_files_are_not_sniffed(testapp, in_progress_item):
    client = api(testapp, "handler")
    res = client.get("/api/v1/me")
    assert res.content_type == "application/json"
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in res.headers  # a JSON document is never framed as a page
    res = client.get("/api/v1/items", status=200)
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    err = testapp.get("/api/v1/items", status=401)
    assert err.headers["X-Content-Type-Options"] == "nosniff"

    att = client.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                        [("file", "x.png", png_bytes())]).json["id"]
    res = client.get(f"/api/v1/attachments/{att}/content")
    assert res.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"  # the view's own wins
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    static = testapp.get("/static/duban.js")
    assert static.headers["X-Content-Type-Options"] == "nosniff"
