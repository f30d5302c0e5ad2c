"""Helpers for the HTML view tests: items moved along the workflow, tiny images."""

from __future__ import annotations

import io

import pytest
import transaction


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def in_progress_item(app, make_item):
    """An item of 市住建局 signed for (办理中), so its handler may report and upload."""
    from duban_archive.content_types.site_access import open_site
    from duban_archive.security.roles import user_principals

    item_id = make_item(title="道路整治")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        for transition, user, data in (("approve", "leader", {}), ("assign", "supervisor", {"problem_kind": "general"}),
                                       ("accept", "unit_head", {})):
            u = site["users"][user]
            wf.fire(item, transition, user, user_principals(u.username, u.roles, u.unit), data, site=site)
        transaction.commit()
    return item_id


def item_url(item_id: str, board: str = "zdgz") -> str:
    return f"/boards/{board}/{item_id}"


@pytest.fixture
def configure(app):
    """Configure the running app further, as an add-on would: ``configure(includeme)`` (one commit,
    so conflicting registrations raise)."""
    from pyramid.config import Configurator

    def commit(includeme):
        config = Configurator(registry=app.registry)
        config.include(includeme)
        config.commit()

    return commit
