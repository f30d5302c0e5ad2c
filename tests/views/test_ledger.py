"""The web 台账 import: upload → 列对应 → 预览 → 导入 (all or nothing), and the template download."""

from __future__ import annotations

import io
import json
from datetime import date, datetime

import transaction
from openpyxl import Workbook, load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import login
from duban_archive.timeutil import today

YEAR = today().year
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: a county clerk's headings: 序号 first, 事项名称 / 责任单位 / 完成时限, and the two required ones the type adds
HEADER = ["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "配合单位", "完成时限", "分管领导"]


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def good_rows():
    return [HEADER,
            [1, "老旧小区改造", "县政府常务会议", "完成 3 个小区", "按月报送", "市住建局", "交通局、东城街道",
             "2026年12月20日", "李副县长"],
            [2, "道路维修", "领导批示", "修复 2 条道路", "按周报送", "住建局", "", datetime(2026, 12, 25), ""]]


def upload(testapp, data: bytes, board: str = "rcgl", filename: str = "台账.xlsx", status=200):
    form = testapp.get(f"/boards/{board}/@@import").forms["ledger-upload-form"]
    form["file"] = (filename, data, XLSX)
    return form.submit(status=status)


def test_board_page_links_the_import_for_supervisors_only(testapp):
    login(testapp, "supervisor")
    page = testapp.get("/boards/rcgl")
    assert page.html.find(id="import-ledger")["href"] == "/boards/rcgl/@@import"
    testapp.reset()  # a fresh browser
    login(testapp, "handler")
    assert testapp.get("/boards/rcgl").html.find(id="import-ledger") is None
    testapp.get("/boards/rcgl/@@import", status=403)


def test_upload_guesses_the_columns_then_previews_and_imports_all_rows(testapp, app):
    login(testapp, "supervisor")
    page = upload(testapp, xlsx(good_rows()))
    assert "表格共 2 行数据" in page.text
    form = page.forms["ledger-mapping-form"]
    assert page.html.find(id="ledger-mapping-form")["data-busy-text"]  # duban.js shows it and blocks a 2nd click
    guessed = [form[f"map-{i}"].value for i in range(len(HEADER))]
    assert guessed == ["", "title", "source", "content", "requirement", "lead_unit", "assist_units", "deadline",
                       "leader"]
    preview = form.submit()
    assert "共 2 行数据，2 行无误" in preview.text and "尚未写入任何数据" in preview.text
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0  # the preview wrote nothing
    imp = preview.forms["ledger-import-form"]
    assert preview.html.find(id="ledger-import-form")["data-busy-text"]
    assert preview.html.find(id="import-submit").text.strip() == "导入全部 2 行"
    done = imp.submit("step", value="import")
    links = [a["href"] for a in done.html.select("#created-items a")]
    assert links == [f"/boards/rcgl/rcgl-{YEAR}-0001", f"/boards/rcgl/rcgl-{YEAR}-0002"]
    assert f"RCGL-{YEAR}-0001" in done.text
    with open_site(app.registry) as site:
        first = site.get_item(f"rcgl-{YEAR}-0001")
        assert first.deadline == date(2026, 12, 20) and first.lead_unit == "zjj"
        assert set(first.assist_units) == {"jtj", "dcz"} and first.leader == "李副县长"
        assert site.get_item(f"rcgl-{YEAR}-0002").deadline == date(2026, 12, 25)


def test_preview_lists_every_problem_by_excel_row_and_field_and_import_writes_nothing(testapp, app):
    rows = good_rows() + [
        [3, "", "来源", "内容", "要求", "不存在的局", "", "2026年13月1日", ""],
        [4, "河道清理", "来源", "内容", "要求", "市城管局", "", "明年", ""],
    ]
    login(testapp, "supervisor")
    preview = upload(testapp, xlsx(rows)).forms["ledger-mapping-form"].submit()
    problems = [[td.text.strip() for td in tr.find_all("td")] for tr in preview.html.select("#problems tr.problem")]
    assert any(p[:3] == ["4", "B", "标题"] for p in problems)
    assert any(p[:3] == ["4", "F", "主办单位"] and "不存在的局" in p[3] for p in problems)
    assert any(p[:3] == ["4", "H", "办结时限"] and "不存在" in p[3] for p in problems)
    assert any(p[:3] == ["5", "H", "办结时限"] and "无法识别的日期“明年”" in p[3] for p in problems)
    assert not any(p[0] in ("2", "3") for p in problems)
    assert preview.html.find(id="import-submit") is None  # no import button while anything is wrong
    # a forged import of the same sheet is refused as a whole: nothing created, no 事项编号 drawn
    form = preview.forms["ledger-import-form"]
    refused = testapp.post("/boards/rcgl/@@import", {
        "csrf_token": form["csrf_token"].value, "step": "import", "sheet": form["sheet"].value,
        **{f"map-{i}": form[f"map-{i}"].value for i in range(len(HEADER))}}, status=400)
    assert "未导入任何事项" in refused.text
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0 and f"RCGL-{YEAR}" not in site.counters


def test_the_clerk_changes_a_mapping_with_the_select(testapp, app):
    rows = [["序号", "事项", "交办内容", "来源", "要求", "单位", "截止"],
            [1, "背街小巷整治", "整治 5 条背街小巷", "群众来信", "按月报送", "市城管局", "2026.11.30"]]
    login(testapp, "supervisor")
    form = upload(testapp, xlsx(rows)).forms["ledger-mapping-form"]
    assert form["map-5"].value == "" and form["map-2"].value == ""  # 「单位」「交办内容」 are not guessed
    preview = form.submit()
    assert "必填字段没有对应的列" in preview.text
    form = preview.forms["ledger-import-form"].submit("step", value="remap").forms["ledger-mapping-form"]
    form["map-2"] = "content"
    form["map-3"] = "source"
    form["map-4"] = "requirement"
    form["map-5"] = "lead_unit"
    form["map-6"] = "deadline"
    preview = form.submit()
    assert "1 行无误" in preview.text
    done = preview.forms["ledger-import-form"].submit("step", value="import")
    assert len(done.html.select("#created-items a")) == 1
    with open_site(app.registry) as site:
        item = site.get_item(f"rcgl-{YEAR}-0001")
        assert item.content == "整治 5 条背街小巷" and item.deadline == date(2026, 11, 30) and item.lead_unit == "cgj"


def test_a_file_that_is_not_xlsx_is_refused_on_the_upload_form(testapp):
    login(testapp, "supervisor")
    page = upload(testapp, b"%PDF-1.7 not a workbook", filename="台账.xlsx", status=415)
    assert "不是 Excel 工作簿" in page.html.find(id="form-error").text
    assert "xlsx" in page.html.find(id="error-file").text
    page = upload(testapp, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, filename="台账.xls", status=415)
    assert "另存为" in page.html.find(id="form-error").text


def test_a_tampered_sheet_is_refused_without_a_traceback(testapp):
    login(testapp, "supervisor")
    form = upload(testapp, xlsx(good_rows())).forms["ledger-mapping-form"]
    res = testapp.post("/boards/rcgl/@@import", {"csrf_token": form["csrf_token"].value, "step": "preview",
                                                  "sheet": json.dumps({"headers": 5})}, status=400)
    assert "请重新上传" in res.text


def test_template_download_is_filled_and_imported_through_the_pages(testapp, app):
    login(testapp, "supervisor")
    page = testapp.get("/boards/rcgl/@@import")
    res = testapp.get(page.html.find(id="template-link")["href"])
    assert res.content_type == XLSX
    wb = load_workbook(io.BytesIO(res.body))
    assert wb.sheetnames == ["台账", "说明"]
    ws = wb["台账"]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "序号" and "标题*" in headers and "主办单位*" in headers and "办结时限" in headers
    assert ws.cell(row=2, column=1).value == "示例"
    notes = "\n".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "市住建局" in notes and "2026年12月20日" in notes
    values = {"标题*": "背街小巷整治", "任务来源*": "群众来信", "督办内容*": "整治 5 条", "办理要求*": "按月报送",
              "主办单位*": "市城管局", "办结时限": "2026/11/30"}
    ws.append([1] + [values.get(h, None) for h in headers[1:]])
    buf = io.BytesIO()
    wb.save(buf)
    form = upload(testapp, buf.getvalue()).forms["ledger-mapping-form"]
    preview = form.submit()
    assert "共 1 行数据，1 行无误" in preview.text  # the example row is skipped
    preview.forms["ledger-import-form"].submit("step", value="import")
    transaction.begin()
    with open_site(app.registry) as site:
        (item,) = site.item_index.values()
        assert item.title == "背街小巷整治" and item.lead_unit == "cgj" and item.deadline == date(2026, 11, 30)


def test_every_step_needs_the_csrf_token(testapp, app):
    login(testapp, "supervisor")
    form = upload(testapp, xlsx(good_rows())).forms["ledger-mapping-form"]
    fields = {"step": "import", "sheet": form["sheet"].value,
              **{f"map-{i}": form[f"map-{i}"].value for i in range(len(HEADER))}}
    testapp.post("/boards/rcgl/@@import", fields, status=400)
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0


def test_a_file_over_the_upload_limit_is_refused_beside_the_file_field(testapp, app, monkeypatch):
    login(testapp, "supervisor")
    page = testapp.get("/boards/rcgl/@@import")
    monkeypatch.setitem(app.registry.settings, "duban.max_upload_bytes", "8000")
    rows = good_rows() + [[n, f"事项{n}", "来源", "内容" * 30, "要求", "住建局", "", "2026-12-20", ""]
                          for n in range(3, 200)]
    form = page.forms["ledger-upload-form"]
    form["file"] = ("台账.xlsx", xlsx(rows), XLSX)
    res = form.submit(status=413)
    assert "文件过大" in res.html.find(id="error-file").text
