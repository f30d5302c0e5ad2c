"""Hostile and unusual input, replayed against a real server: every case must hold.

    .venv/bin/python bench/hostile.py            # starts its own server on a fresh demo site
    .venv/bin/python bench/hostile.py --keep DIR # keep the server's data dir and log

Each case sends what a tester sent for issue 12 (lone surrogates, control
characters, emoji, a zip bomb, a 49-megapixel PNG, huge anonymous bodies,
deeply nested JSON, login spraying, replayed sessions, auditor reads …) and
checks what a user would notice afterwards.  Prints one line per case —
``held`` or ``FAILED`` with the reason — then ``tried / held / failed`` and
the server's peak RSS; exits 1 when any case failed.  Traffic goes to
127.0.0.1 only, every loop is bounded.  Not a test: CI never runs it (the
same behaviours are tested in tests/).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from duban_archive.testing import LiveServer, multipart  # noqa: E402

NEW_ITEM = {"title": "安全测试事项", "source": "压力测试", "content": "检验系统对异常输入的处理",
            "requirement": "按月报送", "lead_unit": "zjj", "assist_units": ["jtj"], "deadline": "2026-12-31"}


class Http:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             source: str | None = None, timeout: float = 120) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        opener = urllib.request.build_opener()
        if source:  # another client address on the loopback network (127.0.0.0/8)
            import http.client

            class Handler(urllib.request.HTTPHandler):
                def http_open(self, r):
                    return self.do_open(lambda host, **kw: http.client.HTTPConnection(
                        host, source_address=(source, 0), **kw), r)

            opener = urllib.request.build_opener(Handler)
        try:
            with opener.open(req, timeout=timeout) as res:
                return res.status, dict(res.headers), res.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def api(self, method: str, path: str, token: str | None = None, data=None, raw: bytes | None = None,
            ctype: str = "application/json", **kw) -> tuple[int, dict]:
        headers = {"Content-Type": ctype, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else (json.dumps(data).encode() if data is not None else None)
        status, _, out = self.call(method, path, body, headers, **kw)
        try:
            return status, json.loads(out or b"{}")
        except ValueError:
            return status, {"_raw": out[:200].decode("utf-8", "replace")}


def docx_bomb(inflated: int = 100 * 1024 * 1024) -> bytes:
    """A .docx whose document.xml inflates to ``inflated`` bytes of repeated paragraphs."""
    para = b"<w:p><w:r><w:t>" + "炸弹".encode() * 40 + b"</w:t></w:r></w:p>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
                   'officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        with z.open("word/document.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                    b'wordprocessingml/2006/main"><w:body>')
            written, block = 0, para * 1000
            while written < inflated:
                f.write(block)
                written += len(block)
            f.write(b"</w:body></w:document>")
    return out.getvalue()


def huge_png(width: int = 7000, height: int = 7000) -> bytes:
    """A 49-megapixel greyscale PNG that compresses to a few hundred KB."""
    import struct

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def rss_mb(pid: int) -> float:
    """Current RSS of ``pid`` and its children (MB)."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def peak_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Run:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = Http(server.base)
        self.tokens = {u: server.token(u) for u in ("supervisor", "leader", "unit_head", "handler", "auditor",
                                                      "records_officer", "admin")}
        self.results: list[tuple[str, bool, str]] = []

    def case(self, name: str, fn: Callable[[], str | None]) -> None:
        try:
            problem = fn()
        except Exception as exc:  # noqa: BLE001 — a crashing case is a failed case
            problem = f"{type(exc).__name__}: {exc}"
        self.results.append((name, not problem, problem or ""))
        print(f"{'held  ' if not problem else 'FAILED'} {name}" + (f" — {problem}" if problem else ""), flush=True)

    # -- helpers ----------------------------------------------------------------------------------

    def new_item(self, **fields) -> tuple[int, dict]:
        return self.http.api("POST", "/api/v1/boards/zdgz/items", self.tokens["supervisor"], {**NEW_ITEM, **fields})

    def in_progress(self) -> str:
        status, item = self.new_item()
        assert status == 201, item
        for user, name in (("leader", "approve"), ("supervisor", "assign"), ("unit_head", "accept")):
            status, out = self.http.api("POST", f"/api/v1/items/{item['id']}/transitions/{name}", self.tokens[user], {})
            assert status == 200, out
        return item["id"]

    def searchable(self) -> str | None:
        marker = f"检索哨兵{uuid.uuid4().hex[:6]}"
        status, item = self.new_item(title=f"{marker} 事项")
        if status != 201:
            return f"creating a sentinel item answered {status}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, found = self.http.api("GET", "/api/v1/search?q=" + urllib.parse.quote(marker),
                                          self.tokens["supervisor"])
            if status == 200 and item["id"] in json.dumps(found):
                return None
            time.sleep(0.5)
        return "a new item is no longer found by search"

    def audit(self) -> list[dict]:
        """The audit log as the database holds it (a ZEO client of the running site)."""
        import transaction
        from ZEO.ClientStorage import ClientStorage
        from ZODB import DB

        from duban_archive.content_types.site_access import ROOT_KEY

        db = DB(ClientStorage(str(self.server.var / "zeo.sock"), blob_dir=str(self.server.var / "blobs"),
                              shared_blob_dir=True, read_only=True))
        try:
            conn = db.open(transaction_manager=transaction.TransactionManager())
            entries = [dict(e) for e in conn.root()[ROOT_KEY]["audit"]]
            conn.close()
            return entries
        finally:
            db.close()

    # -- the cases --------------------------------------------------------------------------------

    def lone_surrogate(self) -> str | None:
        item = self.in_progress()
        raw = ('{"done": "\\ud83d 已完成", "progress": "进展", "next_steps": "下一步"}').encode()
        status, out = self.http.api("POST", f"/api/v1/items/{item}/feedback", self.tokens["handler"], raw=raw)
        if status == 201:
            page, _, _ = self.http.call("GET", f"/api/v1/items/{item}",
                                        headers={"Authorization": f"Bearer {self.tokens['handler']}"})
            if page >= 500:
                return "accepted, and the item now answers 500"
        elif status >= 500:
            return f"answered {status}"
        return self.searchable()

    def control_in_title(self) -> str | None:
        status, out = self.new_item(title="标题\x07响铃\x1b")
        if status >= 500:
            return f"create answered {status}"
        code, _, _ = self.http.call("GET", "/ledger.xlsx", headers={"Authorization":
                                                                    f"Bearer {self.tokens['supervisor']}"})
        if code >= 500:
            how = "accepted" if status < 300 else "refused"
            return f"ledger.xlsx answered {code} after a title with BEL/ESC was {how}"
        code, _, _ = self.http.call("GET", "/api/v1/search?format=xlsx&q=" + urllib.parse.quote("督办\x07"),
                                    headers={"Authorization": f"Bearer {self.tokens['supervisor']}"})
        if code >= 500:
            return f"search xlsx with a control character answered {code}"
        return None

    def emoji_fileable(self) -> str | None:
        status, out = self.new_item(content="已完成 👍 ✅")
        if status == 400:
            return None  # refused at the door with a field message: never unfileable
        if status != 201:
            return f"answered {status}"
        item = out["id"]
        steps = (("leader", "approve", {}), ("supervisor", "assign", {}), ("unit_head", "accept", {}),
                 ("handler", "request_closure", {}), ("supervisor", "review", {}), ("leader", "close", {"grade": "A"}))
        for user, name, body in steps:
            status, res = self.http.api("POST", f"/api/v1/items/{item}/transitions/{name}", self.tokens[user], body)
            if status != 200:
                return f"{name} answered {status}: {res}"
        status, res = self.http.api("POST", f"/api/v1/items/{item}/file", self.tokens["records_officer"], {})
        return None if status in (200, 201) else f"accepted with emoji, then filing answered {status}: {res}"

    def zip_bomb(self) -> str | None:
        item = self.in_progress()
        before = rss_mb(self.server.proc.pid)
        body, ctype = multipart({"kind": "other"}, "报告.docx", docx_bomb())
        status, out = self.http.api("POST", f"/api/v1/items/{item}/attachments", self.tokens["handler"], raw=body,
                                    ctype=ctype)
        if status >= 500:
            return f"upload answered {status}"
        grew = 0.0
        for _ in range(20):  # the in-process indexer picks it up within a few seconds
            time.sleep(0.5)
            grew = max(grew, rss_mb(self.server.proc.pid) - before)
        if grew > 400:
            return f"server RSS grew by {grew:.0f} MB while handling a 100 MB-inflating .docx"
        return self.searchable()

    def huge_png_thumbnail(self) -> str | None:
        item = self.in_progress()
        body, ctype = multipart({"kind": "photo"}, "巨图.png", huge_png())
        status, out = self.http.api("POST", f"/api/v1/items/{item}/attachments", self.tokens["handler"], raw=body,
                                    ctype=ctype)
        if status >= 500:
            return f"upload answered {status}"
        if status != 201:
            return None  # refused at the door
        before = rss_mb(self.server.proc.pid)
        code, _, _ = self.http.call("GET", f"/boards/zdgz/{item}/attachments/{out['id']}/@@thumbnail",
                                    headers={"Authorization": f"Bearer {self.tokens['handler']}"})
        grew = rss_mb(self.server.proc.pid) - before
        if code >= 500:
            return f"thumbnail answered {code}"
        return f"thumbnail cost +{grew:.0f} MB RSS" if grew > 200 else None

    def anonymous_huge_post(self) -> str | None:
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(b"POST /api/v1/boards/zdgz/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 943718400\r\n\r\n")
            t0 = time.monotonic()
            reply = s.recv(200)
        if not reply.startswith((b"HTTP/1.1 413", b"HTTP/1.1 401", b"HTTP/1.1 403")):
            return f"answered {reply[:20]!r}"
        return None if time.monotonic() - t0 < 5 else "refused only after waiting for the body"

    def oversized_upload(self) -> str | None:
        item = self.in_progress()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(f"POST /api/v1/items/{item}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      f"Authorization: Bearer {self.tokens['handler']}\r\n"
                      "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 629145600\r\n\r\n".encode())
            reply = s.recv(200)
        return None if reply.startswith(b"HTTP/1.1 413") else f"answered {reply[:20]!r} to a 600 MB upload"

    def nested_json(self) -> str | None:
        status, _ = self.http.api("POST", "/api/v1/boards/zdgz/items", self.tokens["supervisor"],
                                  raw=b"[" * 50_000 + b"]" * 50_000)
        if status >= 500:
            return f"deeply nested JSON answered {status}"
        status, _ = self.http.api("POST", "/api/v1/scores/adjustments", self.tokens["supervisor"],
                                  {"unit": "zjj", "kind": "praise", "points": 1, "item": {"x": 1}})
        return f"non-string item answered {status}" if status >= 500 else None

    def login_spray(self) -> str | None:
        limited = 0
        for i in range(60):
            status, _ = self.http.api("POST", "/api/v1/auth/token", None,
                                      {"username": f"user{i:03d}", "password": "guess-123"}, source="127.0.0.3")
            limited += status == 429
        return None if limited else "60 attempts over 60 usernames from one client were never slowed down"

    def owner_not_locked_out(self) -> str | None:
        for _ in range(8):
            self.http.api("POST", "/api/v1/auth/token", None, {"username": "leader", "password": "wrong-pass-1"},
                          source="127.0.0.4")
        status, out = self.http.api("POST", "/api/v1/auth/token", None,
                                    {"username": "leader", "password": "duban-demo"}, source="127.0.0.5")
        if status == 200:
            return None
        wait = int(out.get("retry_after") or 0) if isinstance(out, dict) else 0
        return f"the owner, from another address, got {status} {out.get('message', '')} {wait or ''}".strip()

    def equal_time(self) -> str | None:
        def timed(user: str) -> float:
            t0 = time.perf_counter()
            self.http.api("POST", "/api/v1/auth/token", None, {"username": user, "password": "not-the-password"},
                          source="127.0.0.6")
            return time.perf_counter() - t0

        known = statistics.median(timed(u) for u in ("records_officer", "handler2", "unit_head"))
        unknown = statistics.median(timed(f"nobody{i}") for i in range(3))
        ratio = max(known, unknown) / max(1e-6, min(known, unknown))
        return None if ratio < 2 else f"known {known * 1000:.0f} ms vs unknown {unknown * 1000:.0f} ms"

    def failed_api_login_audited(self) -> str | None:
        self.http.api("POST", "/api/v1/auth/token", None, {"username": "handler2", "password": "wrong-but-long-1"},
                      source="127.0.0.7")
        failed = [e for e in self.audit() if e.get("action") == "login_failed"]
        return None if "handler2" in json.dumps(failed, ensure_ascii=False, default=str) else "not in the audit log"

    def session_after_logout(self) -> str | None:
        import http.cookiejar

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(self.server.base + "/login").read().decode()
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = urllib.parse.urlencode({"username": "handler", "password": "duban-demo", "csrf_token": csrf,
                                       "submit": "1"}).encode()
        opener.open(self.server.base + "/login", form).read()
        cookies = "; ".join(f"{c.name}={c.value}" for c in jar)
        me = json.loads(opener.open(self.server.base + "/api/v1/me").read())
        csrf = me.get("csrf_token", "")
        opener.open(urllib.request.Request(self.server.base + "/logout", data=urllib.parse.urlencode(
            {"csrf_token": csrf}).encode(), method="POST")).read()
        status, _, _ = self.http.call("GET", "/api/v1/me", headers={"Cookie": cookies})
        return None if status == 401 else f"the old session cookie still answers {status} after logout"

    def password_change_exists(self) -> str | None:
        status, out = self.http.api("POST", "/api/v1/me/password", self.tokens["supervisor"],
                                    {"old_password": "wrong", "new_password": "x"})
        return None if status == 400 else f"POST /api/v1/me/password answered {status}"

    def auditor_reads_logged(self) -> str | None:
        status, listing = self.http.api("GET", "/api/v1/items", self.tokens["auditor"])
        if status != 200:
            return f"auditor listing answered {status}"
        ids = [i["id"] for i in listing.get("items", [])][:3]
        if not ids:
            return "nothing listed to check"
        reads = json.dumps([e for e in self.audit() if e.get("actor") == "auditor"], ensure_ascii=False, default=str)
        return None if ids[0] in reads else "GET /api/v1/items by an auditor was not logged"

    def security_headers(self) -> str | None:
        _, headers, _ = self.http.call("GET", "/login")
        need = {"X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Content-Security-Policy"}
        missing = sorted(h for h in need if h not in headers)
        return f"missing {', '.join(missing)}" if missing else None

    def var_permissions(self) -> str | None:
        loose = []
        for path in self.server.var.rglob("*"):
            try:
                if path.stat().st_mode & 0o077:
                    loose.append(str(path.relative_to(self.server.var)))
            except OSError:
                pass
        return f"{len(loose)} paths readable by others, e.g. {loose[:3]}" if loose else None

    def openapi_valid(self) -> str | None:
        try:
            from openapi_spec_validator import validate
        except ImportError:
            return "openapi-spec-validator is not installed"
        status, doc = self.http.api("GET", "/api/v1/openapi.json")
        validate(doc)
        return None


