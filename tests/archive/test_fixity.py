"""Fixity: a flipped byte in a blob on disk is found, reported and audit-logged."""

from __future__ import annotations

import os
import stat

import transaction

from duban_archive.archive.filing import file_item
from duban_archive.archive.fixity import verify
from duban_archive.content_types.site_access import open_site
from duban_archive.scripts.cli import build_parser

from .conftest import OFFICER


def _flip(path: str, offset: int = 100) -> None:
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)  # ZODB makes committed blobs read-only
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))


def test_fixity_catches_a_flipped_byte(app, closed_item, ini_path, capsys):
    item_id = closed_item(photos=1, signed=0)
    with open_site(app.registry) as site:
        file_item(site, site.get_item(item_id), app.registry, retention="Y", actor="records_officer",
                  principals=OFFICER)
        transaction.commit()
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
    # the command, as cron runs it (its own connection to the same storage)
    for db in app.registry._zodb_databases.values():
        db.close()
    args = build_parser().parse_args(["fixity", ini_path])
    assert args.func(args) == 1
    err = capsys.readouterr().err
    assert "发现 2 处不一致" in err and "归档包第 1 版" in err and "附件" in err
    from pyramid.paster import get_app

    again = get_app(ini_path)
    try:
        with open_site(again.registry) as site:
            logged = [e for e in site["audit"].for_target(item_id) if e["action"] == "fixity"]
            assert {e["what"] for e in logged} == {"归档包第 1 版", f"附件 {photo.__name__}（现场照片1.jpg）"}
            assert all(e["result"] == "mismatch" for e in logged)
    finally:
        for db in again.registry._zodb_databases.values():
            db.close()
