"""Stress: N concurrent API clients doing mixed writes against a real server, then verify nothing acknowledged is lost.

    .venv/bin/python bench/stress_concurrency.py                        # 3 clients x 30 s, zeo layout
    .venv/bin/python bench/stress_concurrency.py --clients 6 --seconds 60 --layout embedded
    .venv/bin/python bench/stress_concurrency.py --layout relstorage --dsn "dbname=duban_stress host=/run/postgresql"
    .venv/bin/python bench/stress_concurrency.py --base http://127.0.0.1:6543 --var var   # a running server

Starts ``pserve`` on a fresh demo site (``duban_archive.testing.LiveServer``) unless ``--base`` names a running
one (127.0.0.1 only).  Each client is a thread with its own keep-alive ``http.client`` connection; it picks
writes at random among those that have work: create an item (supervisor), fire the next workflow transition
(approve/assign/accept/request_closure/review/close, each as the user who may), add feedback (handler), upload
an attachment (handler: a PDF carrying 10 KiB-2 MiB of random bytes as ``other``, or a generated PNG as
``photo``) and file a closed item (records_officer).  A state-changing write holds its item alone, so a
refusal is never just two clients racing for the same transition; feedback and uploads share items freely.

Afterwards every acknowledged (2xx) write is checked through the API (item exists; transition in its history;
feedback present with its text; upload listed with its sha256 and downloaded bytes hashing to what was sent;
filed item archived, its 档号 in the 归档文件目录, 档号 and 件号 unique) and, once the server has stopped (or
through the live ZEO socket with ``--var``), in the storage itself.  ``lost`` counts acknowledged writes that
fail any check (a check that cannot be made counts as lost too).

Exit status 1 when lost > 0, 5xx > 0, empty_file_refusals > 0 or a request got no answer at all.
Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import http.client
import json
import os
import random
import re
import struct
import sys
import tempfile
import threading
import time
import uuid
import warnings
import zlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from duban_archive.testing import multipart  # noqa: E402 — after the warnings filter

PASSWORD = "duban-demo"
BOARD = "zdgz"
USERS = ("supervisor", "leader", "unit_head", "handler", "records_officer")
NEW_ITEM = {"source": "压力测试", "content": "并发写入压力测试事项", "requirement": "按月报送进展",
            "lead_unit": "zjj", "assist_units": ["jtj"], "deadline": "2026-12-31"}
# state -> (transition, user, body) that moves an item on; "closed" is filed through POST .../file
NEXT = {
    "registered": ("approve", "leader", {}),
    "approved": ("assign", "supervisor", {}),
    "assigned": ("accept", "unit_head", {}),
    "in_progress": ("request_closure", "handler", {}),
    "closure_requested": ("review", "supervisor", {}),
    "reviewed": ("close", "leader", {"grade": "A"}),
}
WEIGHTS = {"create": 1, "transition": 3, "feedback": 2, "upload": 2, "file": 1}
EMPTY_FILE = "文件为空"
REQUEST_TIMEOUT = 180.0  # a filing renders the dossier PDF: allow it time, but never hang forever


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# -- payloads -------------------------------------------------------------------------------------

def png(rnd: random.Random) -> bytes:
    """A small valid PNG of random noise (stdlib only)."""
    w, h = rnd.randint(8, 160), rnd.randint(8, 160)
    raw = b"".join(b"\x00" + rnd.randbytes(w * 3) for _ in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def random_file(rnd: random.Random) -> bytes:
    """A valid one-page PDF carrying 10 KiB-2 MiB of random bytes in an unreferenced stream.

    Random bytes must sit in a real PDF: the server sniffs content types (unknown binary is 415) and the
    四性检测 at filing parses every original (a header glued to noise is refused as unusable)."""
    size = rnd.randint(10 * 1024, 2 * 1024 * 1024)
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
               b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
               b"<</Length %d>>\nstream\n" % size + os.urandom(size) + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# -- HTTP -----------------------------------------------------------------------------------------

class Answer:
    __slots__ = ("status", "body", "ms", "error")

    def __init__(self, status: int, body: bytes, ms: float, error: str = "") -> None:
        self.status, self.body, self.ms, self.error = status, body, ms, error

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").replace("\n", " ")


class Client:
    """One keep-alive connection to 127.0.0.1 (reopened after a transport error)."""

    def __init__(self, host: str, port: int, tokens: dict[str, str]) -> None:
        self.host, self.port, self.tokens = host, port, tokens
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, user: str, body: bytes | None = None,
             ctype: str = "application/json", sink=None) -> Answer:
        headers = {"Authorization": f"Bearer {self.tokens[user]}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = ctype
        t0 = time.perf_counter()
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=REQUEST_TIMEOUT)
            self.conn.request(method, path, body=body, headers=headers)
            res = self.conn.getresponse()
            if sink is not None and 200 <= res.status < 300:
                while chunk := res.read(1 << 16):
                    sink(chunk)
                data = b""
            else:
                data = res.read()
            if res.will_close:
                self.close()
            return Answer(res.status, data, (time.perf_counter() - t0) * 1000)
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Answer(0, b"", (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}")

    def post_json(self, path: str, user: str, data: Any) -> Answer:
        return self.call("POST", path, user, json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def get_json(self, path: str, user: str, tries: int = 4) -> Answer:
        """A read for verification: retried on 409/5xx/no answer (downloads and reads may write audit)."""
        for n in range(tries):
            ans = self.call("GET", path, user)
            if ans.status == 200 or (ans.status and ans.status < 500 and ans.status != 409):
                return ans
            time.sleep(0.5 * (n + 1))
        return ans

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def get_token(host: str, port: int, user: str) -> str:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("POST", "/api/v1/auth/token", body=json.dumps({"username": user, "password": PASSWORD}),
                     headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        data = res.read()
        if res.status != 200:
            raise SystemExit(f"token for {user}: HTTP {res.status} {data[:300]!r}")
        return json.loads(data)["token"]
    finally:
        conn.close()


# -- shared state ---------------------------------------------------------------------------------

class Item:
    __slots__ = ("id", "number", "state", "busy", "sharers", "feedback", "uploads")

    def __init__(self, item_id: str, number: str, state: str) -> None:
        self.id, self.number, self.state = item_id, number, state
        self.busy = False  # a state-changing write holds the item alone
        self.sharers = 0  # feedback / uploads in flight
        self.feedback = 0
        self.uploads = 0


class Book:
    """Pools of items per state, every request's outcome and every acknowledged write (to verify)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, Item] = {}
        self.pools: dict[str, set[str]] = collections.defaultdict(set)
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.status: collections.Counter[str] = collections.Counter()
        self.refusals: collections.Counter[tuple] = collections.Counter()
        self.resync_reads = 0
        # acknowledged writes
        self.created: dict[str, str] = {}  # item id -> number
        self.transitions: list[tuple[str, str, str]] = []  # (item id, transition, state answered)
        self.feedback: list[tuple[str, str, str]] = []  # (item id, feedback id, done text)
        self.uploads: list[dict[str, Any]] = []  # {item, id, sha256, size, kind}
        self.filings: list[dict[str, Any]] = []  # {item, archival_code, piece, retention}
        self.ack_wrong: list[str] = []  # 2xx answers that were already wrong (e.g. another sha256)

    def set_state(self, item: Item, state: str) -> None:
        self.pools[item.state].discard(item.id)
        item.state = state
        self.pools[state].add(item.id)

    def add_item(self, item: Item) -> None:
        self.items[item.id] = item
        self.pools[item.state].add(item.id)

    def outcome(self, kind: str, ans: Answer) -> None:
        """Count one write request by its answer (an empty-file refusal only as that)."""
        with self.lock:
            self.latency[kind].append(ans.ms)
            body = ans.text(2000)
            if EMPTY_FILE in body:
                self.status["empty_file"] += 1
            elif ans.status == 0:
                self.status["no_answer"] += 1
            elif 200 <= ans.status < 300:
                self.status["2xx"] += 1
            elif ans.status == 409:
                self.status["409"] += 1
                data = ans.json()
                if isinstance(data, dict) and data.get("error") == "conflict":
                    self.status["409_conflict"] += 1
            elif 400 <= ans.status < 500:
                self.status["4xx"] += 1
            elif ans.status >= 500:
                self.status["5xx"] += 1
            else:
                self.status["other"] += 1
            if not (200 <= ans.status < 300):
                data = ans.json()
                msg = (f"{data.get('error')}: {data.get('message')}"
                       + (f" {json.dumps(data.get('fields'), ensure_ascii=False)}" if data.get("fields") else "")
                       if isinstance(data, dict) else (ans.error or ans.text(200)))
                self.refusals[(kind, ans.status, msg[:300])] += 1


