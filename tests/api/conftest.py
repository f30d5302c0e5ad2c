"""Fixtures for the API tests: an item moved to 办理中 and a snapshot of the database."""

from __future__ import annotations

import io

import pytest
import transaction

from duban_archive.content_types.site_access import open_site

NEW_ITEM = {
    "title": "推进老旧小区改造", "source": "区政府常务会议", "content": "完成 3 个老旧小区改造",
    "requirement": "按月报送进展", "lead_unit": "zjj", "assist_units": ["jtj"],
    "registered_on": "2026-11-20", "deadline": "2026-12-31",
}


def advance(app, item_id: str, *transitions: tuple[str, str]) -> None:
    """Fire ``(transition, actor)`` pairs through the workflow engine."""
    from duban_archive.security.roles import user_principals

    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor in transitions:
            user = site["users"][actor]
            wf.fire(item, name, actor, user_principals(actor, user.roles, user.unit), site=site)
        transaction.commit()


@pytest.fixture
def in_progress(app, make_item):
    """An item led by 住建局 (zjj), assisted by 交通局 (jtj), signed for and being handled."""
    item_id = make_item(lead_unit="zjj", assist_units={"jtj"})
    advance(app, item_id, ("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head"))
    return item_id


def png_bytes(size=(4, 3), color=(200, 30, 30)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def snapshot(app, item_id: str | None = None) -> dict:
    """What a refused request must not change: last transaction, counts, the item's fields."""
    with open_site(app.registry) as site:
        db = site._p_jar.db()
        snap = {
            "last_txn": db.lastTransaction(),
            "items": len(site.item_index),
            "audit": len(site["audit"].entries),
            "attachments": len(site.attachment_index),
            "counters": {k: c.value for k, c in site.counters.items()},
        }
        if item_id:
            item = site.get_item(item_id)
            typedef = app.registry.duban_types[item.type_name]
            snap["item"] = {f.name: getattr(item, f.name, None) for f in typedef.fields}
            snap["item_state"] = (item.state, len(item.history), item.modified)
            snap["records"] = (len(item.feedback), len(item.attachments), len(item.instructions))
        return snap
