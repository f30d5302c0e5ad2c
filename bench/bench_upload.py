"""Upload benchmark: a large multipart upload through a real waitress server (pserve in a subprocess).

    .venv/bin/python bench/bench_upload.py              # 200 MB, as the issue names
    .venv/bin/python bench/bench_upload.py --mb 50 --runs 3

The request body is streamed from a generator (never built in memory on the
client); the server's RSS is sampled from /proc/<pid>/status while it works.
Target (issue 2, point 10): the server's peak RSS rises by <= 30 MB.
Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INI = str(ROOT / "testing.ini")
BOUNDARY = "----duban-bench-boundary-7d1f"


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    res = conn.getresponse()
    return res.status, json.loads(res.read() or b"{}")


def upload(port: int, token: str, item_id: str, size: int) -> tuple[int, dict, float, str]:
    """POST a ``size``-byte PDF-looking file, body streamed from a generator."""
    block = os.urandom(1 << 20)
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    sha = hashlib.sha256()

    def body():
        yield head
        sent, first = 0, b"%PDF-1.4\n"
        sha.update(first)
        yield first
        sent = len(first)
        while sent < size:
            chunk = block[: min(len(block), size - sent)]
            sha.update(chunk)
            sent += len(chunk)
            yield chunk
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", f"/api/v1/items/{item_id}/attachments")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    t = time.perf_counter()
    for part in body():
        conn.send(part)
    res = conn.getresponse()
    payload = json.loads(res.read() or b"{}")
    return res.status, payload, time.perf_counter() - t, sha.hexdigest()


def download(port: int, token: str, url_path: str) -> tuple[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    conn.request("GET", url_path, headers={"Authorization": f"Bearer {token}"})
    res = conn.getresponse()
    sha = hashlib.sha256()
    while chunk := res.read(1 << 16):
        sha.update(chunk)
    return sha.hexdigest(), time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="upload size in MB (issue: 200)")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024

    with tempfile.TemporaryDirectory(prefix="bench_upload_") as tmp:
        env = {**os.environ, "DUBAN_VAR_DIR": str(Path(tmp) / "var")}
        subprocess.run([str(BIN / "duban-archive"), "init", INI, "--demo"], env=env, check=True,
                       capture_output=True)
        port = free_port()
        log = open(Path(tmp) / "server.log", "wb")
        server = subprocess.Popen([str(BIN / "pserve"), INI, f"http_port={port}"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    request(port, "GET", "/api/v1/openapi.json")
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        sys.exit((Path(tmp) / "server.log").read_text())
                    time.sleep(0.3)
            _, tok = request(port, "POST", "/api/v1/auth/token", {"username": "supervisor", "password": "duban-demo"})
            token = tok["token"]
            auth = {"Authorization": f"Bearer {token}"}
            status, created = request(port, "POST", "/api/v1/boards/zdgz/items", {
                "title": "上传基准", "source": "基准", "content": "大文件上传", "requirement": "无",
                "lead_unit": "zjj"}, auth)
            assert status == 201, created
            # warm up the upload path once with a small file, then measure
            upload(port, token, created["id"], 100_000)
            rises, seconds = [], []
            for run in range(args.runs):
                baseline = rss_kb(server.pid)
                sampler = Sampler(server.pid)
                sampler.start()
                status, meta, secs, sha = upload(port, token, created["id"], size)
                sampler.stop.set()
                sampler.join()
                assert status == 201, meta
                assert meta["sha256"] == sha and meta["size"] == size, meta
                before_dl = rss_kb(server.pid)
                dl_sampler = Sampler(server.pid)
                dl_sampler.start()
                got, dsecs = download(port, token, f"/api/v1/attachments/{meta['id']}/content")
                dl_sampler.stop.set()
                dl_sampler.join()
                assert got == sha, "download differs from upload"
                rise = (sampler.peak - baseline) / 1024
                rises.append(rise)
                seconds.append(secs)
                print(f"run {run + 1}: {args.mb} MB upload in {secs:.1f} s ({args.mb / secs:.0f} MB/s), "
                      f"server RSS {baseline / 1024:.0f} -> peak {sampler.peak / 1024:.0f} MB (+{rise:.1f} MB); "
                      f"download {dsecs:.1f} s, bytes identical, RSS {before_dl / 1024:.0f} -> peak "
                      f"{dl_sampler.peak / 1024:.0f} MB (+{(dl_sampler.peak - before_dl) / 1024:.1f} MB)")
            print(f"server peak RSS rise: median {statistics.median(rises):.1f} MB, max {max(rises):.1f} MB "
                  f"(target <= 30 MB); upload time median {statistics.median(seconds):.1f} s, "
                  f"p95 {max(seconds):.1f} s; server VmHWM {rss_kb(server.pid, 'VmHWM') / 1024:.0f} MB; "
                  f"client peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    main()