# -- the clients ----------------------------------------------------------------------------------

class Worker(threading.Thread):
    def __init__(self, n: int, book: Book, host: str, port: int, tokens: dict[str, str], deadline: float,
                 max_requests: int, seed: int) -> None:
        super().__init__(name=f"client-{n}", daemon=True)
        self.n, self.book, self.deadline, self.max_requests = n, book, deadline, max_requests
        self.rnd = random.Random(seed * 1000 + n)
        self.http = Client(host, port, tokens)
        self.done = 0

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline and self.done < self.max_requests:
                self.one()
                self.done += 1
        finally:
            self.http.close()

    # choosing work ------------------------------------------------------------------------------
    def pick(self, kind: str) -> Item | None:
        """Claim an item for ``kind`` (under the book's lock) or None when there is no work for it."""
        book = self.book
        if kind == "transition":
            ids = [i for s in NEXT for i in book.pools[s] if not book.items[i].busy and not book.items[i].sharers
                   and (s != "in_progress" or (book.items[i].feedback and book.items[i].uploads))]
        elif kind == "file":
            ids = [i for i in book.pools["closed"] if not book.items[i].busy]
        elif kind in ("feedback", "upload"):
            ids = [i for i in book.pools["in_progress"] if not book.items[i].busy]
        else:
            return None
        if not ids:
            return None
        item = book.items[self.rnd.choice(ids)]
        if kind in ("transition", "file"):
            item.busy = True
        else:
            item.sharers += 1
        return item

    def one(self) -> None:
        kinds = list(WEIGHTS)
        kind = self.rnd.choices(kinds, weights=[WEIGHTS[k] for k in kinds])[0]
        with self.book.lock:
            item = self.pick(kind) if kind != "create" else None
        if item is None:
            kind = "create"
        try:
            getattr(self, f"do_{kind}")(item)
        finally:
            if item is not None:
                with self.book.lock:
                    if kind in ("transition", "file"):
                        item.busy = False
                    else:
                        item.sharers -= 1

    # the writes ---------------------------------------------------------------------------------
    def do_create(self, _item: None) -> None:
        title = f"压力测试事项 c{self.n}-{self.done}-{uuid.uuid4().hex[:6]}"
        ans = self.http.post_json(f"/api/v1/boards/{BOARD}/items", "supervisor", {"title": title, **NEW_ITEM})
        self.book.outcome("create", ans)
        data = ans.json()
        if 200 <= ans.status < 300:
            with self.book.lock:
                if not isinstance(data, dict) or not data.get("id"):
                    self.book.ack_wrong.append(f"create {ans.status} without an id: {ans.text()}")
                    return
                self.book.created[data["id"]] = data.get("number", "")
                self.book.add_item(Item(data["id"], data.get("number", ""), data.get("state", "registered")))

    def do_transition(self, item: Item) -> None:
        name, user, body = NEXT[item.state]
        ans = self.http.post_json(f"/api/v1/items/{item.id}/transitions/{name}", user, body)
        self.book.outcome(name, ans)
        data = ans.json()
        if 200 <= ans.status < 300 and isinstance(data, dict) and data.get("state"):
            with self.book.lock:
                self.book.transitions.append((item.id, name, data["state"]))
                self.book.set_state(item, data["state"])
            return
        if 200 <= ans.status < 300:
            with self.book.lock:
                self.book.transitions.append((item.id, name, ""))
        self.resync(item)

    def do_file(self, item: Item) -> None:
        ans = self.http.post_json(f"/api/v1/items/{item.id}/file", "records_officer", {})
        self.book.outcome("file", ans)
        data = ans.json()
        if 200 <= ans.status < 300:
            data = data if isinstance(data, dict) else {}
            with self.book.lock:
                self.book.filings.append({"item": item.id, "archival_code": data.get("archival_code"),
                                          "piece": data.get("piece"), "retention": data.get("retention")})
                self.book.set_state(item, "archived")
            return
        self.resync(item)

    def do_feedback(self, item: Item) -> None:
        text = f"压力测试反馈 {uuid.uuid4().hex}"
        ans = self.http.post_json(f"/api/v1/items/{item.id}/feedback", "handler",
                                  {"done": text, "progress": "已完成一部分", "next_steps": "继续推进"})
        self.book.outcome("feedback", ans)
        data = ans.json()
        if 200 <= ans.status < 300:
            with self.book.lock:
                fid = data.get("id") if isinstance(data, dict) else None
                self.book.feedback.append((item.id, fid or "", text))
                item.feedback += 1
        elif ans.status == 403:
            self.resync(item)

    def do_upload(self, item: Item) -> None:
        if self.rnd.random() < 0.5:
            kind, data, name, ctype, label = "photo", png(self.rnd), "现场照片.png", "image/png", "upload_photo"
        else:
            kind, data, name, ctype, label = ("other", random_file(self.rnd), "材料.pdf", "application/pdf",
                                              "upload_other")
        sha = hashlib.sha256(data).hexdigest()
        body, mp = multipart({"kind": kind}, name, data, ctype)
        ans = self.http.call("POST", f"/api/v1/items/{item.id}/attachments", "handler", body, mp)
        self.book.outcome(label, ans)
        meta = ans.json()
        if 200 <= ans.status < 300:
            with self.book.lock:
                if not isinstance(meta, dict) or not meta.get("id"):
                    self.book.ack_wrong.append(f"upload {ans.status} on {item.id} without an id: {ans.text()}")
                    return
                self.book.uploads.append({"item": item.id, "id": meta["id"], "sha256": sha, "size": len(data),
                                          "kind": kind})
                item.uploads += 1
                if meta.get("sha256") != sha or meta.get("size") != len(data):
                    self.book.ack_wrong.append(f"upload {meta['id']}: answered sha256 {meta.get('sha256')} size "
                                               f"{meta.get('size')}, sent {sha} size {len(data)}")
        elif ans.status == 403:
            self.resync(item)

    def resync(self, item: Item) -> None:
        """After a refusal: read the item's real state (a read, not counted among the writes)."""
        ans = self.http.get_json(f"/api/v1/items/{item.id}", "supervisor", tries=2)
        data = ans.json()
        with self.book.lock:
            self.book.resync_reads += 1
            if ans.status == 200 and isinstance(data, dict) and data.get("state"):
                self.book.set_state(item, data["state"])


