"""台账 import over the JSON API: preview (nothing written), import (all or nothing), template."""

from __future__ import annotations

import io
import json

from openpyxl import Workbook, load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api
from duban_archive.timeutil import today

YEAR = today().year
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "完成时限"]


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


ROWS = [HEADER, [1, "老旧小区改造", "常务会议", "完成 3 个小区", "按月报送", "住建局", "2026年12月20日"],
        [2, "道路维修", "领导批示", "修复 2 条道路", "按周报送", "市交通运输局", "20261225"]]


def test_preview_names_the_columns_and_writes_nothing(testapp, app):
    client = api(testapp, "supervisor")
    res = client.upload("/api/v1/boards/rcgl/ledger/preview", [], [("file", "台账.xlsx", xlsx(ROWS))], status=200)
    body = res.json
    assert body["rows"] == 2 and body["valid"] == 2 and body["ok"] is True and body["errors"] == []
    assert [(c["column"], c["header"], c["field"]) for c in body["columns"][:3]] == [
        ("A", "序号", ""), ("B", "事项名称", "title"), ("C", "任务来源", "source")]
    assert body["columns"][5]["title"] == "主办单位"
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0


def test_import_creates_every_row_and_answers_the_numbers(testapp, app):
    client = api(testapp, "supervisor")
    res = client.upload("/api/v1/boards/rcgl/ledger/import", [], [("file", "台账.xlsx", xlsx(ROWS))], status=201)
    assert res.json["count"] == 2
    assert [i["number"] for i in res.json["items"]] == [f"RCGL-{YEAR}-0001", f"RCGL-{YEAR}-0002"]
    item = client.get(res.json["items"][1]["url"]).json
    assert item["deadline"] == "2026-12-25" and item["lead_unit"] == "jtj"


def test_a_bad_row_answers_every_problem_and_imports_nothing(testapp, app):
    client = api(testapp, "supervisor")
    rows = [*ROWS, [3, "河道清理", "来信", "清理", "按月", "发改局", "年底前"]]
    res = client.upload("/api/v1/boards/rcgl/ledger/import", [], [("file", "台账.xlsx", xlsx(rows))], status=400)
    body = res.json
    assert body["error"] == "ledger_invalid" and "未导入任何事项" in body["message"]
    got = {(e["row"], e["column"], e["field"]) for e in body["errors"]}
    assert got == {(4, "F", "lead_unit"), (4, "G", "deadline")}
    assert "“发改局”不在单位列表中" in body["fields"]["4.lead_unit"]
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0 and f"RCGL-{YEAR}" not in site.counters


def test_mapping_overrides_a_column_by_letter_or_heading(testapp, app):
    client = api(testapp, "supervisor")
    rows = [["事项", "单位", "来源", "内容", "要求"], ["背街小巷整治", "市城管局", "来信", "整治", "按月"]]
    res = client.upload("/api/v1/boards/rcgl/ledger/preview", [], [("file", "a.xlsx", xlsx(rows))], status=200)
    assert not res.json["ok"] and any(e["field"] == "lead_unit" for e in res.json["errors"])
    mapping = json.dumps({"B": "lead_unit", "来源": "source", "内容": "content", "要求": "requirement"})
    res = client.upload("/api/v1/boards/rcgl/ledger/import", [("mapping", mapping)],
                        [("file", "a.xlsx", xlsx(rows))], status=201)
    with open_site(app.registry) as site:
        assert site.get_item(res.json["items"][0]["id"]).lead_unit == "cgj"
    res = client.upload("/api/v1/boards/rcgl/ledger/preview", [("mapping", json.dumps({"Z": "title"}))],
                        [("file", "a.xlsx", xlsx(rows))], status=400)
    assert res.json["fields"] == {"mapping": "没有列“Z”"}


def test_a_raw_xlsx_body_is_accepted_and_other_bytes_are_refused(testapp):
    client = api(testapp, "supervisor")
    res = testapp.post("/api/v1/boards/rcgl/ledger/preview", xlsx(ROWS), headers={**client.headers,
                       "Content-Type": XLSX}, status=200)
    assert res.json["rows"] == 2
    res = client.upload("/api/v1/boards/rcgl/ledger/preview", [], [("file", "a.xlsx", b"not a workbook")],
                        status=415)
    assert res.json["error"] == "unsupported_type" and "file" in res.json["fields"]


def test_only_those_who_may_add_items_import(testapp):
    handler = api(testapp, "handler")
    res = handler.upload("/api/v1/boards/rcgl/ledger/import", [], [("file", "a.xlsx", xlsx(ROWS))], status=403)
    assert res.json["error"] == "forbidden"
    handler.get("/api/v1/boards/rcgl/ledger/template", status=403)
    testapp.get("/api/v1/boards/rcgl/ledger/template", status=401)
    api(testapp, "supervisor").get("/api/v1/boards/nope/ledger/template", status=404)


def test_template_has_the_board_type_headings(testapp):
    res = api(testapp, "supervisor").get("/api/v1/boards/hotline/ledger/template")
    assert res.content_type == XLSX
    headers = [c.value for c in load_workbook(io.BytesIO(res.body))["台账"][1]]
    assert "工单编号*" in headers and "诉求类型*" in headers and "来电人" in headers and "派单时间" not in headers


def test_openapi_describes_the_ledger_operations(testapp):
    paths = testapp.get("/api/v1/openapi.json").json["paths"]
    assert "multipart/form-data" in paths["/api/v1/boards/{board}/ledger/import"]["post"]["requestBody"]["content"]
    assert "201" in paths["/api/v1/boards/{board}/ledger/import"]["post"]["responses"]
    assert "get" in paths["/api/v1/boards/{board}/ledger/template"]