CASES = ["lone_surrogate", "control_in_title", "emoji_fileable", "zip_bomb", "huge_png_thumbnail",
         "anonymous_huge_post", "oversized_upload", "nested_json", "login_spray", "owner_not_locked_out",
         "equal_time", "failed_api_login_audited", "session_after_logout", "password_change_exists",
         "auditor_reads_logged", "security_headers", "var_permissions", "openapi_valid"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the server's data dir and log here")
    parser.add_argument("--only", action="append", choices=CASES, help="run only these cases")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="duban-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    server = LiveServer(work, storage="zeo", workers=True, settings={"duban.argon2_time_cost": "2",
                                                                     "duban.argon2_memory_cost": "65536"})
    server.start()
    try:
        run = Run(server)
        for name in args.only or CASES:
            run.case(name, getattr(run, name))
        peak = peak_mb(server.proc.pid)
    finally:
        server.stop()
    held = sum(ok for _, ok, _ in run.results)
    print(f"tried: {len(run.results)}  held: {held}  failed: {len(run.results) - held}")
    print(f"peak_rss_server_mb: {peak:.0f}")
    if args.keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept: {work}")
    return 0 if held == len(run.results) else 1


if __name__ == "__main__":
    os.environ.setdefault("DUBAN_TESTING", "1")
    sys.exit(main())