# -- verification ---------------------------------------------------------------------------------

class Digest:
    def __init__(self) -> None:
        self.sha, self.size = hashlib.sha256(), 0

    def add(self, chunk: bytes) -> None:
        self.sha.update(chunk)
        self.size += len(chunk)


class Verifier:
    def __init__(self, book: Book, host: str, port: int, tokens: dict[str, str]) -> None:
        self.book, self.http = book, Client(host, port, tokens)
        self.lost: list[str] = []
        self.checked: collections.Counter[str] = collections.Counter()
        self.failed: collections.Counter[str] = collections.Counter()
        self.duplicates = 0

    def fail(self, what: str, why: str) -> None:
        self.failed[what] += 1
        self.lost.append(f"{what}: {why}")

    def run(self) -> None:
        book = self.book
        for why in book.ack_wrong:
            self.fail("answer", why)
        item_ids = set(book.created) | {t[0] for t in book.transitions} | {f[0] for f in book.feedback} \
            | {u["item"] for u in book.uploads} | {f["item"] for f in book.filings}
        items: dict[str, dict] = {}
        for item_id in sorted(item_ids):
            ans = self.http.get_json(f"/api/v1/items/{item_id}", "supervisor")
            data = ans.json()
            if ans.status == 200 and isinstance(data, dict):
                items[item_id] = data
        for item_id, number in book.created.items():
            self.checked["items"] += 1
            data = items.get(item_id)
            if data is None:
                self.fail("items", f"{item_id} not readable")
            elif data.get("number") != number or data.get("board") != BOARD:
                self.fail("items", f"{item_id}: number {data.get('number')} board {data.get('board')}, "
                                   f"acknowledged {number} in {BOARD}")
        acked = collections.Counter((t[0], t[1]) for t in book.transitions)
        for (item_id, name), count in acked.items():
            self.checked["transitions"] += count
            history = items.get(item_id, {}).get("history") or []
            seen = sum(1 for h in history if isinstance(h, dict) and h.get("transition") == name)
            if seen < count:
                self.fail("transitions", f"{item_id}: {count} x {name} acknowledged, {seen} in the history")
                self.failed["transitions"] += count - seen - 1
        for item_id, fid, text in book.feedback:
            self.checked["feedback"] += 1
            entries = items.get(item_id, {}).get("feedback") or []
            if not any(isinstance(e, dict) and e.get("id") == fid and e.get("done") == text for e in entries):
                self.fail("feedback", f"{item_id}/{fid} ({text[-8:]}) missing")
        for up in book.uploads:
            self.checked["uploads"] += 1
            listed = {a.get("id"): a for a in items.get(up["item"], {}).get("attachments") or []
                      if isinstance(a, dict)}
            if up["id"] not in listed:
                self.fail("uploads", f"{up['id']} not listed on {up['item']}")
                continue
            if listed[up["id"]].get("sha256") != up["sha256"]:
                self.fail("uploads", f"{up['id']} listed with sha256 {listed[up['id']].get('sha256')}")
                continue
            ans, got = None, Digest()
            for n in range(4):
                got = Digest()
                ans = self.http.call("GET", f"/api/v1/attachments/{up['id']}/content", "supervisor", sink=got.add)
                if ans.status == 200 or (ans.status and ans.status < 500 and ans.status != 409):
                    break
                time.sleep(0.5 * (n + 1))
            if ans.status != 200:
                self.fail("uploads", f"{up['id']} download: HTTP {ans.status} {ans.error or ans.text(200)}")
            elif got.sha.hexdigest() != up["sha256"] or got.size != up["size"]:
                self.fail("uploads", f"{up['id']} downloaded {got.size} bytes sha256 {got.sha.hexdigest()[:16]}…, "
                                     f"sent {up['size']} bytes sha256 {up['sha256'][:16]}…")
        self.verify_filings(items)
        self.http.close()

    def verify_filings(self, items: dict[str, dict]) -> None:
        book = self.book
        listing: list[dict] | None = None
        if book.filings:
            ans = self.http.get_json("/api/v1/filing-list?format=json", "records_officer")
            data = ans.json()
            if ans.status == 200 and isinstance(data, list):
                listing = data
            else:
                print(f"note: filing list unreadable: HTTP {ans.status} {ans.text(300)}", file=sys.stderr)
        codes = collections.Counter(r.get("档号") for r in listing or [] if isinstance(r, dict))
        by_number = {r.get("文号"): r.get("档号") for r in listing or [] if isinstance(r, dict)}
        self.duplicates = sum(n - 1 for n in codes.values() if n > 1)
        series: collections.Counter[tuple] = collections.Counter()
        for f in book.filings:
            self.checked["filings"] += 1
            data = items.get(f["item"], {})
            code, piece = f.get("archival_code"), f.get("piece")
            if not code or not isinstance(piece, int):
                self.fail("filings", f"{f['item']}: answered 档号 {code!r} 件号 {piece!r}")
                continue
            if data.get("state") != "archived":
                self.fail("filings", f"{f['item']}: state {data.get('state')!r} after filing acknowledged")
                continue
            if listing is None or by_number.get(data.get("number")) != code:
                got = by_number.get(data.get("number")) if listing is not None else "(list unreadable)"
                self.fail("filings", f"{f['item']} {data.get('number')}: 归档文件目录 has 档号 {got!r}, "
                                     f"acknowledged {code}")
                continue
            if codes[code] > 1:
                self.fail("filings", f"{f['item']}: 档号 {code} appears {codes[code]} times")
                continue
            key = (re.sub(rf"0*{piece}$", "", code), piece)
            series[key] += 1
            if series[key] > 1:
                self.fail("filings", f"{f['item']}: 件号 {piece} of series {key[0]} given twice")


