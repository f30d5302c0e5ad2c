"""The text policy through the JSON API (issue 12): refused text is a 400 naming the field, nothing written."""

from __future__ import annotations

import io

import transaction
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api

from .conftest import NEW_ITEM, png_bytes, snapshot

BEL = "含有不允许的控制字符（U+0007），请删除后重新提交"
SURROGATE = "孤立的代理项 U+D83D"


def test_lone_surrogate_in_feedback_is_refused_and_nothing_is_written(testapp, app, in_progress):
    handler = api(testapp, "handler")
    url = f"/api/v1/items/{in_progress}/feedback"
    before = snapshot(app, in_progress)
    # the JSON escape exactly as a broken client sends it: half of 👍 (U+D83D U+DC4D)
    raw = b'{"done": "\\u5b8c\\u6210\\ud83d", "progress": "\\u5df2\\u5b8c\\u6210"}'
    res = testapp.post(url, raw, headers={**handler.headers, "Content-Type": "application/json"}, status=400)
    assert res.json["error"] == "invalid" and SURROGATE in res.json["fields"]["done"]
    res = handler.post(url, {"done": "完成", "progress": "进展\ud83d", "next_steps": "下\udc4d步"}, status=400)
    assert set(res.json["fields"]) == {"progress", "next_steps"}
    assert snapshot(app, in_progress) == before
    # the item stays healthy: its page, its JSON, and a good report with the whole emoji
    assert handler.post(url, {"done": "完成👍", "progress": "已完成✅"}, status=201).json["done"] == "完成👍"
    assert handler.get(f"/api/v1/items/{in_progress}").json["feedback"][0]["progress"] == "已完成✅"


def test_control_character_in_a_title_is_refused_on_create_batch_and_patch(testapp, app, make_item):
    sup = api(testapp, "supervisor")
    before = snapshot(app)
    res = sup.post("/api/v1/boards/zdgz/items", {**NEW_ITEM, "title": "铃声\x07标题"}, status=400)
    assert res.json["fields"] == {"title": BEL}
    res = sup.post("/api/v1/boards/zdgz/items", {**NEW_ITEM, "title": "两行\n标题", "content": "内容\n第二行"},
                   status=400)
    assert res.json["fields"] == {"title": "此栏只能填写一行，不能含有换行（U+000A），请删除后重新提交"}
    res = sup.post("/api/v1/boards/zdgz/items", {**NEW_ITEM, "source": "来源\x1b[0m", "content": "内容\x00"},
                   status=400)
    assert set(res.json["fields"]) == {"source", "content"} and "U+001B" in res.json["fields"]["source"]
    res = sup.post("/api/v1/boards/zdgz/items", [NEW_ITEM, {**NEW_ITEM, "leader": "李\x9b"}], status=400)
    assert res.json["fields"] == {"1.leader": "含有不允许的控制字符（U+009B），请删除后重新提交"}
    assert snapshot(app) == before

    item_id = make_item()
    before = snapshot(app, item_id)
    res = sup.patch(f"/api/v1/items/{item_id}", {"title": "新标题\x07"}, status=400)
    assert res.json["fields"] == {"title": BEL}
    res = sup.patch(f"/api/v1/items/{item_id}", {"content": "辛苦了🥰"}, status=400)
    assert "没有可用字体" in res.json["fields"]["content"] and "U+1F970" in res.json["fields"]["content"]
    assert snapshot(app, item_id) == before
    # tab and newline are fine where the field has several lines
    assert sup.patch(f"/api/v1/items/{item_id}", {"content": "一、\t甲\n二、乙"}).json["content"] == "一、\t甲\n二、乙"


def test_accepted_text_is_stored_in_nfc_with_emoji_and_rare_name_characters(testapp, app):
    sup = api(testapp, "supervisor")
    body = {**NEW_ITEM, "title": "Cafe\u0301 整治 👍", "contact": "吉𠮷", "content": "完成✅ ✔️"}
    created = sup.post("/api/v1/boards/zdgz/items", body, status=201).json
    item = sup.get(created["url"]).json
    assert item["title"] == "Café 整治 👍" and item["contact"] == "吉𠮷" and item["content"] == "完成✅ ✔️"
    with open_site(app.registry) as site:
        stored = site.get_item(created["id"])
        assert stored.title == "Caf\u00e9 整治 👍" and "\u0301" not in stored.title


def test_transition_comment_and_untyped_json_fields_follow_the_policy(testapp, app, make_item):
    item_id = make_item()
    leader = api(testapp, "leader")
    before = snapshot(app, item_id)
    url = f"/api/v1/items/{item_id}/transitions/approve"
    res = leader.post(url, {"comment": "同意\x07"}, status=400)
    assert res.json["fields"] == {"comment": BEL}
    res = leader.post(url, {"comment": "同意🥰"}, status=400)  # the engine's own schema: glyphs checked
    assert "U+1F970" in res.json["fields"]["comment"]
    assert snapshot(app, item_id) == before
    assert leader.post(url, {"comment": "同意。\n请抓紧👍"}).json


def test_search_query_with_a_control_character_is_400_not_500(testapp, make_item):
    make_item(title="燃气管道改造")
    sup = api(testapp, "supervisor")
    res = sup.get("/api/v1/search", params={"q": "燃气\x07"}, status=400).json
    assert res["fields"]["q"] == BEL
    res = sup.get("/api/v1/search", params={"q": "燃气\x07", "format": "xlsx"}, status=400).json
    assert res["fields"]["q"] == BEL
    export = sup.get("/api/v1/search", params={"q": "燃气", "format": "xlsx"})
    assert load_workbook(io.BytesIO(export.body)).active.max_row >= 2


def test_attachment_title_is_refused_and_file_name_cleaned(testapp, app, in_progress):
    handler = api(testapp, "handler")
    url = f"/api/v1/items/{in_progress}/attachments"
    before = snapshot(app, in_progress)
    res = handler.upload(url, {"kind": "photo", "title": "现场\x07照片"}, [("file", "photo.png", png_bytes())],
                         status=400)
    assert "附件标题含有不允许的控制字符（U+0007）" in res.json["message"]
    assert snapshot(app, in_progress) == before
    # the name: control and bidi characters out (a right-to-left override would disguise the extension)
    meta = handler.upload(url, {"kind": "photo", "title": "现场照片👍"},
                          [("file", "现场\x07照\x1b片\u202e.png", png_bytes())]).json
    assert meta["filename"] == "现场照片.png" and meta["title"] == "现场照片👍"
    meta = handler.upload(url, {"kind": "photo"}, [("file", "辛苦🥰.png", png_bytes())]).json
    assert meta["filename"] == "辛苦_.png"  # no dossier font draws 🥰: the name stays fileable
    transaction.begin()
