"""pytest fixtures for duban_archive, shipped as a plugin (as Kotti does).

Every test gets a real ZODB FileStorage with a blob directory in a temporary
data directory (``DUBAN_VAR_DIR``), the app built from ``testing.ini``, and
the demo site.  Use ``login(testapp, "handler")`` for a browser session or
``api(testapp, "handler")`` for a bearer-token client.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import transaction

if TYPE_CHECKING:
    import subprocess

DEMO_PASSWORD = "duban-demo"


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


@pytest.fixture
def var_dir(tmp_path, monkeypatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("DUBAN_VAR_DIR", str(var))
    return var


@pytest.fixture
def ini_path(var_dir) -> str:
    return str(project_root() / "testing.ini")


@pytest.fixture
def app(ini_path, var_dir):
    """The WSGI app on a fresh FileStorage, with the demo site created."""
    from pyramid.paster import get_app

    from .content_types.bootstrap import add_demo_content
    from .content_types.site_access import open_site
    from .security import throttle

    throttle.reset()
    wsgi = get_app(ini_path)
    with open_site(wsgi.registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
    yield wsgi
    for db in wsgi.registry._zodb_databases.values():
        db.close()


@pytest.fixture
def registry(app):
    return app.registry


@pytest.fixture
def site(app):
    """The site on its own connection; call ``transaction.commit()`` to save.

    Requests made through ``testapp`` run in other connections: call
    ``site._p_jar.sync()`` (or ``transaction.begin()``) to see their changes.
    """
    from .content_types.site_access import open_site

    with open_site(app.registry) as s:
        yield s


@pytest.fixture
def testapp(app):
    from webtest import TestApp

    return TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "127.0.0.1"})


def login(testapp, username: str, password: str = DEMO_PASSWORD):
    """Log in through the login form; returns the response after redirect."""
    form = testapp.get("/login").forms["login-form"]
    form["username"] = username
    form["password"] = password
    return form.submit().maybe_follow()


class ApiClient:
    """A bearer-token JSON client over WebTest."""

    def __init__(self, testapp, token: str) -> None:
        self.testapp = testapp
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url, status=200, **kw):
        return self.testapp.get(url, headers=self.headers, status=status, **kw)

    def post(self, url, body=None, status=200, **kw):
        return self.testapp.post_json(url, body if body is not None else {}, headers=self.headers,
                                      status=status, **kw)

    def patch(self, url, body, status=200, **kw):
        return self.testapp.patch_json(url, body, headers=self.headers, status=status, **kw)

    def upload(self, url, fields, files, status=201):
        return self.testapp.post(url, fields, upload_files=files, headers=self.headers, status=status)


def api(testapp, username: str, password: str = DEMO_PASSWORD) -> ApiClient:
    res = testapp.post_json("/api/v1/auth/token", {"username": username, "password": password})
    return ApiClient(testapp, res.json["token"])


@pytest.fixture
def make_item(app):
    """Create an item through the Python API: ``make_item(board="zdgz", **fields)``."""
    from datetime import date

    from .content_types.actions import create_item
    from .content_types.site_access import open_site

    def factory(board: str = "zdgz", actor: str = "supervisor", commit: bool = True, **fields):
        values = {
            "title": "推进老旧小区改造", "source": "区政府常务会议",
            "content": "完成 3 个老旧小区改造", "requirement": "按月报送进展",
            "lead_unit": "zjj", "assist_units": {"jtj"}, "deadline": date(2026, 12, 31),
        }
        values.update(fields)
        with open_site(app.registry) as site:
            item = create_item(site, site.boards[board], values, actor, app.registry)
            item_id = item.item_id
            if commit:
                transaction.commit()
        return item_id

    return factory


class LiveServer:
    """``pserve`` in its own process on a fresh demo site: the real server, for concurrency tests.

    ``settings`` are written into ``[app:main]`` of a copy of ``testing.ini``;
    ``storage="zeo"`` is the layout ``make run`` uses (a ZEO server on
    ``var/zeo.sock`` that commands join).
    """

    def __init__(self, tmp_path: Path, storage: str = "zeo", workers: bool = True,
                 settings: dict[str, str] | None = None, threads: int = 4) -> None:
        import socket

        self.tmp_path = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.var = tmp_path / "var"
        lines = {"duban.storage": storage, "duban.run_workers": "true" if workers else "false",
                 "duban.fulltext_poll": "0.5", **(settings or {})}
        text = (project_root() / "testing.ini").read_text("utf-8")
        for key in lines:  # drop the base file's value so ours is the only one
            text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key} ")) + "\n"
        extra = "".join(f"{k} = {v}\n" for k, v in lines.items())
        text = text.replace("[app:main]\n", "[app:main]\n" + extra, 1).replace("threads = 4", f"threads = {threads}")
        self.ini = tmp_path / "server.ini"
        self.ini.write_text(text, "utf-8")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "DUBAN_VAR_DIR": str(self.var)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.initialised = False  # `init --demo` ran (or Data.fs already existed)
        self.log_path = tmp_path / "pserve.log"

    def cli(self, *args: str, timeout: float = 300):
        """``duban-archive ARGS`` against this server's var dir (the ini is appended)."""
        import subprocess
        import sys

        exe = Path(sys.executable).with_name("duban-archive")
        return subprocess.run([str(exe), *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def start(self) -> LiveServer:
        import subprocess
        import sys
        import time
        import urllib.error
        import urllib.request

        if not self.initialised and not (self.var / "Data.fs").exists():  # RelStorage has no Data.fs
            done = self.cli("init", str(self.ini), "--demo=empty")
            assert done.returncode == 0, done.stderr
        self.initialised = True
        pserve = Path(sys.executable).with_name("pserve")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 — a file, not a pipe nobody drains
        self.proc = subprocess.Popen([str(pserve), str(self.ini), f"http_port={self.port}"], env=self.env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 150  # a loaded CI box starts slowly
        while True:
            try:
                urllib.request.urlopen(self.base + "/login", timeout=30).read()
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(self.log()) from None
                time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self._log.close()
        self.proc = None

    def token(self, username: str, password: str = DEMO_PASSWORD) -> str:
        import json
        import urllib.request

        req = urllib.request.Request(self.base + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=60).read())["token"]


def http_call(base: str, token: str | None, method: str, path: str, body=None,
              content_type: str = "application/json") -> tuple[int, Any]:
    """One request to a live server; the JSON answer parsed (``{"raw": …}`` when it is not JSON).

    ``body``: a dict or list is sent as JSON, bytes as they are (with ``content_type``).
    """
    import json
    import urllib.error
    import urllib.request

    data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict | list) else body
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"raw": raw.decode("utf-8", "replace")[:500]}