def storage_check(book: Book, var: Path | None, uri: str | None) -> tuple[str, list[str]]:
    """Acknowledged items and uploads as the storage itself holds them (server stopped or ZEO joined)."""
    if var is None and uri is None:
        return "skipped (no --var)", []
    try:
        import transaction
        import zodburi
        from ZODB import DB

        from duban_archive.content_types.site_access import ROOT_KEY
        from duban_archive.storage.config import database_uri

        uri = uri or database_uri({"duban.storage": "embedded"}, var, command=True)
        factory, dbkw = zodburi.resolve_uri(uri)
        db = DB(factory(), **dbkw)
    except Exception as exc:  # noqa: BLE001 — e.g. an embedded site still running holds the lock
        return f"skipped ({type(exc).__name__}: {str(exc)[:200]})", []
    bad: list[str] = []
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        site = conn.root()[ROOT_KEY]
        for item_id, number in book.created.items():
            item = site.item_index.get(item_id)
            if item is None or getattr(item, "number", None) != number:
                bad.append(f"storage: item {item_id} missing")
        for up in book.uploads:
            att = site.attachment_index.get(up["id"])
            if att is None:
                bad.append(f"storage: attachment {up['id']} missing")
                continue
            sha = hashlib.sha256()
            with att.blob.open("r") as fh:
                while chunk := fh.read(1 << 16):
                    sha.update(chunk)
            if sha.hexdigest() != up["sha256"]:
                bad.append(f"storage: attachment {up['id']} blob sha256 {sha.hexdigest()[:16]}… differs")
        conn.close()
    finally:
        db.close()
    return "done", bad


