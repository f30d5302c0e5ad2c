"""Fixtures come from the ``duban_archive.testing`` pytest plugin (see setup.py)."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _let_pkg_resources_read_rewritten_modules() -> None:
    """pytest loads the plugin's package through its assertion-rewriting hook, which
    pkg_resources (used by pyramid_chameleon to find templates) does not know; tell it
    those modules live in ordinary files.
    """
    import pkg_resources
    from _pytest.assertion.rewrite import AssertionRewritingHook

    pkg_resources.register_loader_type(AssertionRewritingHook, pkg_resources.DefaultProvider)


_let_pkg_resources_read_rewritten_modules()


# --- a throw-away PostgreSQL cluster and the server layouts (RelStorage tests) -------------------

def _postgres_bindir() -> Path | None:
    """Debian's /usr/lib/postgresql/<version>/bin (newest), else pg_ctl on PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).parent / "initdb").exists():
        return Path(on_path).parent
    return None


def _unavailable(message: str):
    """No PostgreSQL here: a failure in CI (the tests must run there), a skip on a developer's machine."""
    message += " — `make system` installs Debian's postgresql; `make venv` installs RelStorage and psycopg2-binary"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` in a temporary directory, on 127.0.0.1 only, without fsync.

    PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` OS user
    (``runuser``).  Clients connect over TCP as the database superuser ``postgres`` (trust
    authentication, loopback only).
    """

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        # not under pytest's tmp_path: its parents are private to root, the postgres user could not enter
        self.dir = Path(tempfile.mkdtemp(prefix="duban-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                shutil.rmtree(self.dir)
                _unavailable("PostgreSQL cannot run as root and there is no `postgres` OS user")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host = "127.0.0.1"
        self.user = "postgres"
        self._names = itertools.count(1)

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run([*self.as_user, *args], capture_output=True, text=True, timeout=timeout,
                              cwd=self.dir, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n{log}")

    def start(self) -> PostgresCluster:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = " ".join([
            "-c listen_addresses=127.0.0.1", f"-c port={self.port}", f"-c unix_socket_directories={self.dir}",
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",  # throw-away data
            "-c max_connections=300", "-c shared_buffers=64MB", "-c max_locks_per_transaction=256",
        ])
        self._run(str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data),
                  "-l", str(self.log_path), "-o", options)
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.dir, ignore_errors=True)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(self.dsn())
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create_database(self, prefix: str = "duban") -> str:
        """A new empty database; returns its DSN."""
        name = f"{prefix}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def drop_database(self, dsn: str) -> None:
        """Drop the database ``dsn`` names, ending its remaining connections (PostgreSQL >= 13)."""
        name = dict(part.split("=", 1) for part in dsn.split())["dbname"]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL cluster for the session: ``postgres.create_database() -> dsn``."""
    bindir = _postgres_bindir()
    if bindir is None:
        _unavailable("PostgreSQL not found (no /usr/lib/postgresql/*/bin/initdb, no pg_ctl on PATH)")
    try:
        import psycopg2  # noqa: F401
        import relstorage  # noqa: F401
    except ImportError as exc:
        _unavailable(f"RelStorage tests need RelStorage and psycopg2: {exc}")
    cluster = PostgresCluster(bindir)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    yield cluster
    cluster.stop()


@pytest.fixture(params=["zeo", "relstorage"])
def server_layout(request, live_server, tmp_path):
    """Factory ``server_layout(**kw) -> LiveServer`` (``live_server``'s arguments), once per layout.

    ``zeo``: ``make run``'s layout (a ZEO server on ``var/zeo.sock``).  ``relstorage``: a fresh
    PostgreSQL database in the session's cluster, named by ``zodbconn.uri = zconfig://…#main``
    (``server.relstorage_conf``, ``server.dsn``); commands from ``server.cli`` join it too.
    """
    layout = request.param
    started: list = []
    databases: list[str] = []

    def start(**kw):
        kw.pop("storage", None)
        if layout == "zeo":
            server = live_server(storage="zeo", **kw)
            server.layout = "zeo"
            started.append(server)
            return server
        from duban_archive.storage.relstorage import create_schema, relstorage_uri, write_relstorage_conf

        dsn = postgres.create_database()
        databases.append(dsn)
        conf = write_relstorage_conf(tmp_path / f"relstorage-{len(databases)}", dsn)
        create_schema(conf)
        settings = {**(kw.pop("settings", None) or {}), "zodbconn.uri": relstorage_uri(conf)}
        server = live_server(storage="embedded", settings=settings, **kw)
        server.layout, server.relstorage_conf, server.dsn = "relstorage", conf, dsn
        started.append(server)
        return server

    postgres = request.getfixturevalue("postgres") if layout == "relstorage" else None
    yield start
    for server in started:  # before live_server's own teardown: the databases are dropped next
        server.stop()
    for dsn in databases:
        postgres.drop_database(dsn)


class FakeClock:
    """The login throttle's clock, moved by hand: waits pass without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch):
    """A fresh login throttle on a :class:`FakeClock`."""
    from duban_archive.security import throttle

    throttle.reset()
    clock = FakeClock()
    monkeypatch.setattr(throttle, "clock", clock)
    yield clock
    throttle.reset()
