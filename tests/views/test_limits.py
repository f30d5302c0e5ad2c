"""Bodies that will be refused are never read: too large, or sent without credentials."""

from __future__ import annotations

import io
import socket
import time

import pytest
from webob import Request

from duban_archive.testing import api


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        raise AssertionError("the body of a refused request was read")


def post_unread(app, path: str, length: int, headers: dict[str, str] | None = None):
    req = Request.blank(path, method="POST", environ={"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(length),
                                                     "REMOTE_ADDR": "127.0.0.1"},
                        headers={"Content-Type": "multipart/form-data; boundary=x", **(headers or {})})
    return req.get_response(app)


def test_anonymous_upload_is_refused_before_its_body_is_read(app, make_item):
    item_id = make_item()
    res = post_unread(app, f"/api/v1/items/{item_id}/attachments", 900 * 1024 * 1024 // 2)
    assert res.status_int == 401 and res.json["error"] == "unauthorized"
    res = post_unread(app, f"/boards/zdgz/{item_id}/@@upload", 2_000_000)
    assert res.status_int == 303 and "/login" in res.location  # the browser is sent to log in


def test_a_forged_token_counts_as_no_credentials(app, make_item):
    item_id = make_item()
    res = post_unread(app, f"/api/v1/items/{item_id}/attachments", 5_000_000,
                      {"Authorization": "Bearer aGFuZGxlcjowOjk5OTk5OTk5OTk.0000"})
    assert res.status_int == 401


def test_an_oversized_upload_is_refused_from_its_length_alone(app, testapp, make_item):
    item_id = make_item()
    token = api(testapp, "handler").headers["Authorization"]
    limit = int(app.registry.settings["duban.max_upload_bytes"])
    res = post_unread(app, f"/api/v1/items/{item_id}/attachments", limit + 2 * 1024 * 1024,
                      {"Authorization": token})
    assert res.status_int == 413 and res.json["error"] == "too_large" and "文件过大" in res.json["message"]


def test_login_endpoints_take_small_anonymous_bodies_only(app, testapp):
    res = post_unread(app, "/api/v1/auth/token", 1_000_000)
    assert res.status_int == 413
    # an ordinary login still works
    assert testapp.post_json("/api/v1/auth/token", {"username": "handler", "password": "duban-demo"}).json["token"]


def test_the_server_cuts_an_oversized_body_at_the_socket(live_server):
    """waitress answers 413 from the Content-Length header: nothing of the 900 MB is sent or stored."""
    server = live_server(storage="embedded", workers=False)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(b"POST /api/v1/boards/zdgz/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 943718400\r\n\r\n{")
        started = time.monotonic()
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 10


@pytest.mark.parametrize("length", [3_000_000])
def test_an_anonymous_body_below_the_limit_is_refused_without_a_copy(live_server, length):
    """Sent whole (waitress buffers it), refused by the app at once: 401, no temp copy by the retry layer."""
    server = live_server(storage="embedded", workers=False)
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
        s.sendall(b"POST /api/v1/boards/zdgz/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  + f"Content-Length: {length}\r\n\r\n".encode() + b" " * length)
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 401")
