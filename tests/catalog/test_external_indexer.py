"""Production layout: web process and a separate ``duban-archive indexer`` on one ZEO database."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import transaction

from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import get_state
from duban_archive.content_types.actions import create_item
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import project_root

SUPERVISOR = ["system.Everyone", "system.Authenticated", "user:supervisor", "role:supervisor"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def zeo(tmp_path):
    """A ZEO server on 127.0.0.1 (``runzeo`` from the venv), stopped after the test."""
    port = _free_port()
    data = tmp_path / "zeo"
    data.mkdir()
    conf = data / "zeo.conf"
    conf.write_text(f"<zeo>\n  address 127.0.0.1:{port}\n</zeo>\n"
                    f"<filestorage 1>\n  path {data / 'Data.fs'}\n  blob-dir {data / 'blobs'}\n</filestorage>\n")
    runzeo = Path(sys.executable).with_name("runzeo")
    log = (data / "zeo.log").open("wb")  # a file, not a pipe nobody drains
    proc = subprocess.Popen([str(runzeo), "-C", str(conf)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("ZEO did not start: " + (data / "zeo.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
    yield port, data / "blobs"
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture
def zeo_ini(zeo, tmp_path, var_dir) -> str:
    port, blobs = zeo
    text = (project_root() / "testing.ini").read_text("utf-8").replace(
        "[app:main]\n",
        "[app:main]\n"
        f"zodbconn.uri = zeo://127.0.0.1:{port}?blob_dir={blobs}&shared_blob_dir=true\n"
        "duban.external_indexer = true\n", 1)
    path = tmp_path / "zeo.ini"
    path.write_text(text, "utf-8")
    return str(path)


def test_web_process_queues_and_the_indexer_process_indexes(zeo_ini, var_dir):
    from pyramid.paster import get_app

    from duban_archive.content_types.bootstrap import add_demo_content

    app = get_app(zeo_ini)
    try:
        catalog = get_catalog(app.registry)
        assert catalog.inline is False and catalog.worker is None  # the web process only queues
        catalog.engine.open()
        with open_site(app.registry, create=True) as site:
            add_demo_content(site)
            transaction.commit()
        with open_site(app.registry) as site:
            item = create_item(site, site.boards["zdgz"], {
                "title": "推进森林防火物资储备", "source": "市长专题会议", "content": "储备扑火物资，开展演练。",
                "requirement": "按月报送", "lead_unit": "zjj"}, "supervisor", app.registry)
            item_id = item.item_id
            transaction.commit()
        assert catalog.search(SUPERVISOR, "森林防火").total == 0  # queued, not yet indexed

        # the indexer runs while the web process keeps its database open: ZEO, not FileStorage
        env = dict(os.environ, DUBAN_VAR_DIR=str(var_dir))
        done = subprocess.run([sys.executable, "-m", "duban_archive.scripts.cli", "indexer", zeo_ini, "--once"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "完成" in done.stdout

        assert [h.id for h in catalog.search(SUPERVISOR, "森林防火").hits] == [item_id]
        with open_site(app.registry) as site:
            assert get_state(site).pending() == 0  # the indexer's cleanup reached the web process
    finally:
        for db in app.registry._zodb_databases.values():
            db.close()