# -- the server's memory --------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids[ppid].append(int(entry))
    return kids


def _status_kb(pid: int, field: str, file: str = "status") -> int | None:
    try:
        text = Path(f"/proc/{pid}/{file}").read_text()
    except OSError:
        return None
    found = re.search(rf"^{field}:\s*(\d+) kB", text, re.M)
    return int(found.group(1)) if found else None


def _label(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return "?"
    if "runzeo" in cmd:
        return "zeo"
    if "pserve" in cmd:
        return "fork"  # a worker forked from pserve (e.g. the PDF renderer): shares its pages
    return Path(cmd.split(" ", 1)[0]).name or "?"


class RssSampler(threading.Thread):
    """Polls the server process and its descendants every 0.25 s.

    Per process the kernel's own peak (VmHWM); for the whole tree the largest sampled sum of PSS (shared
    pages divided among the processes sharing them, so forked workers are not counted twice).  Workers
    living less than a sampling period may be missed.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss", daemon=True)
        self.pid = pid
        self.peaks: dict[int, tuple[str, int]] = {}
        self.pss_peak_kb = 0
        self.stop_event = threading.Event()

    def tree(self) -> list[int]:
        kids = _children()
        todo, seen = [self.pid], []
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.append(pid)
                todo.extend(kids.get(pid, []))
        return seen

    def sample(self) -> None:
        pss = 0
        for pid in self.tree():
            hwm = _status_kb(pid, "VmHWM")
            if hwm is None:
                continue
            label = self.peaks[pid][0] if pid in self.peaks else ("pserve" if pid == self.pid else _label(pid))
            self.peaks[pid] = (label, max(hwm, self.peaks.get(pid, ("", 0))[1]))
            pss += _status_kb(pid, "Pss", "smaps_rollup") or 0
        self.pss_peak_kb = max(self.pss_peak_kb, pss)

    def run(self) -> None:
        while not self.stop_event.wait(0.25):
            self.sample()

    def report(self) -> list[str]:
        self.sample()
        if self.pid not in self.peaks:
            return ["peak_rss_server_mb: n/a (no /proc status for the server)"]
        lines = [f"peak_rss_server_mb: {self.peaks[self.pid][1] / 1024:.0f}  (VmHWM of pserve pid {self.pid})"]
        zeo = [kb for pid, (label, kb) in self.peaks.items() if label == "zeo"]
        if zeo:
            lines.append(f"peak_rss_zeo_mb: {max(zeo) / 1024:.0f}  (VmHWM of runzeo)")
        others = [(kb, label) for pid, (label, kb) in self.peaks.items() if pid != self.pid and label != "zeo"]
        if others:
            kb, label = max(others)
            lines.append(f"peak_rss_child_mb: {kb / 1024:.0f}  (largest other descendant, {label}; "
                         f"{len(others)} other descendants seen)")
        lines.append(f"peak_pss_tree_mb: {self.pss_peak_kb / 1024:.0f}  (largest sampled sum of PSS over pserve "
                     "and its descendants)")
        return lines


def listening_pid(port: int) -> int | None:
    """The pid holding 127.0.0.1:port in LISTEN (our own processes only)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[1].endswith(f":{port:04X}") and cols[3] == "0A":
                inodes.add(f"socket:[{cols[9]}]")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}") in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


