"""The ``duban-archive`` console script and ``pserve``, run as real subprocesses.

Each test uses its own data directory through ``DUBAN_VAR_DIR`` (API.md
"running a second instance"), so these can run beside a developer's server.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from duban_archive.testing import project_root

BIN = Path(sys.executable).parent
INI = str(project_root() / "testing.ini")
DEMO_USERS = {"admin", "supervisor", "leader", "unit_head", "handler", "handler2", "records_officer", "auditor"}


def run(var: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUBAN_VAR_DIR": str(var)}
    proc = subprocess.run([str(BIN / "duban-archive"), *args], env=env, capture_output=True, text=True,
                          timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def open_db(var: Path):
    """The instance's FileStorage opened directly (the subprocess has exited)."""
    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    return DB(FileStorage(str(var / "Data.fs"), blob_dir=str(var / "blobs")))


def test_init_demo_is_idempotent_and_creates_every_demo_user(tmp_path):
    var = tmp_path / "var"
    first = run(var, "init", INI, "--demo")
    assert "创建站点" in first.stdout and "duban-demo" in first.stdout
    second = run(var, "init", INI, "--demo")
    assert "站点已是最新" in second.stdout and "创建" not in second.stdout

    from duban_archive.content_types.site_access import ROOT_KEY

    db = open_db(var)
    try:
        site = db.open().root()[ROOT_KEY]
        users = site["users"]
        assert DEMO_USERS <= set(users.keys())
        for name in DEMO_USERS:
            assert users[name].check_password("duban-demo"), name
        assert users["handler"].unit == "zjj" and users["handler2"].unit != "zjj"
        assert {"zjj", "jtj"} <= set(site["units"].keys())
        assert len(site["boards"]) == 9
    finally:
        db.close()


def test_adduser_and_evolve(tmp_path):
    var = tmp_path / "var"
    run(var, "init", INI)
    out = run(var, "adduser", INI, "wangwu", "--title", "王五", "--role", "handler", "--unit", "nowhere",
              "--password", "long-enough-pw", check=False)
    assert out.returncode == 1 and "单位 nowhere 不存在" in out.stderr
    out = run(var, "adduser", INI, "Bad Name", "--password", "long-enough-pw", check=False)
    assert out.returncode == 1 and "用户名只能包含" in out.stderr
    out = run(var, "adduser", INI, "wangwu", "--title", "王五", "--role", "supervisor", "--password", "short",
              check=False)
    assert out.returncode == 1 and "密码至少 8 位" in out.stderr
    run(var, "adduser", INI, "wangwu", "--title", "王五", "--role", "supervisor", "--password", "long-enough-pw")
    again = run(var, "adduser", INI, "wangwu", "--password", "long-enough-pw", check=False)
    assert again.returncode == 1 and "已存在" in again.stderr

    assert "数据已是最新" in run(var, "evolve", INI).stdout
    import transaction

    from duban_archive.content_types.site_access import ROOT_KEY

    db = open_db(var)
    try:
        conn = db.open()
        site = conn.root()[ROOT_KEY]
        user = site["users"]["wangwu"]
        assert user.check_password("long-enough-pw") and user.roles == ("supervisor",)
        site.generation = 0  # pretend the data predates step 1
        transaction.commit()
    finally:
        db.close()
    assert "待执行：1 remap_acls" in run(var, "evolve", INI, "--list").stdout
    out = run(var, "evolve", INI).stdout
    assert "已执行 1 remap_acls" in out
    assert "数据已是最新" in run(var, "evolve", INI).stdout


def test_missing_ini_is_a_clear_error(tmp_path):
    out = run(tmp_path / "var", "init", str(tmp_path / "nope.ini"), check=False)
    assert out.returncode == 2 and "找不到配置文件" in out.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """``pserve testing.ini http_port=N`` on a fresh demo site in its own DUBAN_VAR_DIR."""
    var = tmp_path / "var"
    run(var, "init", INI, "--demo")
    port = free_port()
    proc = subprocess.Popen([str(BIN / "pserve"), INI, f"http_port={port}"],
                            env={**os.environ, "DUBAN_VAR_DIR": str(var)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(proc.stdout.read().decode(errors="replace")) from None
                time.sleep(0.2)
        yield base, var
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_pserve_serves_on_the_given_port_from_duban_var_dir(served):
    base, var = served
    req = urllib.request.Request(base + "/api/v1/auth/token", method="POST",
                                 data=json.dumps({"username": "handler2", "password": "duban-demo"}).encode(),
                                 headers={"Content-Type": "application/json"})
    token = json.loads(urllib.request.urlopen(req, timeout=10).read())["token"]
    req = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    me = json.loads(urllib.request.urlopen(req, timeout=10).read())
    assert me["username"] == "handler2" and me["unit"] == "jtj"
    assert (var / "Data.fs").exists() and (var / "blobs").is_dir()
