"""The streaming parser behind a real server: concurrent uploads, Chinese names, refusals that keep nothing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import urllib.parse

from duban_archive.testing import http_call, run_threads

from ..storage.test_concurrent_uploads import download, item_in_progress

BOUNDARY = "live-b0undary"
CTYPE = f"multipart/form-data; boundary={BOUNDARY}"


def body(kind: str, disposition: str, data: bytes) -> bytes:
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"{disposition}\r\n'
            "Content-Type: application/pdf\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def count_attachments(server, token: str, item_id: str) -> int:
    status, item = http_call(server.base, token, "GET", f"/api/v1/items/{item_id}")
    assert status == 200, item
    return len(item["attachments"])


def test_concurrent_uploads_arrive_whole_with_their_digests_and_chinese_names(live_server):
    server = live_server(storage="embedded", workers=False)
    item = item_in_progress(server)
    token = server.token("handler")
    results: list[tuple[dict, bytes, str]] = []

    def client(n: int) -> None:
        for i in range(3):
            data = b"%PDF-1.4\n" + os.urandom(2_000_000 + 700_000 * n + i) + b"\n%%EOF\n"
            name = f"整改报告-{n}-{i}.pdf"
            if (n + i) % 2:  # RFC 5987, as some HTTP libraries send it
                disposition = f"; filename*=UTF-8''{urllib.parse.quote(name)}"
            else:  # raw UTF-8, as browsers send it
                disposition = f'; filename="{name}"'
            status, res = http_call(server.base, token, "POST", f"/api/v1/items/{item}/attachments",
                                    body("signed_report", disposition, data), CTYPE)
            assert status == 201, res
            results.append((res, data, name))

    assert run_threads(4, client) == []
    reader = server.token("handler2")
    for meta, data, name in results:
        assert meta["filename"] == name and meta["size"] == len(data)
        assert meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert meta["sm3"] == hashlib.new("sm3", data).hexdigest()
        status, got = download(server, reader, meta["url"])
        assert status == 200 and got == data
    assert count_attachments(server, token, item) == 12


def test_malformed_cut_or_oversized_bodies_keep_nothing(live_server):
    server = live_server(storage="embedded", workers=False, settings={"duban.max_upload_bytes": str(3 << 20)})
    item = item_in_progress(server)
    token = server.token("handler")
    url = f"/api/v1/items/{item}/attachments"
    data = b"%PDF-1.4\n" + os.urandom(1_500_000)

    status, res = http_call(server.base, token, "POST", url, body("other", '; filename="a.pdf"', data)[:-20], CTYPE)
    assert status == 400 and "格式有误" in res["message"], res
    status, res = http_call(server.base, token, "POST", url,
                            body("other", '; filename="a.pdf"', data + os.urandom(2 << 20)), CTYPE)
    assert status == 413 and res["message"] == "文件过大：上限为 3.0 MB", res

    # the client goes away in the middle of the file: the server never hands the app half a body
    raw = body("other", '; filename="a.pdf"', data)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"POST {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                  f"Content-Type: {CTYPE}\r\nContent-Length: {len(raw)}\r\n\r\n".encode() + raw[: len(raw) // 2])
    assert count_attachments(server, token, item) == 0

    status, res = http_call(server.base, token, "POST", url, body("other", '; filename="好.pdf"', data), CTYPE)
    assert status == 201 and res["filename"] == "好.pdf", json.dumps(res, ensure_ascii=False)
    assert count_attachments(server, token, item) == 1
    assert not list((server.var / "blobs").rglob("BUC*"))  # no uncommitted blob file left behind
