"""Fixity: a missing or altered blob file on disk is found, reported and audit-logged — never a crash.

Real FileStorage, real blob files: the tests damage the files a records office would
lose to a disk fault (one deleted, one with a flipped byte) and look at what the
officer sees — the command's exit code and Chinese lines, and the audit trail.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from contextlib import contextmanager

import transaction

from duban_archive.archive.filing import file_item
from duban_archive.archive.fixity import run_fixity, verify
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site
from duban_archive.scripts.cli import main

from .conftest import OFFICER, make_photo


def _flip(path: str, offset: int = 100) -> None:
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)  # ZODB makes committed blobs read-only
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def _file(app, item_id: str) -> None:
    with open_site(app.registry) as site:
        file_item(site, site.get_item(item_id), app.registry, retention="Y", actor="records_officer",
                  principals=OFFICER)
        transaction.commit()


def _close(app) -> None:
    """Release the FileStorage lock so the command (its own process in cron) can open it."""
    for db in app.registry._zodb_databases.values():
        db.close()


def _cli(capsys, ini_path: str) -> tuple[int, str, str]:
    """``duban-archive fixity INI`` in-process (DUBAN_VAR_DIR points at the fixture's var dir)."""
    capsys.readouterr()
    code = main(["fixity", ini_path])
    out = capsys.readouterr()
    return code, out.out, out.err


@contextmanager
def _reopened(ini_path: str):
    """The site as a later reader sees it, after the command has exited."""
    from pyramid.paster import get_app

    again = get_app(ini_path)
    try:
        with open_site(again.registry) as site:
            yield site
    finally:
        _close(again)


def _fixity_entries(site, target: str) -> list[dict]:
    if target:
        return [e for e in site["audit"].for_target(target) if e["action"] == "fixity"]
    return [e for e in site["audit"] if e["action"] == "fixity" and e["target"] == ""]


def _plain(entry: dict) -> bool:
    return all(isinstance(v, str | int) for k, v in entry.items() if k != "time")


def test_fixity_catches_a_flipped_byte(app, closed_item, ini_path, capsys):
    item_id = closed_item(photos=1, signed=0)
    _file(app, item_id)
    with open_site(app.registry) as site:
        report = verify(site)
        transaction.commit()
        assert report.ok and report.checked == 3  # package, dossier, one photo
        rec = site["archive"][item_id]
        package_path = rec.current.blob.committed()
        photo = next(iter(site.get_item(item_id).attachments.values()))
        photo_path = photo.blob.committed()
    _flip(package_path)
    _flip(photo_path, 500)
    _close(app)
    code, out, err = _cli(capsys, ini_path)
    assert code == 1
    assert "不一致 2 个" in out
    assert "发现 2 处问题（缺失 0，不一致 2）" in err and "归档包第 1 版" in err and "附件" in err
    with _reopened(ini_path) as site:
        logged = _fixity_entries(site, item_id)
        assert {e["what"] for e in logged} == {"归档包第 1 版", f"附件 {photo.__name__}（现场照片1.jpg）"}
        assert all(e["result"] == "mismatch" for e in logged)


def test_a_missing_blob_file_is_reported_and_every_other_blob_still_checked(app, closed_item, ini_path, capsys):
    item_id = closed_item(photos=2, signed=0)
    _file(app, item_id)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        photos = [item.attachments[name] for name in sorted(item.attachments.keys())]
        lost, kept = photos
        lost_name, lost_sha = lost.__name__, lost.sha256
        lost_path = lost.blob.committed()
        rec = site["archive"][item_id]
        package_path = rec.current.blob.committed()
        package_sha = rec.current.sha256
        others_bytes = kept.size + rec.current.size + rec.current.dossier_size
    os.remove(lost_path)  # a disk fault takes one photo's file away
    _flip(package_path)  # and a later blob is altered: the run must go on past the missing one

    with open_site(app.registry) as site:
        report = verify(site)
        transaction.abort()
    assert report.checked == 4 and report.missing == 1 and report.mismatched == 1
    assert report.bytes == others_bytes  # the surviving photo, the package and the dossier were read in full
    missing = next(f for f in report.findings if f.kind == "missing")
    assert (missing.item, missing.what, missing.expected) == (item_id, f"附件 {lost_name}（现场照片1.jpg）", lost_sha)
    assert "缺失" in missing.actual
    mismatch = next(f for f in report.findings if f.kind == "mismatch")
    assert mismatch.what == "归档包第 1 版" and mismatch.expected == package_sha

    _close(app)
    code, out, err = _cli(capsys, ini_path)
    assert code == 1
    assert "Traceback" not in err and "错误" not in err
    assert "已校验 4 个文件" in out and "缺失 1 个，不一致 1 个" in out
    assert f"缺失：{item_id} 附件 {lost_name}（现场照片1.jpg）：文件缺失" in err
    assert f"不一致：{item_id} 归档包第 1 版：应为 {package_sha}" in err
    assert "发现 2 处问题（缺失 1，不一致 1），已记入审计日志" in err
    with _reopened(ini_path) as site:
        logged = _fixity_entries(site, item_id)
        assert sorted((e["result"], e["what"]) for e in logged) == [
            ("mismatch", "归档包第 1 版"), ("missing", f"附件 {lost_name}（现场照片1.jpg）")]
        gone = next(e for e in logged if e["result"] == "missing")
        assert gone["expected"] == lost_sha and gone["actor"] == "system:fixity"
        summary = _fixity_entries(site, "")
        assert len(summary) == 1
        assert summary[0]["result"] == "problems"
        assert (summary[0]["checked"], summary[0]["missing"], summary[0]["mismatched"]) == (4, 1, 1)
        assert summary[0]["bytes"] == others_bytes
        assert all(_plain(e) for e in logged + summary)


def test_an_altered_attachment_of_an_item_not_yet_archived_is_a_mismatch(app, make_item, ini_path, capsys):
    item_id = make_item()
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        att = add_attachment(site, item, io.BytesIO(make_photo()), "整改前照片.jpg", "photo", "整改前", "handler",
                             max_bytes=10 ** 8)
        transaction.commit()
        assert not item.archived
        name, sha = att.__name__, att.sha256
        path = att.blob.committed()
    _flip(path, 300)
    with open(path, "rb") as f:
        now_sha = hashlib.sha256(f.read()).hexdigest()

    with open_site(app.registry) as site:
        report = verify(site)
        transaction.abort()
    assert report.checked == 1 and report.missing == 0 and report.mismatched == 1
    [finding] = report.findings
    assert finding.as_dict() == {"kind": "mismatch", "item": item_id, "what": f"附件 {name}（整改前照片.jpg）",
                                 "expected": sha, "actual": now_sha}

    _close(app)
    code, out, err = _cli(capsys, ini_path)
    assert code == 1 and "Traceback" not in err
    assert f"不一致：{item_id} 附件 {name}（整改前照片.jpg）：应为 {sha}，实为 {now_sha}" in err
    with _reopened(ini_path) as site:
        [entry] = _fixity_entries(site, item_id)
        assert (entry["result"], entry["expected"], entry["actual"]) == ("mismatch", sha, now_sha)


def test_a_clean_site_is_ok_exit_0_and_one_summary_entry_per_run(app, closed_item, make_item, ini_path, capsys):
    filed = closed_item(photos=1, signed=1)
    _file(app, filed)
    open_item = make_item()
    with open_site(app.registry) as site:
        add_attachment(site, site.get_item(open_item), io.BytesIO(make_photo()), "进度照片.jpg", "photo", "进度",
                       "handler", max_bytes=10 ** 8)
        transaction.commit()
        expected_bytes = sum(a.size for a in site.attachment_index.values())
        rec = site["archive"][filed]
        expected_bytes += rec.current.size + rec.current.dossier_size

    # the scheduler's entry point: its own connection and transaction manager, audit committed
    report = run_fixity(app.registry)
    assert report.ok and report.audited
    assert (report.checked, report.missing, report.mismatched) == (5, 0, 0)  # 3 attachments, package, dossier
    assert report.bytes == expected_bytes
    with open_site(app.registry) as site:
        [summary] = _fixity_entries(site, "")
        assert summary["result"] == "ok" and summary["actor"] == "system:fixity"
        assert (summary["checked"], summary["bytes"], summary["missing"], summary["mismatched"]) == (
            5, expected_bytes, 0, 0)
        assert _fixity_entries(site, filed) == [] and _fixity_entries(site, open_item) == []

    _close(app)
    code, out, err = _cli(capsys, ini_path)
    assert code == 0, err
    assert err == ""
    assert f"已校验 5 个文件，共 {expected_bytes} 字节；缺失 0 个，不一致 0 个" in out and "全部一致" in out
    with _reopened(ini_path) as site:
        runs = _fixity_entries(site, "")
        assert len(runs) == 2 and all(e["result"] == "ok" and _plain(e) for e in runs)
