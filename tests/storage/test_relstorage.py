"""RelStorage on a real PostgreSQL: the multi-process layout, web processes and commands on one database."""

from __future__ import annotations

import hashlib
import io
import json
import os
import urllib.parse

import pytest
import transaction

from duban_archive.storage.relstorage import conf_text, create_schema, relstorage_uri, write_relstorage_conf
from duban_archive.testing import http_call, multipart

from .test_concurrent_uploads import NEW_ITEM, download, item_in_progress


@pytest.fixture
def relstorage_server(server_layout):
    """A live server on a fresh PostgreSQL database: ``server_layout``'s ``relstorage`` case."""
    return server_layout(workers=True)


#: only the RelStorage case of the ``server_layout`` fixture (tests/conftest.py)
on_relstorage = pytest.mark.parametrize("server_layout", ["relstorage"], indirect=True)


def tables(dsn: str) -> set[str]:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def png(size=(40, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_conf_keeps_the_dsn_verbatim_and_refuses_a_second_line(tmp_path):
    import ZConfig
    import ZODB.config

    dsn = "host=db.example port=5432 dbname=duban user=duban password=pa$word#1"
    conf = write_relstorage_conf(tmp_path, dsn)
    assert conf == tmp_path / "relstorage.conf" and (tmp_path / "blobcache").is_dir()
    config, _ = ZConfig.loadConfig(ZODB.config.getDbSchema(), str(conf))
    (main,) = config.database
    rs = main.config.storage.config
    assert (main.name, rs.keep_history, rs.shared_blob_dir, rs.create_schema) == ("main", False, False, True)
    assert rs.adapter.config.dsn == dsn
    assert relstorage_uri(conf) == "zconfig://" + urllib.parse.quote(str(conf.resolve())) + "#main"
    with pytest.raises(ValueError):
        conf_text("dbname=x\n</postgresql>", tmp_path)


def test_the_schema_is_created_on_first_open_and_blobs_live_in_postgresql(postgres, tmp_path):
    from ZODB import DB
    from ZODB.blob import Blob
    from zodburi import resolve_uri

    dsn = postgres.create_database("schema")
    assert "object_state" not in tables(dsn)
    conf = write_relstorage_conf(tmp_path / "a", dsn)
    create_schema(conf)
    created = tables(dsn)
    assert {"object_state", "blob_chunk"} <= created and "transaction" not in created  # history-free
    create_schema(conf)  # idempotent
    assert tables(dsn) == created

    # written through one process's cache, read through another's: the bytes come from PostgreSQL
    data = os.urandom(300_000)
    factory, dbkw = resolve_uri(relstorage_uri(conf))
    db = DB(factory(), **dbkw)
    try:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        conn.root()["blob"] = Blob(data)
        tm.commit()
        conn.close()
    finally:
        db.close()
    other = write_relstorage_conf(tmp_path / "b", dsn)
    factory, dbkw = resolve_uri(relstorage_uri(other))
    db = DB(factory(), **dbkw)
    try:
        conn = db.open(transaction_manager=transaction.TransactionManager())
        with conn.root()["blob"].open("r") as f:
            assert f.read() == data
        conn.close()
    finally:
        db.close()
    assert list((tmp_path / "b" / "blobcache").rglob("*.blob"))


@on_relstorage
def test_upload_and_download_through_a_server_on_relstorage(relstorage_server):
    server = relstorage_server
    assert not (server.var / "Data.fs").exists() and not (server.var / "zeo.sock").exists()
    item_id = item_in_progress(server)
    token = server.token("handler")
    sent = {"photo": ("现场照片.png", png()),
            "other": ("说明材料.pdf", b"%PDF-1.4\n" + os.urandom(150_000) + b"\n%%EOF\n")}
    urls = {}
    for kind, (filename, data) in sent.items():
        body, ctype = multipart({"kind": kind}, filename, data)
        status, meta = http_call(server.base, token, "POST", f"/api/v1/items/{item_id}/attachments", body, ctype)
        assert status == 201, meta
        assert (meta["kind"], meta["size"], meta["sha256"]) == (kind, len(data), hashlib.sha256(data).hexdigest())
        urls[kind] = meta["url"]
    reader = server.token("handler2")
    for kind, (_, data) in sent.items():
        status, got = download(server, reader, urls[kind])
        assert status == 200 and got == data, kind


@on_relstorage
def test_commands_join_the_database_while_the_site_serves(relstorage_server, tmp_path):
    server = relstorage_server
    ini = str(server.ini)
    sup = server.token("supervisor")
    title = "背街小巷整治多进程核验"
    status, item = http_call(server.base, sup, "POST", "/api/v1/boards/zdgz/items",
                        json.dumps({**NEW_ITEM, "title": title}).encode())
    assert status == 201, item
    for args in (("tick", ini), ("fixity", ini), ("pack", ini, "--days", "0"), ("reindex", ini, "--quiet")):
        done = server.cli(*args)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (args, done.stdout, done.stderr)
    assert "已重建全文索引" in done.stdout
    # backup copies Data.fs and blobs; PostgreSQL has its own tools, and the refusal names them
    done = server.cli("backup", ini, str(tmp_path / "backup"))
    assert done.returncode == 1 and "pg_dump" in done.stderr and "Traceback" not in done.stderr
    # the command sees what the web process committed
    out = tmp_path / "台账.xlsx"
    done = server.cli("export-ledger", ini, str(out), "--board", "zdgz")
    assert done.returncode == 0, done.stderr
    from openpyxl import load_workbook

    cells = {c.value for row in load_workbook(out).active.iter_rows() for c in row}
    assert title in cells
    # and the site keeps answering, with the index the command rebuilt
    status, again = http_call(server.base, sup, "GET", f"/api/v1/items/{item['id']}")
    assert status == 200 and again["title"] == title
    status, found = http_call(server.base, sup, "GET", "/api/v1/search?q=" + urllib.parse.quote("背街小巷整治"))
    assert status == 200 and item["id"] in json.dumps(found), found


@on_relstorage
def test_the_production_layout_indexes_through_a_separate_indexer_process(server_layout):
    """production.ini's example: web processes only queue; one `duban-archive indexer` applies the queue."""
    server = server_layout(workers=False, settings={"duban.external_indexer": "true"})
    sup = server.token("supervisor")
    status, item = http_call(server.base, sup, "POST", "/api/v1/boards/zdgz/items",
                        json.dumps({**NEW_ITEM, "title": "独立索引进程核验事项"}).encode())
    assert status == 201, item
    query = "/api/v1/search?q=" + urllib.parse.quote("独立索引进程核验")
    status, before = http_call(server.base, sup, "GET", query)
    assert status == 200 and item["id"] not in json.dumps(before)
    done = server.cli("indexer", str(server.ini), "--once")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    status, after = http_call(server.base, sup, "GET", query)
    assert status == 200 and item["id"] in json.dumps(after), after
