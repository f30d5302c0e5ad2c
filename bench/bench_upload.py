"""Upload benchmark: a large multipart upload through a real waitress server (pserve in a subprocess).

    .venv/bin/python bench/bench_upload.py                  # 200 MB x 5, as issue 16 names
    .venv/bin/python bench/bench_upload.py --mb 50 --runs 3
    .venv/bin/python bench/bench_upload.py --indexing inline  # text extraction inside the request
    .venv/bin/python bench/bench_upload.py --stages           # what each stage costs, in this process

The request body is streamed from a generator (never built in memory on the
client); the server's RSS is sampled from /proc/<pid>/status while it works.
Each run checks the answer (201, size, SHA-256 and SM3 as the client computed
them) and downloads the file again to compare it byte for byte.

Indexing: with ``--indexing queued`` (the default) the server runs with
``duban.external_indexer = true``, as production does on ZEO/RelStorage: the
upload request only queues the item and a separate indexer process (not
started here) extracts the text, so the figure is the upload path itself.
``--indexing inline`` keeps testing.ini's ``duban.run_workers = false``, where
the text of the 200 MB PDF is extracted (pdftotext, pdfinfo, pdftoppm) after
the commit inside the request — which then takes several seconds more.

Targets (issue 16): median >= 100 MB/s for 200 MB; the server's peak RSS
rises by <= 30 MB.  Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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


def request(port: int, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
    res = conn.getresponse()
    return res.status, json.loads(res.read() or b"{}")


def sm3_hasher():
    try:
        return hashlib.new("sm3")
    except ValueError:  # no SM3 in this OpenSSL: skip the client-side check
        return None


def upload(port: int, token: str, item_id: str, size: int) -> tuple[int, dict, float, str, str | None]:
    """POST a ``size``-byte PDF-looking file, body streamed from a generator.

    Returns (status, answer, seconds, sha256, sm3) — the time runs from the
    first byte sent to the answer read.
    """
    block = os.urandom(1 << 20)
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    # the digests of what is sent, taken before the clock starts (the client's own hashing is not the server's time)
    sha, sm3 = hashlib.sha256(), sm3_hasher()
    first = b"%PDF-1.4\n"
    chunks = [first]
    sent = len(first)
    while sent < size:
        n = min(len(block), size - sent)
        chunks.append(block if n == len(block) else block[:n])
        sent += n
    for piece in chunks:
        sha.update(piece)
        if sm3 is not None:
            sm3.update(piece)

    def body():
        yield head
        yield from chunks
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
    return res.status, payload, time.perf_counter() - t, sha.hexdigest(), sm3.hexdigest() if sm3 else None


def download(port: int, token: str, url_path: str) -> tuple[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t = time.perf_counter()
    conn.request("GET", url_path, headers={"Authorization": f"Bearer {token}"})
    res = conn.getresponse()
    sha = hashlib.sha256()
    while chunk := res.read(1 << 16):
        sha.update(chunk)
    return sha.hexdigest(), time.perf_counter() - t


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with few runs, p95 is the slowest)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))]


def serve(args, tmp: Path):
    from duban_archive.testing import LiveServer

    settings = {"duban.external_indexer": "true"} if args.indexing == "queued" else {}
    server = LiveServer(tmp, storage=args.storage, workers=False, settings=settings)
    return server.start()


def main_server(args) -> None:
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench_upload_") as tmp:
        server = serve(args, Path(tmp))
        try:
            port, pid = server.port, server.proc.pid
            token = server.token("supervisor")
            auth = {"Authorization": f"Bearer {token}"}
            status, created = request(port, "POST", "/api/v1/boards/zdgz/items", {
                "title": "上传基准", "source": "基准", "content": "大文件上传", "requirement": "无",
                "lead_unit": "zjj"}, auth)
            assert status == 201, created
            print(f"{args.mb} MB uploads, storage {args.storage}, indexing {args.indexing}, "
                  f"python {sys.version.split()[0]}", flush=True)
            # warm up the upload path once with a small file, then measure
            upload(port, token, created["id"], 100_000)
            rises, seconds = [], []
            for run in range(args.runs):
                baseline = rss_kb(pid)
                sampler = Sampler(pid)
                sampler.start()
                status, meta, secs, sha, sm3 = upload(port, token, created["id"], size)
                sampler.stop.set()
                sampler.join()
                assert status == 201, meta
                assert meta["sha256"] == sha and meta["size"] == size, meta
                assert sm3 is None or meta["sm3"] == sm3, meta
                before_dl = rss_kb(pid)
                dl_sampler = Sampler(pid)
                dl_sampler.start()
                got, dsecs = download(port, token, f"/api/v1/attachments/{meta['id']}/content")
                dl_sampler.stop.set()
                dl_sampler.join()
                assert got == sha, "download differs from upload"
                rise = (sampler.peak - baseline) / 1024
                rises.append(rise)
                seconds.append(secs)
                print(f"run {run + 1}: {args.mb} MB upload in {secs:.2f} s ({args.mb / secs:.0f} MB/s), "
                      f"server RSS {baseline / 1024:.0f} -> peak {sampler.peak / 1024:.0f} MB (+{rise:.1f} MB); "
                      f"download {dsecs:.1f} s, bytes identical, RSS {before_dl / 1024:.0f} -> peak "
                      f"{dl_sampler.peak / 1024:.0f} MB (+{(dl_sampler.peak - before_dl) / 1024:.1f} MB)",
                      flush=True)
            median, p95 = statistics.median(seconds), percentile(seconds, 0.95)
            print(f"upload time: median {median:.2f} s ({args.mb / median:.0f} MB/s), p95 {p95:.2f} s "
                  f"({args.mb / p95:.0f} MB/s) — target >= 100 MB/s")
            print(f"server peak RSS rise: median {statistics.median(rises):.1f} MB, max {max(rises):.1f} MB "
                  f"(target <= 30 MB); server VmHWM {rss_kb(pid, 'VmHWM') / 1024:.0f} MB; "
                  f"client peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        finally:
            server.stop()


# -- stages: what each step costs on this machine, in this process ------------------------------------
def rate(mb: float, secs: float) -> str:
    return f"{mb / secs:7.0f} MB/s ({secs:.2f} s)" if mb / secs >= 10 else f"{mb / secs:7.2f} MB/s ({secs:.2f} s)"


def main_stages(args) -> None:
    from duban_archive.content_types.attachment import Digester, _GmsslSM3
    from duban_archive.views import multipart as mpart

    size = args.mb * 1024 * 1024
    block = os.urandom(1 << 20)
    print(f"stages for {args.mb} MB, python {sys.version.split()[0]}:")
    for name in ("sha256", "sm3"):
        h = hashlib.new(name)
        t = time.perf_counter()
        for _ in range(args.mb):
            h.update(block)
        print(f"  {name + ' (OpenSSL)':34} {rate(args.mb, time.perf_counter() - t)}")
    g = _GmsslSM3()
    t = time.perf_counter()
    g.update(block[: 256 * 1024])
    print(f"  {'sm3 (gmssl, pure Python fallback)':34} {rate(0.25, time.perf_counter() - t)}")
    for threaded in (False, True):
        d = Digester(threaded=threaded)
        t = time.perf_counter()
        for _ in range(args.mb):
            d.update(block)
        d.finish()
        label = "sha256+sm3, " + ("SM3 in a thread" if threaded else "one thread")
        print(f"  {label:34} {rate(args.mb, time.perf_counter() - t)}")
    with tempfile.TemporaryDirectory(prefix="bench_stages_") as tmp:
        path = Path(tmp) / "body"
        head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nother\r\n"
                f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
                "Content-Type: application/pdf\r\n\r\n").encode()
        tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        t = time.perf_counter()
        with open(path, "wb") as f:
            f.write(head)
            for _ in range(args.mb):
                f.write(block)
            f.write(tail)
        print(f"  {'write the body to a file':34} {rate(args.mb, time.perf_counter() - t)}")
        length = path.stat().st_size
        ctype = f"multipart/form-data; boundary={BOUNDARY}"
        with open(path, "rb") as f:
            t = time.perf_counter()
            while f.read(1 << 19):
                pass
            print(f"  {'read it back (page cache)':34} {rate(args.mb, time.perf_counter() - t)}")
        import multipart as mp

        with open(path, "rb") as f:
            parser = mp.PushMultipartParser(BOUNDARY, content_length=length)
            t = time.perf_counter()
            for _ in parser.parse_blocking(f.read, 1 << 19):
                pass
            print(f"  {'multipart push parser, events only':34} {rate(args.mb, time.perf_counter() - t)}")
        threshold = Digester.THREAD_AFTER
        Digester.THREAD_AFTER = 1 << 62
        with open(path, "rb") as f:
            t = time.perf_counter()
            mpart.parse(f, ctype, length, max_file=size * 2, max_body=size * 2).close()
            print(f"  {'views.multipart.parse, SM3 inline':34} {rate(args.mb, time.perf_counter() - t)}")
        Digester.THREAD_AFTER = threshold
        with open(path, "rb") as f:
            t = time.perf_counter()
            form = mpart.parse(f, ctype, length, max_file=size * 2, max_body=size * 2)
            print(f"  {'views.multipart.parse (as served)':34} {rate(args.mb, time.perf_counter() - t)}")
        upload = form.files[0]
        from ZODB.blob import Blob

        blob = Blob()
        t = time.perf_counter()
        with blob.open("w") as out:
            import shutil

            shutil.copyfileobj(upload.file, out, 1 << 20)
        print(f"  {'copy the spooled file into a blob':34} {rate(args.mb, time.perf_counter() - t)}")
        upload.file.seek(0)
        from duban_archive.content_types.attachment import _store

        blob = Blob()
        t = time.perf_counter()
        _store(upload.file, blob)
        print(f"  {'link the spooled file into a blob':34} {rate(args.mb, time.perf_counter() - t)}")
        form.close()
        try:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                import cgi
        except ImportError:
            print("  cgi.FieldStorage: not in this Python (removed in 3.13)")
        else:
            with open(path, "rb") as f:
                t = time.perf_counter()
                fs = cgi.FieldStorage(fp=f, environ={"REQUEST_METHOD": "POST", "CONTENT_TYPE": ctype,
                                                     "CONTENT_LENGTH": str(length)}, keep_blank_values=True)
                fs["file"].file.seek(0)
                print(f"  {'cgi.FieldStorage (before issue 16)':34} {rate(args.mb, time.perf_counter() - t)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="upload size in MB (issue: 200)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--storage", choices=("embedded", "zeo"), default="embedded")
    parser.add_argument("--indexing", choices=("queued", "inline"), default="queued",
                        help="queued: external indexer (production on ZEO); inline: text extracted in the request")
    parser.add_argument("--stages", action="store_true", help="time each stage in this process instead")
    args = parser.parse_args()
    if args.stages:
        main_stages(args)
    else:
        main_server(args)


if __name__ == "__main__":
    main()
