"""pytest fixtures for duban_archive, shipped as a plugin (as Kotti does).

Every test gets a real ZODB FileStorage with a blob directory in a temporary
data directory (``DUBAN_VAR_DIR``), the app built from ``testing.ini``, and
the demo site.  Use ``login(testapp, "handler")`` for a browser session or
``api(testapp, "handler")`` for a bearer-token client.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import transaction

DEMO_PASSWORD = "duban-demo"


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


@pytest.fixture
def var_dir(tmp_path, monkeypatch) -> Path:
    var = tmp_path / "var"
    monkeypatch.setenv("DUBAN_VAR_DIR", str(var))
    return var


@pytest.fixture
def ini_path(var_dir) -> str:
    return str(project_root() / "testing.ini")


@pytest.fixture
def app(ini_path, var_dir):
    """The WSGI app on a fresh FileStorage, with the demo site created."""
    from pyramid.paster import get_app

    from .content_types.bootstrap import add_demo_content
    from .content_types.site_access import open_site
    from .security import throttle

    throttle.reset()
    wsgi = get_app(ini_path)
    with open_site(wsgi.registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
    yield wsgi
    for db in wsgi.registry._zodb_databases.values():
        db.close()


@pytest.fixture
def registry(app):
    return app.registry


@pytest.fixture
def site(app):
    """The site on its own connection; call ``transaction.commit()`` to save.

    Requests made through ``testapp`` run in other connections: call
    ``site._p_jar.sync()`` (or ``transaction.begin()``) to see their changes.
    """
    from .content_types.site_access import open_site

    with open_site(app.registry) as s:
        yield s


@pytest.fixture
def testapp(app):
    from webtest import TestApp

    return TestApp(app, extra_environ={"HTTP_HOST": "127.0.0.1:6543", "REMOTE_ADDR": "127.0.0.1"})


def login(testapp, username: str, password: str = DEMO_PASSWORD):
    """Log in through the login form; returns the response after redirect."""
    form = testapp.get("/login").forms["login-form"]
    form["username"] = username
    form["password"] = password
    return form.submit().maybe_follow()


class ApiClient:
    """A bearer-token JSON client over WebTest."""

    def __init__(self, testapp, token: str) -> None:
        self.testapp = testapp
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url, status=200, **kw):
        return self.testapp.get(url, headers=self.headers, status=status, **kw)

    def post(self, url, body=None, status=200, **kw):
        return self.testapp.post_json(url, body if body is not None else {}, headers=self.headers,
                                      status=status, **kw)

    def patch(self, url, body, status=200, **kw):
        return self.testapp.patch_json(url, body, headers=self.headers, status=status, **kw)

    def upload(self, url, fields, files, status=201):
        return self.testapp.post(url, fields, upload_files=files, headers=self.headers, status=status)


def api(testapp, username: str, password: str = DEMO_PASSWORD) -> ApiClient:
    res = testapp.post_json("/api/v1/auth/token", {"username": username, "password": password})
    return ApiClient(testapp, res.json["token"])


@pytest.fixture
def make_item(app):
    """Create an item through the Python API: ``make_item(board="zdgz", **fields)``."""
    from datetime import date

    from .content_types.actions import create_item
    from .content_types.site_access import open_site

    def factory(board: str = "zdgz", actor: str = "supervisor", commit: bool = True, **fields):
        values = {
            "title": "推进老旧小区改造", "source": "区政府常务会议",
            "content": "完成 3 个老旧小区改造", "requirement": "按月报送进展",
            "lead_unit": "zjj", "assist_units": {"jtj"}, "deadline": date(2026, 12, 31),
        }
        values.update(fields)
        with open_site(app.registry) as site:
            item = create_item(site, site.boards[board], values, actor, app.registry)
            item_id = item.item_id
            if commit:
                transaction.commit()
        return item_id

    return factory


os.environ.setdefault("DUBAN_TESTING", "1")


def _share_compiled_templates() -> None:
    """Every test builds a new app, and Chameleon's in-memory loader caches nothing:
    without a cache directory each test recompiles every page template (~1 s each).
    Must run before chameleon is imported (this plugin loads first)."""
    import tempfile

    cache = Path(tempfile.gettempdir()) / f"duban-chameleon-{os.getuid()}"
    cache.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("CHAMELEON_CACHE", str(cache))


_share_compiled_templates()
