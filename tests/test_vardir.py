"""The data directory (issue 12): private to the site's account, and a read-only one refused in one line."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from duban_archive.testing import api, project_root
from duban_archive.vardir import VarDirUnusable, prepare, tighten

INI = str(project_root() / "testing.ini")
#: root ignores permission bits; without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH it honours them
#: (``runuser -u nobody`` is no help where the interpreter lives under /root, as in this sandbox)
UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def loose(var: Path) -> list[Path]:
    """Entries under ``var`` (itself included) that group or others may use."""
    found = []
    for root, _dirs, files in os.walk(var):
        for path in [Path(root), *(Path(root) / f for f in files)]:
            st = path.lstat()
            if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o077:
                found.append(path)
    return found


@pytest.fixture
def loose_var(var_dir):
    """A data directory from before the fix: world-readable directories and files."""
    old = os.umask(0o022)
    try:
        (var_dir / "cache" / "text").mkdir(parents=True)
        (var_dir / "index").mkdir()
        (var_dir / "log").mkdir()
        (var_dir / "cache" / "text" / "old.json").write_text("{}")
        (var_dir / "log" / "old.log").write_text("x")
    finally:
        os.umask(old)
    assert loose(var_dir)
    return var_dir


def test_nothing_under_var_is_readable_by_others_after_start_upload_and_index(loose_var, app, testapp, make_item):
    var = loose_var
    assert loose(var) == []  # tightened at start
    item_id = make_item()  # 已立项: the 督查室 may attach files
    api(testapp, "supervisor").upload(f"/api/v1/items/{item_id}/attachments", {"kind": "other"},
                                      [("file", "整改说明.txt", "道路整治已完成，路面全部修复。".encode())])
    found = api(testapp, "auditor").get("/api/v1/search", params={"q": "路面"}).json
    assert found["total"] == 1  # indexed, the attachment's text included
    assert any((var / "blobs").rglob("*.blob")) and any((var / "index").iterdir())
    assert any((var / "cache" / "text").glob("*.json"))  # the extracted text was cached
    assert (var / "Data.fs").exists()
    assert loose(var) == []
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "Data.fs").stat().st_mode) == 0o600


def test_tighten_keeps_owner_bits_and_skips_symlinks(tmp_path):
    var = tmp_path / "var"
    (var / "blobs").mkdir(parents=True)
    blob = var / "blobs" / "x.blob"
    blob.write_bytes(b"x")
    blob.chmod(0o444)  # ZODB's committed blobs are read-only
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (var / "link").symlink_to(outside)
    var.chmod(0o755)
    assert tighten(var) == 2
    assert stat.S_IMODE(blob.stat().st_mode) == 0o400
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    assert tighten(var) == 0


@pytest.fixture
def unprivileged():
    """A command prefix under which permission bits apply to this process's children."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root and setpriv is missing: root would ignore the read-only mode")
    probe = subprocess.run([*UNPRIVILEGED, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here (root would ignore the read-only mode): {probe.stderr}")
    return UNPRIVILEGED


def run(prefix: list[str], var: Path, *cmd: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DUBAN_VAR_DIR": str(var), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([*prefix, *cmd], env=env, capture_output=True, text=True, timeout=120)


def test_read_only_var_is_refused_in_one_clear_line(tmp_path, unprivileged):
    cli = str(Path(sys.executable).with_name("duban-archive"))
    pserve = str(Path(sys.executable).with_name("pserve"))

    fresh = tmp_path / "fresh"
    fresh.mkdir(mode=0o500)
    done = run(unprivileged, fresh, cli, "init", INI)
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"错误：数据目录不可用：{fresh} 无法写入") and "Error:" in lines[0]

    # a site that exists, its directory made read-only afterwards
    existing = tmp_path / "existing"
    assert run([], existing, cli, "init", INI, "--demo").returncode == 0
    existing.chmod(0o500)
    done = run(unprivileged, existing, cli, "init", INI)
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert f"{existing} 无法写入" in done.stderr

    # the web server: the same line, no traceback
    done = run(unprivileged, fresh, pserve, INI, "http_port=0")
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "错误：数据目录不可用" in done.stderr and str(fresh) in done.stderr


def test_prepare_raises_the_clear_error(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as if read-only
    with pytest.raises(VarDirUnusable) as caught:
        prepare(var, ("blobs",))
    assert str(var) in str(caught.value) and "无法写入" in str(caught.value)
