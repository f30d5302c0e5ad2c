"""A full disk (issue 12): a clear 507 — JSON for the API, a page for the UI — never a bare 500,
nothing half-written, and everything works again once space is freed.

The disk is really full: the data directory is a 16 MB tmpfs filled with a padding file until
``write`` fails with ENOSPC, so FileStorage, the blob directory and the audit log all meet the
real error.  Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped.

Chosen behaviour: a request whose audit entry cannot be written is refused as a whole — a login
(its ``login`` entry), a download (``download``), an auditor's look (``view``) — because the
audit log must not miss any of them.  The refused login leaves the browser logged out — unless
the ballast (``var/ballast``, ``duban.ballast_mb``) is there: the first refusal releases it, so the
next logins have room, while uploads stay refused until the admin frees space; a restart with room
recreates it.  (The default 32 MB ballast does not fit on the 16 MB disk: the first test has none.)
"""

from __future__ import annotations

import errno
import io
import logging
import os
import stat
import subprocess

import pytest

from duban_archive import vardir
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login, project_root
from duban_archive.views.api.errors import ADMIN_BALLAST_USED, ADMIN_FREE_SPACE

from .conftest import item_url

MESSAGE = "服务器磁盘空间不足"


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    """The app's data directory on a 16 MB tmpfs (overrides the plugin's fixture)."""
    var = tmp_path / "var"
    var.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(var)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a full disk is simulated on a small tmpfs, and mounting one needs root: {done.stderr.strip()}")
    monkeypatch.setenv("DUBAN_VAR_DIR", str(var))
    yield var
    subprocess.run(["umount", "-l", str(var)], capture_output=True)


@pytest.fixture
def ballast_mb():
    """``duban.ballast_mb`` for the app; None: the default (parametrize to change it)."""
    return None


@pytest.fixture
def ini_path(tmp_path, var_dir, ballast_mb):
    testing = project_root() / "testing.ini"
    if ballast_mb is None:
        return str(testing)
    ini = tmp_path / "ballast.ini"
    ini.write_text(f"[app:main]\nuse = config:{testing}#main\nduban.ballast_mb = {ballast_mb}\n")
    return str(ini)


def fill(var) -> None:
    """Write padding until the file system has not one byte left."""
    with open(var / "padding", "ab", buffering=0) as f:
        for chunk in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break


def noisy_png() -> bytes:
    """A PNG that does not compress: its blob needs fresh blocks."""
    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (160, 160), os.urandom(160 * 160 * 3)).save(out, "PNG")
    return out.getvalue()


def until_refused(attempt, limit: int = 300) -> int:
    """Call ``attempt()`` (-> status) until it answers 507; returns how many succeeded before.

    A few small writes may still fit into the last, partly used block of Data.fs; each success
    uses some of it up.  Nothing but success or 507 is acceptable."""
    for n in range(limit):
        status = attempt()
        if status == 507:
            return n
        assert status < 400, status
    raise AssertionError(f"no 507 after {limit} writes on a full disk")


def assert_json_507(res, ballast_used: bool = False) -> None:
    assert res.status_int == 507
    assert res.json["error"] == "insufficient_storage"
    assert res.json["message"].startswith(MESSAGE) and "请联系管理员" in res.json["message"]
    assert res.json["ballast_released"] is ballast_used
    assert res.json["message"].endswith(ADMIN_BALLAST_USED if ballast_used else ADMIN_FREE_SPACE)


def logins_of(app, user: str, action: str = "login") -> int:
    with open_site(app.registry) as site:
        return sum(1 for e in site["audit"] if e["action"] == action and e["actor"] == user)


def test_full_disk_answers_507_and_loses_nothing(app, testapp, var_dir, in_progress_item):
    handler = api(testapp, "handler")
    auditor = api(testapp, "auditor")
    att = handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                         [("file", "a.png", noisy_png())]).json["id"]
    login(testapp, "handler")
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    leader_logins = logins_of(app, "leader")
    with open_site(app.registry) as site:
        attachments = len(site.get_item(in_progress_item).attachments)
    assert not (var_dir / "ballast").exists()  # 32 MB do not fit on this 16 MB disk
    fill(var_dir)

    # uploads: the blob cannot be written
    res = handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                         [("file", "b.png", noisy_png())], status=507)
    assert_json_507(res)
    form["file"] = ("c.png", noisy_png(), "image/png")
    page = form.submit(status=507)
    assert page.content_type == "text/html" and MESSAGE in page.text and "Traceback" not in page.text
    assert ADMIN_FREE_SPACE in page.text
    assert "已上传" not in testapp.get(item_url(in_progress_item)).text  # no flash of a lost upload

    # a login whose audit entry cannot be written is refused, and leaves the browser logged out
    def form_login() -> int:
        testapp.reset()
        res = login_attempt(testapp, "leader")
        if res.status_int == 507:
            assert MESSAGE in res.text
            assert "duban_session" not in res.headers.get("Set-Cookie", "")  # the session stays as it was
            assert testapp.get("/", status=303).location.endswith("/login?came_from=/")
        return res.status_int

    logged_in = until_refused(form_login)
    res = testapp.post_json("/api/v1/auth/token", {"username": "leader", "password": "duban-demo"}, status=507)
    assert_json_507(res)
    assert "token" not in res.json
    # a download, an auditor's look: refused while their audit entries cannot be written
    assert_json_507(auditor.get(f"/api/v1/attachments/{att}/content", status=507))
    assert_json_507(auditor.get(f"/api/v1/items/{in_progress_item}", status=507))

    # space again: everything works, and nothing of the refused requests was kept
    os.remove(var_dir / "padding")
    testapp.reset()
    login(testapp, "leader")
    assert logins_of(app, "leader") == leader_logins + logged_in + 1
    assert auditor.get(f"/api/v1/attachments/{att}/content").status_int == 200
    handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                   [("file", "d.png", noisy_png())])
    with open_site(app.registry) as site:
        names = sorted(a.filename for a in site.get_item(in_progress_item).attachments.values())
    assert len(names) == attachments + 1 and "d.png" in names and "b.png" not in names and "c.png" not in names