# -- main -----------------------------------------------------------------------------------------

def start_server(args, workdir: Path):
    from duban_archive.testing import LiveServer

    settings: dict[str, str] = {}
    storage = args.layout
    if args.layout == "relstorage":
        if not args.dsn:
            raise SystemExit("--layout relstorage needs --dsn")
        try:
            from duban_archive.storage.relstorage import write_relstorage_conf
        except ImportError as exc:
            raise SystemExit(f"--layout relstorage: duban_archive.storage.relstorage.write_relstorage_conf is not "
                             f"available yet ({exc})") from None
        var = workdir / "var"
        var.mkdir(parents=True, exist_ok=True)
        conf = write_relstorage_conf(var, args.dsn)
        conf = Path(conf) if conf else var / "relstorage.conf"
        settings["zodbconn.uri"] = f"zconfig://{conf}#main"
        storage = "embedded"  # an explicit zodbconn.uri overrides the layout
    server = LiveServer(workdir, storage=storage, workers=True, settings=settings, threads=args.threads)
    return server.start(), settings.get("zodbconn.uri")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=30, help="how long the clients write")
    parser.add_argument("--layout", choices=("zeo", "embedded", "relstorage"), default="zeo")
    parser.add_argument("--dsn", help="PostgreSQL DSN for --layout relstorage (use an empty database)")
    parser.add_argument("--keep", type=Path, help="keep the server's directory (ini, var, pserve.log) here")
    parser.add_argument("--base", help="a running server, e.g. http://127.0.0.1:6543 (nothing is started)")
    parser.add_argument("--var", type=Path, help="with --base: its data dir, to check the storage itself")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads of the started server")
    parser.add_argument("--max-requests", type=int, default=5000, help="writes per client at most")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.clients < 1 or args.seconds <= 0 or args.max_requests < 1:
        parser.error("--clients, --seconds and --max-requests must be positive")

    server, uri, tmp = None, None, None
    if args.base:
        url = urlsplit(args.base)
        if url.scheme != "http" or url.hostname != "127.0.0.1":
            parser.error("--base must be http://127.0.0.1:<port> (all traffic stays on this machine)")
        host, port = "127.0.0.1", url.port or 80
        layout = f"{args.layout} (as given by --layout; running server {args.base})"
        server_pid = listening_pid(port)
    else:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            workdir = args.keep.resolve()
        else:
            tmp = tempfile.TemporaryDirectory(prefix="stress_concurrency_")
            workdir = Path(tmp.name)
        print(f"starting pserve ({args.layout}) in {workdir} …", file=sys.stderr)
        server, uri = start_server(args, workdir)
        host, port = "127.0.0.1", server.port
        layout = args.layout
        server_pid = server.proc.pid

    sampler = RssSampler(server_pid) if server_pid else None
    exit_code = 1
    try:
        tokens = {user: get_token(host, port, user) for user in USERS}
        if sampler:
            sampler.start()
        book = Book()
        deadline = time.monotonic() + args.seconds
        workers = [Worker(n, book, host, port, tokens, deadline, args.max_requests, args.seed)
                   for n in range(args.clients)]
        t0 = time.monotonic()
        for w in workers:
            w.start()
        for w in workers:
            w.join(args.seconds + REQUEST_TIMEOUT + 60)
        elapsed = time.monotonic() - t0
        hung = [w.name for w in workers if w.is_alive()]
        print(f"writes done in {elapsed:.1f} s; verifying …", file=sys.stderr)
        verifier = Verifier(book, host, port, tokens)
        verifier.run()
        rss = sampler.report() if sampler else ["peak_rss_server_mb: n/a (server pid not found)"]
        if sampler:
            sampler.stop_event.set()
        log_text = ""
        if server is not None:
            log_text = server.log_path.read_text(errors="replace")
            server.stop()
            status, bad = storage_check(book, server.var if uri is None else None, uri)
        else:
            status, bad = storage_check(book, args.var, None) if args.var else ("skipped (no --var)", [])
        for why in bad:
            verifier.fail("storage", why)
        exit_code = report(args, layout, book, verifier, elapsed, rss, status, log_text, hung)
    finally:
        if sampler:
            sampler.stop_event.set()
        if server is not None:
            server.stop()
        if tmp is not None:
            tmp.cleanup()
        elif args.keep:
            print(f"kept: {args.keep}", file=sys.stderr)
    return exit_code


