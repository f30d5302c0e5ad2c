"""Pack, backup and restore against real processes and real FileStorage; the maintenance schedule."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, time
from pathlib import Path

import pytest
import transaction

from duban_archive.storage.maintenance import MaintenanceBusy, maintenance_lock
from duban_archive.storage.schedule import (
    MaintenanceWorker,
    Schedule,
    fixity_due,
    latest_slot,
    load_state,
    pack_due,
    parse_schedule,
)
from duban_archive.testing import LiveServer, http_call, multipart
from duban_archive.timeutil import CST

from .test_concurrent_uploads import download, item_in_progress


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png(n: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40 + n, 30), (200, 30 + n, 30)).save(out, "PNG")
    return out.getvalue()


def ok(done, *expected: str) -> str:
    assert done.returncode == 0 and "Traceback" not in done.stderr, (done.stdout, done.stderr)
    for text in expected:
        assert text in done.stdout, done.stdout
    return done.stdout


def refused(done, *expected: str) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("错误：")]
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def snapshot(var: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, int]]:
    """Every file of a data directory: digest and modification time."""
    out = {}
    for path in sorted(var.rglob("*")):
        if path.is_file() and path.name not in skip:
            out[str(path.relative_to(var))] = (sha256(path.read_bytes()), path.stat().st_mtime_ns)
    return out


def restored_site(var: Path) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """Open a restored data directory as plain ZODB: item id -> title, attachment id -> sha256 of
    the blob, and the audit log's (action, actor) pairs.

    Every attachment's blob is read back and must match the digest stored with it.
    """
    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    from duban_archive.content_types.site_access import ROOT_KEY

    db = DB(FileStorage(str(var / "Data.fs"), blob_dir=str(var / "blobs"), read_only=True))
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        site = conn.root()[ROOT_KEY]
        items, blobs = {}, {}
        for item_id, item in site.item_index.items():
            items[item_id] = item.title
            for name, att in item["attachments"].items():
                with att.blob.open("r") as f:
                    digest = sha256(f.read())
                assert digest == att.sha256, (item_id, name)
                blobs[name] = digest
        assert set(site.attachment_index.keys()) == set(blobs)
        audit = [(e["action"], e["actor"]) for e in site["audit"]]
        conn.close()
        return items, blobs, audit
    finally:
        db.close()


def test_backup_pack_and_restore_while_the_site_serves(live_server, tmp_path):
    server = live_server(storage="zeo", workers=True)
    ini, var, dest = str(server.ini), server.var, tmp_path / "备份"
    items = [item_in_progress(server) for _ in range(2)]
    handler = server.token("handler")
    uploaded: dict[str, tuple[str, str]] = {}  # attachment id -> (url, sha256 the API reported)

    def upload(item: str, kind: str, filename: str, data: bytes) -> None:
        body, ctype = multipart({"kind": kind}, filename, data)
        status, res = http_call(server.base, handler, "POST", f"/api/v1/items/{item}/attachments", body, ctype)
        assert status == 201, res
        assert res["sha256"] == sha256(data)
        uploaded[res["id"]] = (res["url"], res["sha256"])

    for n, item in enumerate(items):
        upload(item, "photo", f"现场照片{n}.png", png(n))
        upload(item, "other", f"整改说明{n}.txt", ("整改说明\n" + os.urandom(40_000).hex()).encode())

    # 1. a full backup while the site serves
    ok(server.cli("backup", ini, str(dest)), "完整备份")
    manifest = json.loads((dest / "backup.json").read_text("utf-8"))
    assert manifest["repozo"]["kind"] == "full" and manifest["blobs"]["files"] >= 4
    assert manifest["blobs"]["copied"] == manifest["blobs"]["files"]

    # 2. more work, then an incremental backup into the same directory: only what changed is added
    upload(items[0], "signed_report", "盖章报告.pdf", b"%PDF-1.4\n" + os.urandom(120_000) + b"\n%%EOF\n")
    ok(server.cli("backup", ini, str(dest)), "增量备份")
    manifest = json.loads((dest / "backup.json").read_text("utf-8"))
    assert manifest["repozo"]["kind"] == "incremental" and manifest["repozo"]["new"][0].endswith(".deltafsz")
    assert manifest["blobs"]["copied"] == 1

    # 3. pack while the site serves: the file does not grow and every upload still downloads
    before = (var / "Data.fs").stat().st_size
    ok(server.cli("pack", ini, "--days", "0"), "数据库已压缩", "已记入审计日志")
    assert (var / "Data.fs").stat().st_size <= before
    for url, digest in uploaded.values():
        status, data = download(server, handler, url)
        assert status == 200 and sha256(data) == digest

    # 4. after a pack repozo needs a full copy again
    ok(server.cli("backup", ini, str(dest)), "完整备份")

    # 5. restore refuses the live data directory, even with --force, and changes nothing
    # (what restore would write: the database's index and blobs; Data.fs itself changes as the site works)
    index = var / "Data.fs.index"
    live_before = snapshot(var / "blobs"), index.exists() and index.stat().st_mtime_ns
    refused(server.cli("restore", ini, str(dest), "--force"), "站点正在运行")
    assert (snapshot(var / "blobs"), index.exists() and index.stat().st_mtime_ns) == live_before

    # 6. restore into a fresh data directory and read everything back
    fresh = LiveServer(tmp_path / "fresh", storage="embedded", workers=False)
    ok(fresh.cli("restore", str(fresh.ini), str(dest)), "已从", "reindex")
    restored_items, restored_blobs, audit = restored_site(fresh.var)
    assert set(items) <= set(restored_items)
    assert {att: digest for att, (_, digest) in uploaded.items()} == {
        att: restored_blobs[att] for att in uploaded}
    assert ("pack", "system:cli") in audit
    # the restored directory opens through the application too: every blob matches its digest
    ok(fresh.cli("fixity", str(fresh.ini)), "全部一致")


def test_restore_refuses_an_existing_database_and_changes_nothing(tmp_path):
    from ZODB.FileStorage import FileStorage

    origin = LiveServer(tmp_path / "origin", storage="embedded", workers=False)
    ok(origin.cli("init", str(origin.ini), "--demo=empty"))
    dest = tmp_path / "backup"
    ok(origin.cli("backup", str(origin.ini), str(dest)), "完整备份")

    target = LiveServer(tmp_path / "target", storage="embedded", workers=False)
    ok(target.cli("init", str(target.ini), "--demo=empty"))  # another database already lives here
    before = snapshot(target.var)
    refused(target.cli("restore", str(target.ini), str(dest)), "已存在", "--force")
    assert snapshot(target.var) == before

    # a process holds the database: --force refuses as well
    fs = FileStorage(str(target.var / "Data.fs"), blob_dir=str(target.var / "blobs"))
    try:
        held = snapshot(target.var, skip=("Data.fs.lock",))
        refused(target.cli("restore", str(target.ini), str(dest), "--force"), "正被另一个进程使用")
        assert snapshot(target.var, skip=("Data.fs.lock",)) == held
    finally:
        fs.close()

    # nobody holds it: --force replaces it with exactly the backed-up database
    ok(target.cli("restore", str(target.ini), str(dest), "--force"), "已从")
    assert sha256((target.var / "Data.fs").read_bytes()) == sha256((origin.var / "Data.fs").read_bytes())

    # not a backup directory at all
    refused(target.cli("restore", str(target.ini), str(tmp_path / "nothing"), "--force"), "不是备份目录")


# -- the schedule -------------------------------------------------------------------------------------

def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=CST)


def test_the_schedule_runs_in_the_window_after_pack_at_once_per_night():
    nightly = Schedule(pack_days=7, pack_at=time(3, 30), fixity_every_days=7)
    assert latest_slot(at(10, 3, 31), time(3, 30)) == at(10, 3, 30)
    assert latest_slot(at(10, 3, 29), time(3, 30)) == at(9, 3, 30)
    assert latest_slot(at(10, 3, 30), time(3, 30)) == at(10, 3, 30)

    done_last_night = at(9, 3, 31)
    assert pack_due(at(10, 3, 30), done_last_night, nightly)
    assert pack_due(at(10, 6, 30), done_last_night, nightly)  # a night missed while down: caught up early
    assert not pack_due(at(10, 6, 31), done_last_night, nightly)  # but never in office hours
    assert not pack_due(at(10, 3, 29), done_last_night, nightly)  # not yet
    assert not pack_due(at(10, 3, 45), at(10, 3, 31), nightly)  # a restart after tonight's run
    assert not pack_due(at(10, 12, 0), at(10, 11, 0), nightly)  # first start at 11:00: next night
    assert pack_due(at(11, 3, 30), at(10, 11, 0), nightly)
    assert not pack_due(at(10, 3, 31), done_last_night, Schedule(pack_days=None))
    # the clock may come in another zone: 19:31 UTC is 03:31 CST
    assert pack_due(datetime.fromisoformat("2026-03-09T19:31:00+00:00"), done_last_night, nightly)

    assert fixity_due(at(16, 3, 31), at(9, 3, 35), nightly)  # 7 calendar days later
    assert fixity_due(at(16, 3, 31), at(9, 5, 0), nightly)  # the last run started late
    assert not fixity_due(at(15, 3, 31), at(9, 3, 35), nightly)
    assert not fixity_due(at(16, 9, 0), at(9, 3, 35), nightly)  # outside the window
    assert not fixity_due(at(16, 3, 31), at(16, 3, 30), nightly)
    assert fixity_due(at(10, 3, 31), at(9, 3, 35), Schedule(fixity_every_days=1))
    assert not fixity_due(at(30, 3, 31), at(9, 3, 35), Schedule(fixity_every_days=None))


def test_schedule_settings_are_validated():
    assert parse_schedule({}) == Schedule(pack_days=7, pack_at=time(3, 30), fixity_every_days=7)
    assert parse_schedule({"duban.pack_days": "off", "duban.pack_at": "23:05",
                           "duban.fixity_every_days": "0"}) == Schedule(None, time(23, 5), None)
    assert parse_schedule({"duban.pack_days": "30"}).pack_days == 30
    for bad in ({"duban.pack_at": "25:00"}, {"duban.pack_at": "半夜"}, {"duban.pack_days": "一周"},
                {"duban.fixity_every_days": "-1"}):
        with pytest.raises(ValueError, match="duban"):
            parse_schedule(bad)


def test_worker_sets_a_baseline_then_packs_nightly_and_checks_fixity_weekly(app, var_dir):
    from duban_archive.content_types.site_access import open_site

    schedule = Schedule(pack_days=0, pack_at=time(3, 30), fixity_every_days=7)
    worker = MaintenanceWorker(app.registry, schedule)
    assert worker.run_once(at(9, 10)) == []  # first start: a baseline, nothing run
    assert load_state(var_dir)["baseline"].startswith("2026-03-09T10:00")
    assert worker.run_once(at(9, 23)) == []
    assert worker.run_once(at(10, 3, 31)) == ["pack"]
    state = load_state(var_dir)
    assert state["pack"]["ok"] is True and state["pack"]["audited"] is True
    assert state["pack"]["at"].startswith("2026-03-10T03:31")
    # a restarted process reads var/maintenance.json and does not run it again
    assert MaintenanceWorker(app.registry, schedule).run_once(at(10, 3, 45)) == []
    # another maintenance task holds the lock: the worker tries again later
    with maintenance_lock(var_dir), pytest.raises(MaintenanceBusy):
        worker.run_once(at(11, 3, 31))
    assert worker.run_once(at(11, 3, 32)) == ["pack"]
    assert worker.run_once(at(16, 4)) == ["pack", "fixity"]
    state = load_state(var_dir)
    assert state["fixity"]["ok"] is True and state["fixity"]["audited"] is True
    with open_site(app.registry) as site:
        entries = [e for e in site["audit"] if e["actor"] == "system:schedule"]
    assert [e["action"] for e in entries].count("pack") == 3
    assert "fixity" in [e["action"] for e in entries]


def test_worker_thread_starts_and_stops(app, var_dir):
    worker = MaintenanceWorker(app.registry, Schedule(), poll=0.05)
    worker.start()
    try:
        for _ in range(200):
            if load_state(var_dir).get("baseline"):
                break
            worker.stopped.wait(0.05)
        assert load_state(var_dir).get("baseline")
    finally:
        worker.stop()
        worker.join(timeout=10)
    assert not worker.is_alive()


def test_includeme_starts_the_worker_only_with_run_workers_and_refuses_bad_settings(tmp_path):
    from pyramid.config import Configurator

    def build(**settings):
        config = Configurator(settings={"duban.var_dir": str(tmp_path), **settings})
        config.include("duban_archive.storage.schedule")
        config.make_wsgi_app()
        return config.registry

    assert not hasattr(build(), "duban_maintenance")
    registry = build(**{"duban.run_workers": "true", "duban.maintenance_poll": "0.05", "duban.pack_days": "off"})
    worker = registry.duban_maintenance
    try:
        assert registry.duban_maintenance_schedule.pack_days is None and worker.is_alive()
        for _ in range(200):
            if load_state(tmp_path).get("baseline"):
                break
            worker.stopped.wait(0.05)
        assert load_state(tmp_path).get("baseline")
    finally:
        worker.stop()
        worker.join(timeout=10)
    with pytest.raises(ValueError, match="duban.pack_at"):
        build(**{"duban.pack_at": "3点半"})


def test_backups_within_one_second_restore_the_latest_state(tmp_path):
    """Repozo names files by the second; a full and an incremental of one second would restore corrupt."""
    from ZODB import DB
    from ZODB.FileStorage import FileStorage

    from duban_archive.storage.maintenance import backup, restore

    var, dest = tmp_path / "var", tmp_path / "backup"
    (var / "blobs").mkdir(parents=True, mode=0o700)
    kinds = []
    for n in range(3):
        db = DB(FileStorage(str(var / "Data.fs"), blob_dir=str(var / "blobs")))
        conn = db.open()
        conn.root()[f"k{n}"] = "督办" * (n + 1)
        transaction.commit()
        conn.close()
        db.close()
        kinds.append(backup(var, dest)["repozo"]["kind"])
    assert kinds == ["full", "incremental", "incremental"]
    names = sorted(p.name for p in (dest / "repozo").iterdir() if p.name.endswith(("fsz", ".deltafsz")))
    assert len({name.split(".")[0] for name in names}) == 3  # three different seconds
    result = restore(dest, tmp_path / "restored")
    assert result["size"] == (var / "Data.fs").stat().st_size
    assert (tmp_path / "restored" / "Data.fs").read_bytes() == (var / "Data.fs").read_bytes()