def login_attempt(testapp, username: str):
    form = testapp.get("/login").forms["login-form"]
    form["username"] = username
    form["password"] = "duban-demo"
    return form.submit(expect_errors=True)


@pytest.mark.parametrize("ballast_mb", ["2"])
def test_ballast_keeps_login_working_on_a_full_disk(app, testapp, var_dir, ini_path, in_progress_item, caplog):
    ballast = var_dir / "ballast"
    st = ballast.stat()
    assert st.st_size == 2 << 20 and st.st_blocks * 512 >= 2 << 20  # real blocks, not a sparse file
    assert stat.S_IMODE(st.st_mode) == 0o600
    handler = api(testapp, "handler")
    login(testapp, "handler")
    form = testapp.get(item_url(in_progress_item) + "/@@upload").forms["upload-form"]
    admin_logins = logins_of(app, "admin")
    with open_site(app.registry) as site:
        attachments = len(site.get_item(in_progress_item).attachments)
    fill(var_dir)

    # the first refusal releases the ballast: still 507, nothing kept, the admin told, CRITICAL logged
    with caplog.at_level(logging.INFO, logger="duban_archive"):
        res = handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                             [("file", "b.png", noisy_png())], status=507)
    assert_json_507(res, ballast_used=True)
    assert not ballast.exists()
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "ballast" in critical[0].getMessage()
    assert vardir.released_state(var_dir) == "audited"
    with open_site(app.registry) as site:
        released = [e for e in site["audit"] if e["action"] == "ballast_released"]
    assert len(released) == 1 and released[0]["request"].startswith("POST /api/v1/items/")

    # login works: the form (a session id kept on the user) and a token, both audited
    testapp.reset()
    res = login_attempt(testapp, "admin")
    assert res.status_int == 303, res.status
    assert testapp.get("/").status_int == 200  # logged in
    res = testapp.post_json("/api/v1/auth/token", {"username": "admin", "password": "duban-demo"})
    assert res.json["token"]
    assert logins_of(app, "admin") == admin_logins + 2

    # uploads stay refused while only the ballast's room is left (it is kept for logins)
    assert vardir.in_reserve(var_dir, 2 << 20)
    assert_json_507(handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                                   [("file", "c.png", noisy_png())], status=507), ballast_used=True)
    testapp.reset()
    login(testapp, "handler")
    form["file"] = ("d.png", noisy_png(), "image/png")
    page = form.submit(status=507)
    assert ADMIN_BALLAST_USED in page.text and "var/ballast" in page.text and "Traceback" not in page.text
    assert len([r for r in caplog.records if r.levelno == logging.CRITICAL]) == 1  # released once

    # space again: uploads work before any restart, and a restart recreates the ballast
    os.remove(var_dir / "padding")
    assert not vardir.in_reserve(var_dir, 2 << 20)
    handler.upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                   [("file", "e.png", noisy_png())])
    for db in app.registry._zodb_databases.values():
        db.close()
    from pyramid.paster import get_app

    restarted = get_app(ini_path)
    try:
        st = ballast.stat()
        assert st.st_size == 2 << 20 and st.st_blocks * 512 >= 2 << 20 and stat.S_IMODE(st.st_mode) == 0o600
        assert vardir.released_state(var_dir) is None
        with open_site(restarted.registry) as site:
            names = sorted(a.filename for a in site.get_item(in_progress_item).attachments.values())
            assert sum(1 for e in site["audit"] if e["action"] == "ballast_released") == 1
        assert len(names) == attachments + 1 and names.count("e.png") == 1
    finally:
        for db in restarted.registry._zodb_databases.values():
            db.close()