def multipart(fields: dict[str, str], filename: str, data: bytes,
              content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with ``fields`` and one ``file``; returns (body, Content-Type)."""
    import uuid

    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Clients:
    """Bearer tokens of several demo users on a live server, and every answer's status.

    ``send`` sends a request again after a JSON 409 ``conflict`` (as the API asks clients to),
    at most ``retries`` times; ``statuses`` keeps every answer, for the test to report.
    """

    def __init__(self, server: LiveServer, users, retries: int = 4) -> None:
        import threading

        self.server, self.retries = server, retries
        self.tokens = {u: server.token(u) for u in users}
        self.statuses: list[int] = []
        self.lock = threading.Lock()

    def send(self, user: str | None, method: str, path: str, body=None) -> tuple[int, Any]:
        import time

        for attempt in range(self.retries + 1):
            status, res = http_call(self.server.base, self.tokens.get(user), method, path, body)
            with self.lock:
                self.statuses.append(status)
            if not (status == 409 and isinstance(res, dict) and res.get("error") == "conflict"):
                break
            time.sleep(0.2 * (attempt + 1))
        return status, res

    def count(self, status: int) -> int:
        return sum(1 for s in self.statuses if s == status)


def run_threads(n: int, work) -> list[BaseException]:
    """``work(k)`` for k in 0..n-1 on n threads at once; returns what they raised."""
    import threading

    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            work(k)
        except BaseException as exc:  # noqa: BLE001 — reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return errors


@pytest.fixture
def live_server(tmp_path):
    """Factory: ``live_server(storage="zeo", workers=True, settings={...})`` -> a started LiveServer."""
    servers: list[LiveServer] = []

    def start(**kw) -> LiveServer:
        server = LiveServer(tmp_path / f"s{len(servers)}", **kw)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


os.environ.setdefault("DUBAN_TESTING", "1")


def _share_compiled_templates() -> None:
    """Every test builds a new app, and Chameleon's in-memory loader caches nothing:
    without a cache directory each test recompiles every page template (~1 s each).
    Must run before chameleon is imported (this plugin loads first)."""
    import tempfile

    cache = Path(tempfile.gettempdir()) / f"duban-chameleon-{os.getuid()}"
    cache.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("CHAMELEON_CACHE", str(cache))


_share_compiled_templates()
