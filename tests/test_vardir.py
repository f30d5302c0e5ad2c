"""The data directory (issue 12): private to the site's account, and a read-only one refused in one line."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from duban_archive import vardir
from duban_archive.testing import api, project_root
from duban_archive.vardir import (
    VarDirUnusable,
    ballast_bytes,
    ensure_ballast,
    in_reserve,
    prepare,
    release_ballast,
    released_state,
    tighten,
)

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


# -- the ballast (issue 12: logins still work on a full disk; tests/views/test_disk_full.py fills one)

MB = 1 << 20


def test_ballast_is_real_private_blocks_made_once_and_removed_when_off(tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    assert ensure_ballast(var, 2 * MB)
    st = (var / "ballast").stat()
    assert st.st_size == 2 * MB and st.st_blocks * 512 >= 2 * MB
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert ensure_ballast(var, 2 * MB) and (var / "ballast").stat().st_ino == st.st_ino  # kept as it is
    assert sorted(p.name for p in var.iterdir()) == ["ballast"]  # no temporary file left
    assert ensure_ballast(var, MB) and (var / "ballast").stat().st_size == MB  # the setting lowered
    assert not ensure_ballast(var, 0) and not (var / "ballast").exists()


def test_ballast_needs_room_for_itself_twice(tmp_path, monkeypatch, caplog):
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setattr(vardir, "free_bytes", lambda path: 4 * MB - 1)
    assert not ensure_ballast(var, 2 * MB) and not (var / "ballast").exists()
    assert "no room for the 2 MB ballast" in caplog.text
    monkeypatch.setattr(vardir, "free_bytes", lambda path: 4 * MB)
    assert ensure_ballast(var, 2 * MB)


def test_ballast_written_as_zeros_where_fallocate_is_not_supported(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir()

    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, "not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    assert ensure_ballast(var, 3 * MB + 5)
    st = (var / "ballast").stat()
    assert st.st_size == 3 * MB + 5 and st.st_blocks * 512 >= 3 * MB + 5


def test_ballast_released_only_when_less_than_its_size_is_free(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir()
    assert ensure_ballast(var, MB)
    free = {"bytes": MB}
    monkeypatch.setattr(vardir, "free_bytes", lambda path: free["bytes"])
    assert not release_ballast(var, MB)  # a big upload failed, but there is room: keep it
    assert (var / "ballast").exists() and released_state(var) is None and not in_reserve(var, MB)
    free["bytes"] = 0
    assert release_ballast(var, MB)
    assert not (var / "ballast").exists() and released_state(var) == "pending"
    assert stat.S_IMODE((var / "ballast.released").stat().st_mode) == 0o600
    assert not release_ballast(var, MB)  # once
    assert in_reserve(var, MB)
    free["bytes"] = MB
    assert not in_reserve(var, MB)  # the admin freed space
    free["bytes"] = 10 * MB
    assert ensure_ballast(var, MB) and released_state(var) is None  # the next start


def test_ballast_released_on_a_quota_whatever_statvfs_says(tmp_path, monkeypatch):
    var = tmp_path / "var"
    var.mkdir()
    assert ensure_ballast(var, MB)
    monkeypatch.setattr(vardir, "free_bytes", lambda path: 100 * MB)
    assert release_ballast(var, MB, quota=True) and not (var / "ballast").exists()


@pytest.mark.parametrize(("value", "expected"), [("32", 32 * MB), ("0", 0), ("0.5", MB // 2), ("", 0), ("x", 0)])
def test_ballast_setting(value, expected):
    assert ballast_bytes({"duban.ballast_mb": value}) == expected


def test_a_release_not_yet_audited_is_audited_at_the_next_start(app, var_dir, tmp_path):
    from pyramid.paster import get_app

    from duban_archive.content_types.site_access import open_site

    (var_dir / "ballast").unlink(missing_ok=True)  # released by a refusal whose audit entry found no room
    vardir.mark_released(var_dir, "pending")
    for db in app.registry._zodb_databases.values():
        db.close()
    ini = tmp_path / "ballast.ini"  # testing.ini keeps no ballast; this site keeps 4 MB
    ini.write_text(Path(INI).read_text("utf-8").replace("duban.ballast_mb = 0", "duban.ballast_mb = 4"), "utf-8")
    restarted = get_app(str(ini))
    try:
        with open_site(restarted.registry) as site:
            entries = [e for e in site["audit"] if e["action"] == "ballast_released"]
        assert len(entries) == 1 and entries[0]["request"] == "start"
        assert (var_dir / "ballast").stat().st_size == 4 * MB  # recreated
        assert released_state(var_dir) is None
    finally:
        for db in restarted.registry._zodb_databases.values():
            db.close()
