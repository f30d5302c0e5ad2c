"""Evolve steps, run on data written as older code (or a bug) left it."""

from __future__ import annotations

import io

import pytest
import transaction
from openpyxl import load_workbook

from duban_archive.content_types.actions import add_attachment, add_feedback, add_instruction
from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import repair_text
from duban_archive.testing import api, login

from ..views.conftest import item_url, png_bytes


def _spoil(app, item_id: str) -> None:
    """Bad text written straight into the objects, past every validation (as before issue 12)."""
    registry = app.registry
    with open_site(registry) as site:
        item = site.get_item(item_id)
        item.title = "铃声\x07标题 Cafe\u0301"
        item.content = "第一行\x1b[31m\t甲\n第二行\ud83d"
        item.leader = "李\n副市长"
        item.assist_units = ("jtj\x07",)
        add_feedback(site, item, {"done": "完成\ud83d", "progress": "进展\x00", "next_steps": "",
                                  "signed_by": "", "sealed": False}, "handler", registry)
        add_instruction(site, item, {"text": "请\x07落实", "leader": "李副市长"}, "leader", registry)
        att = add_attachment(site, item, io.BytesIO(png_bytes()), "photo.png", "photo", "现场", "handler",
                             max_bytes=10 ** 7)
        att.title, att.filename = "现场\x07照片", "x\x1b\ud83d.png"
        item.history.append({**item.history[-1], "comment": "意见\x07\ud83d\n第二行"})
        transaction.commit()


def test_repair_text_makes_a_spoiled_item_viewable_exportable_and_searchable(app, testapp, make_item):
    item_id = make_item(title="原来的标题", assist_units=set())
    _spoil(app, item_id)
    sup = api(testapp, "supervisor")
    assert sup.get("/api/v1/search", params={"q": "铃声标题"}).json["total"] == 0  # never indexed
    login(testapp, "supervisor")
    with pytest.raises(UnicodeEncodeError):  # what the tester saw: the page cannot be written out
        testapp.get(item_url(item_id))

    with open_site(app.registry) as site:
        assert [name for _, name, _ in pending(site)] == []  # a new site is born clean, at the latest generation
        message = repair_text(site, app.registry)
        transaction.commit()
    assert message.startswith("修复 1 个事项的文本")

    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        assert item.title == "铃声标题 Caf\u00e9"  # control out, NFC
        assert item.content == "第一行[31m\t甲\n第二行"  # a multi-line field keeps tab and newline
        assert item.leader == "李 副市长"  # a one-line field: the line break became a space
        assert item.assist_units == ("jtj",)
        (fb,) = item.feedback.values()
        assert (fb.done, fb.progress) == ("完成", "进展")
        assert next(iter(item.instructions.values())).text == "请落实"
        (att,) = item.attachments.values()
        assert (att.title, att.filename) == ("现场照片", "x.png")
        assert item.history[-1]["comment"] == "意见\n第二行"

    page = testapp.get(item_url(item_id))
    assert "铃声标题 Café" in page.text and "完成" in page.text
    ledger = load_workbook(io.BytesIO(sup.get("/api/v1/ledger.xlsx").body)).active
    assert "铃声标题 Café" in [c.value for c in ledger[2]]
    hits = sup.get("/api/v1/search", params={"q": "铃声标题"}).json
    assert [r["id"] for r in hits["results"]] == [item_id]

    with open_site(app.registry) as site:  # idempotent
        assert repair_text(site, app.registry).startswith("修复 0 个事项的文本")
        transaction.abort()


def test_repair_text_names_items_a_font_cannot_draw_and_leaves_archived_ones(app, make_item):
    item_id = make_item(title="辛苦了🥰")
    frozen_id = make_item(title="已归档")
    with open_site(app.registry) as site:
        site.get_item(frozen_id).archived = True
        site.get_item(frozen_id).title = "已归档\x07"
        transaction.commit()
    with open_site(app.registry) as site:
        message = repair_text(site, app.registry)
        assert site.get_item(frozen_id).title == "已归档\x07"  # frozen: never rewritten
        transaction.commit()
    assert f"1 个已归档事项含不合规字符，已冻结未改：{frozen_id}" in message
    assert f"1 个事项含无可用字体的字符，须人工修改后才能归档：{item_id}" in message
