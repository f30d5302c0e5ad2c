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
DEMO_USERS = {"admin", "secadmin", "secauditor",  # 三员分立
              "supervisor", "leader", "unit_head", "handler", "handler2", "records_officer", "auditor"}


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


def cli(var: Path, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The same console entry point in-process (fast), for the refusals."""
    from duban_archive.scripts.cli import main

    monkeypatch.setenv("DUBAN_VAR_DIR", str(var))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_demo_is_idempotent_and_creates_every_demo_user(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    first = run(var, "init", INI, "--demo")
    assert "创建站点" in first.stdout and "duban-demo" in first.stdout
    code, second, _ = cli(var, monkeypatch, capsys, "init", INI, "--demo")
    assert code == 0 and "站点已是最新" in second and "创建" not in second

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


def test_adduser_and_evolve(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    out = cli(var, monkeypatch, capsys, "init", INI)[1]
    # 三员分立: a new site gets its three administrators, passwords in a 0600 file, never printed
    secrets_file = next(var.glob("initial-administrators-*.txt"))
    assert str(secrets_file) in out and secrets_file.stat().st_mode & 0o777 == 0o600
    passwords = [line.rsplit("：", 1)[1] for line in secrets_file.read_text("utf-8").splitlines()[1:]]
    assert len(passwords) == 3 and not any(p in out for p in passwords)
    assert "已添加用户 wangwu" in run(var, "adduser", INI, "wangwu", "--title", "王五", "--role", "supervisor",
                                     "--password", "long-enough-pw").stdout
    refusals = [
        (("wangwu", "--password", "long-enough-pw"), "已存在"),
        (("zhaoliu", "--unit", "nowhere", "--password", "long-enough-pw"), "单位 nowhere 不存在"),
        (("Bad Name", "--password", "long-enough-pw"), "用户名只能包含"),
        (("zhaoliu", "--role", "king", "--password", "long-enough-pw"), "未知角色"),
        (("zhaoliu", "--password", "short"), "密码至少 8 位"),
        (("zhaoliu", "--role", "sysadmin", "--role", "secauditor", "--password", "long-enough-pw"),
         "三员分立：同一账号不能兼任系统管理员、安全审计员"),
    ]
    for args, message in refusals:
        code, _, err = cli(var, monkeypatch, capsys, "adduser", INI, *args)
        assert code == 1 and message in err, (args, err)
    assert "数据已是最新" in cli(var, monkeypatch, capsys, "evolve", INI)[1]

    import transaction

    from duban_archive.content_types.site_access import ROOT_KEY

    db = open_db(var)
    try:
        conn = db.open()
        site = conn.root()[ROOT_KEY]
        # init made the three administrators (三员分立); the refusals added nobody
        assert set(site["users"].keys()) == {"wangwu", "sysadmin", "secadmin", "secauditor"}
        user = site["users"]["wangwu"]
        assert user.check_password("long-enough-pw") and user.roles == ("supervisor",)
        site.generation = 0  # pretend the data predates step 1
        transaction.commit()
    finally:
        db.close()
    listed = cli(var, monkeypatch, capsys, "evolve", INI, "--list")[1]
    assert "待执行：1 remap_acls" in listed and "待执行：2 repair_text" in listed
    done = run(var, "evolve", INI).stdout
    assert "已执行 1 remap_acls" in done and "已执行 2 repair_text" in done and "已执行 3 lean_writes" in done
    assert "已执行 6 hotline_dispatch_facts" in done
    assert "已执行 7 long_running_monthly_reports" in done
    assert "已执行 8 three_administrators" in done
    assert "已执行 9 lean_transactions" in done
    assert "已执行 11 board_forms" in done
    assert "已执行 12 capture_checks_and_superseded_versions" in done
    assert "已执行 13 transfer_registry" in done
    from duban_archive.content_types.site import SCHEMA_GENERATION

    assert f"数据已是最新（第 {SCHEMA_GENERATION} 代）" in cli(var, monkeypatch, capsys, "evolve", INI)[1]


def test_missing_ini_is_a_clear_error(tmp_path, monkeypatch, capsys):
    code, _, err = cli(tmp_path / "var", monkeypatch, capsys, "init", str(tmp_path / "nope.ini"))
    assert code == 2 and "找不到配置文件" in err


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path, monkeypatch, capsys):
    """``pserve testing.ini http_port=N`` on a fresh demo site in its own DUBAN_VAR_DIR."""
    var = tmp_path / "var"
    cli(var, monkeypatch, capsys, "init", INI, "--demo=empty")
    port = free_port()
    log = open(tmp_path / "pserve.log", "wb")  # a file, not a pipe: a full pipe would block the server
    proc = subprocess.Popen([str(BIN / "pserve"), INI, f"http_port={port}"],
                            env={**os.environ, "DUBAN_VAR_DIR": str(var)}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 150  # a loaded CI box starts slowly
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=30).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "pserve.log").read_text(errors="replace")) from None
                time.sleep(0.2)
        yield base, var
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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
