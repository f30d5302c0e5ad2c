"""``duban-archive passwd INI USERNAME [--password P] [--temporary]``."""

from __future__ import annotations

import argparse

from duban_archive.testing import api, login, project_root

INI = str(project_root() / "testing.ini")
NEW = "Qiang-mima-2026"


def cli(var, monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from duban_archive.scripts.cli import main

    monkeypatch.setenv("DUBAN_VAR_DIR", str(var))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_passwd_sets_the_password_and_refuses_bad_ones(tmp_path, monkeypatch, capsys):
    var = tmp_path / "var"
    assert cli(var, monkeypatch, capsys, "init", INI, "--demo=empty")[0] == 0
    refusals = [
        (("nobody", "--password", NEW), "用户 nobody 不存在"),
        (("handler", "--password", "short1"), "密码至少 8 位"),
        (("handler", "--password", "handler-2026"), "不能包含用户名"),
        (("handler", "--password", "duban-demo"), "不能使用演示密码"),
    ]
    for args, message in refusals:
        code, _, err = cli(var, monkeypatch, capsys, "passwd", INI, *args)
        assert code == 1 and message in err, (args, err)
    answers = iter([NEW, NEW + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = cli(var, monkeypatch, capsys, "passwd", INI, "handler")
    assert code == 1 and "两次输入的密码不一致" in err

    code, out, _ = cli(var, monkeypatch, capsys, "passwd", INI, "handler", "--password", NEW)
    assert code == 0 and "已设置用户 handler 的密码" in out
    code, out, _ = cli(var, monkeypatch, capsys, "passwd", INI, "leader", "--password", NEW, "--temporary")
    assert code == 0 and "下次登录时须修改密码" in out

    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    from duban_archive.content_types.site_access import ROOT_KEY

    db = DB(FileStorage(str(var / "Data.fs"), blob_dir=str(var / "blobs")))
    try:
        site = db.open().root()[ROOT_KEY]
        users = site["users"]
        assert users["handler"].check_password(NEW) and not users["handler"].must_change_password
        assert users["leader"].check_password(NEW) and users["leader"].must_change_password
        assert users["supervisor"].check_password("duban-demo")  # the refusals changed nobody else
        ops = [(e["actor"], e["target"], e["op"]) for e in site["audit"].entries.values() if e["action"] == "user"]
        assert ops == [("cli", "user:handler", "change_password"), ("cli", "user:leader", "reset_password")]
    finally:
        db.close()


def test_passwd_revokes_sessions_and_tokens(app, testapp):
    from duban_archive.scripts.site_commands import _passwd

    client = api(testapp, "handler")
    login(testapp, "handler")
    args = argparse.Namespace(username="handler", temporary=False)
    assert _passwd(args, app.registry, NEW) == 0
    client.get("/api/v1/me", status=401)
    testapp.get("/", status=303)
    api(testapp, "handler", NEW).get("/api/v1/me")