def report(args, layout: str, book: Book, v: Verifier, elapsed: float, rss: list[str], storage_status: str,
           log_text: str, hung: list[str]) -> int:
    st = book.status
    requests = sum(len(x) for x in book.latency.values())
    lost = sum(v.failed.values())
    tracebacks = log_text.count("Traceback (most recent call last)")
    print("stress_concurrency")
    print(f"layout: {layout}")
    print(f"clients: {args.clients}")
    print(f"seconds: {args.seconds:g}  (writes took {elapsed:.1f} s)")
    print(f"requests: {requests}  ({requests / elapsed:.1f}/s; writes only, not counting {book.resync_reads} "
          "resync reads and the verification)")
    print(f"2xx: {st['2xx']}")
    print(f"409: {st['409']}  (of which error=conflict after the server's retries: {st['409_conflict']})")
    print(f"4xx other: {st['4xx']}  (not 409, not 文件为空)")
    print(f"5xx: {st['5xx']}")
    print(f"no_answer: {st['no_answer']}")
    print(f"lost: {lost}")
    print(f"empty_file_refusals: {st['empty_file']}")
    print(f"duplicate_archival_codes: {v.duplicates}")
    checked = ", ".join(f"{k} {v.checked[k] - v.failed[k]}/{v.checked[k]}"
                        for k in ("items", "transitions", "feedback", "uploads", "filings"))
    print(f"verified: {checked}")
    print(f"storage_check: {storage_status}  (failures: {v.failed['storage']})")
    everything: list[float] = []
    for kind in ("create", *[t[0] for t in NEXT.values()], "feedback", "upload_photo", "upload_other", "file"):
        values = book.latency.get(kind, [])
        everything += values
        if values:
            print(f"latency {kind}: n={len(values)} p50 {pct(values, 50):.0f} ms p95 {pct(values, 95):.0f} ms")
        else:
            print(f"latency {kind}: n=0")
    if everything:
        print(f"latency overall: n={len(everything)} p50 {pct(everything, 50):.0f} ms "
              f"p95 {pct(everything, 95):.0f} ms")
    for line in rss:
        print(line)
    if log_text:
        print(f"server_log_tracebacks: {tracebacks}")
    if hung:
        print(f"hung_clients: {', '.join(hung)}")
    for (kind, status, msg), n in sorted(book.refusals.items(), key=lambda kv: -kv[1]):
        print(f"refusal: {kind} HTTP {status} x{n}: {msg}")
    for why in v.lost[:30]:
        print(f"lost_detail: {why}")
    if len(v.lost) > 30:
        print(f"lost_detail: … {len(v.lost) - 30} more")
    if tracebacks:
        last = log_text[log_text.rfind("Traceback (most recent call last)"):].splitlines()[1:400]
        end = next((i for i, ln in enumerate(last) if ln and not ln.startswith(" ")), len(last) - 1)
        where = next((ln.strip() for ln in reversed(last[:end]) if ln.strip().startswith("File ")), "")
        print(f"server_log_last_traceback: {last[end][:300] if last else ''}  ({where[:200]})")
    failed = lost > 0 or st["5xx"] > 0 or st["empty_file"] > 0 or st["no_answer"] > 0 or bool(hung)
    print(f"result: {'FAIL' if failed else 'ok'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
