"""Reading clerks' ledgers: headings, Chinese dates, unit names, row problems, all or nothing, export columns."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import transaction
from openpyxl import Workbook, load_workbook

from duban_archive.content_types.actions import add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.reports.ledger import export_ledger
from duban_archive.reports.ledger_cells import CellError, match_unit, parse_date
from duban_archive.reports.ledger_import import (
    LedgerImportError,
    check_rows,
    guess_mapping,
    import_rows,
    read_sheet,
)
from duban_archive.security.roles import user_principals
from duban_archive.timeutil import CST, frozen_now, today

YEAR = today().year


def xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(("headers", "expected"), [
    (["序号", "事项名称", "责任单位", "完成时限"], ["", "title", "lead_unit", "deadline"]),
    (["事项", "牵头单位", "配合单位", "办理时限"], ["title", "lead_unit", "assist_units", "deadline"]),
    (["督办事项", "主办单位", "协办单位", "截止日期"], ["title", "lead_unit", "assist_units", "deadline"]),
    (["任务", "立项日期", "督办内容", "责任领导", "责任人"],
     ["title", "registered_on", "content", "leader", "responsible"]),
    (["交办日期", "工作要求", "分管领导", "联系人", "时限"],
     ["registered_on", "content", "leader", "contact", "deadline"]),
    (["具体内容", "任务来源", "办理要求", "办理标准", "督办人"],
     ["content", "source", "requirement", "standard", "overseer"]),
    # the type's own titles (as the export and the template write them, required ones with *)
    (["标题*", "主办单位 *", "办结时限", "密级"], ["title", "lead_unit", "deadline", "classification"]),
    # full-width spaces and a second column for one field: the first keeps it, the clerk maps the rest
    (["事 项 名 称", "事项", "备注"], ["title", "", ""]),
])
def test_usual_chinese_headings_are_recognised(registry, headers, expected):
    assert guess_mapping(registry.duban_types["supervision_item"], headers) == expected


def test_type_field_titles_map_per_board(registry):
    typedef = registry.duban_types["hotline_ticket"]
    assert guess_mapping(typedef, ["工单类型", "来电人", "来电号码", "派单时间"]) == \
        ["ticket_kind", "caller", "caller_phone", ""]  # 派单时间 is the system's, never imported


@pytest.mark.parametrize("value", [
    "2026年12月20日", "2026年12月20号", "2026.12.20", "2026/12/20", "2026-12-20", "20261220", 20261220,
    "２０２６年１２月２０日", "2026 年 12 月 20 日", "2026-12-20 00:00", 46376, 46376.0, "46376",
    date(2026, 12, 20), datetime(2026, 12, 20, 9, 30), "2026年12月20日前", "2026-12-20之前",
])
def test_every_chinese_date_form_reads_as_the_day(value):
    assert parse_date(value) == date(2026, 12, 20)


@pytest.mark.parametrize(("value", "day"), [
    ("2026年12月底", date(2026, 12, 31)), ("2026年11月底前", date(2026, 11, 30)), ("2028年2月末", date(2028, 2, 29)),
    ("2026年底前", date(2026, 12, 31)), ("2026年末", date(2026, 12, 31)),
])
def test_month_and_year_ends_read_as_their_last_day(value, day):
    assert parse_date(value) == day


@pytest.mark.parametrize(("value", "says"), [
    ("2026年13月1日", "不存在"), ("2026-02-30", "不存在"), ("明年年底", "无法识别的日期“明年年底”"),
    ("12月20日", "无法识别"), (-3, "无法识别"), ("长期坚持", "没有固定时限的请留空"), ("2026年13月底", "无法识别"),
])
def test_an_unreadable_date_says_what_to_write(value, says):
    with pytest.raises(CellError) as err:
        parse_date(value)
    assert says in err.value.message and ("2026年12月20日" in err.value.message or "不存在" in says)


def test_units_by_full_title_code_and_unambiguous_short_forms(site):
    units = site["units"]
    assert match_unit(units, "市住建局") == "zjj"
    assert match_unit(units, "住建局") == "zjj"          # the 市 prefix left out
    assert match_unit(units, "东城街道") == "dcz"        # a part of the title
    assert match_unit(units, "交通局") == "jtj"          # the characters in order
    assert match_unit(units, "JTJ") == "jtj" and match_unit(units, "cgj") == "cgj"
    with pytest.raises(CellError) as err:
        match_unit(units, "发改局")
    assert "“发改局”不在单位列表中" in err.value.message
    with pytest.raises(CellError) as err:
        match_unit(units, "市局")
    assert "不明确" in err.value.message and "市住建局" in err.value.message


HEADER = ["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "配合单位", "完成时限", "立项日期"]


def _row(n, title="老旧小区改造", unit="住建局", deadline="2026年12月20日", registered="2026年5月4日"):
    return [n, title, "县政府常务会议", "完成 3 个小区", "按月报送", unit, "交通局", deadline, registered]


def test_preview_lists_problems_field_by_field_with_excel_rows_and_writes_nothing(app):
    data = xlsx([["2026 年度重点督办事项台账"], HEADER, _row(1), _row(2, title="", unit="发改局"),
                 _row(3, deadline="2026-04-01"), _row(4, registered="去年")])
    with open_site(app.registry) as site:
        sheet = read_sheet(data)
        assert sheet.header_row == 2  # the title row above the headings is skipped
        board = site.boards["rcgl"]
        check = check_rows(site, app.registry, board, sheet, guess_mapping(
            app.registry.duban_types["supervision_item"], sheet.headers))
        got = {(p.row, p.column, p.field): p.message for p in check.problems}
        assert check.rows == 4 and len(check.valid) == 1 and not check.ok
        assert got[(4, "B", "title")] == "请填写标题"
        assert "“发改局”不在单位列表中" in got[(4, "F", "lead_unit")]
        assert got[(5, "H", "deadline")].startswith("办结时限不能早于立项日期")
        assert "无法识别的日期“去年”" in got[(6, "I", "registered_on")]
        assert not any(row == 3 for row, _, _ in got)
        transaction.abort()
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0


def test_one_bad_row_imports_nothing_and_draws_no_number(app, make_item):
    make_item(board="rcgl")  # RCGL-<year>-0001 exists already
    data = xlsx([HEADER] + [_row(n) for n in range(1, 30)] + [_row(30, unit="不存在的局")])
    with open_site(app.registry) as site:
        sheet = read_sheet(data)
        mapping = guess_mapping(app.registry.duban_types["supervision_item"], sheet.headers)
        with pytest.raises(LedgerImportError) as err:
            import_rows(site, app.registry, "rcgl", sheet, mapping, "supervisor")
        assert err.value.errors == [
            "第 31 行「主办单位」：单位“不存在的局”不在单位列表中，请填写单位全称（见模板「说明」页）"]
        assert err.value.status == 400 and err.value.code == "ledger_invalid"
        transaction.commit()  # even committed, the refused import left nothing behind
    with open_site(app.registry) as site:
        assert len(site.item_index) == 1 and site.counters[f"RCGL-{YEAR}"].value == 1
    with open_site(app.registry) as site:  # fixed, the same file imports whole, numbered on from the counter
        sheet.rows[-1][1][5] = "住建局"
        result = import_rows(site, app.registry, "rcgl", sheet, mapping, "supervisor")
        transaction.commit()
        assert result.created[0] == f"rcgl-{YEAR}-0002" and result.created[-1] == f"rcgl-{YEAR}-0031"


def test_export_has_progress_with_its_date_and_the_light(app, make_item):
    moment = datetime(2026, 5, 6, 9, tzinfo=CST)
    with frozen_now(datetime(2026, 5, 4, 9, tzinfo=CST)):
        reported = make_item(board="zdgz", deadline=date(2026, 5, 30), registered_on=date(2026, 5, 4))
        due_soon = make_item(board="zdgz", title="道路维修", deadline=date(2026, 5, 6), registered_on=date(2026, 5, 4))
        overdue = make_item(board="zdgz", title="河道清理", deadline=date(2026, 5, 5), registered_on=date(2026, 5, 4))
    with frozen_now(datetime(2026, 5, 4, 10, tzinfo=CST)), open_site(app.registry) as site:
        for item_id in (reported, due_soon, overdue):
            item = site.get_item(item_id)
            wf = app.registry.duban_workflows[item.workflow]
            for name, who in (("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")):
                u = site["users"][who]
                wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), None, site=site)
        transaction.commit()
    with frozen_now(datetime(2026, 5, 5, 15, tzinfo=CST)), open_site(app.registry) as site:
        add_feedback(site, site.get_item(reported), {"done": "已完成 2 个小区", "progress": "第一批改造完工"},
                     "handler", app.registry)
        transaction.commit()
    with frozen_now(moment), open_site(app.registry) as site:
        blob = export_ledger(site, app.registry, [site.get_item(i) for i in (reported, due_soon, overdue)])
    ws = load_workbook(io.BytesIO(blob)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    assert header.index("办理进展") < header.index("标题") and "亮灯" in header
    got = {r[header.index("标题")]: (r[header.index("办理进展")], r[header.index("亮灯")]) for r in rows[1:]}
    assert got["推进老旧小区改造"] == ("2026-05-05：第一批改造完工", "绿")
    assert got["道路维修"] == (None, "黄")
    assert got["河道清理"] == (None, "红")


def test_export_says_closed_items_are_done(app, make_item):
    item_id = make_item(board="rcgl")
    with open_site(app.registry) as site:
        site.get_item(item_id).state = "closed"
        transaction.commit()
        ws = load_workbook(io.BytesIO(export_ledger(site, app.registry, [site.get_item(item_id)]))).active
    header, row = list(ws.iter_rows(values_only=True))
    assert dict(zip(header, row, strict=True))["亮灯"] == "已办结"


def test_a_ledger_over_the_row_limit_is_refused_before_any_check():
    from duban_archive.errors import Refusal
    from duban_archive.reports.ledger_import import MAX_ROWS

    data = xlsx([HEADER] + [_row(n) for n in range(1, MAX_ROWS + 2)])
    with pytest.raises(Refusal) as err:
        read_sheet(data)
    assert err.value.status == 413 and f"一次最多导入 {MAX_ROWS} 行" in err.value.message


def test_a_12345_repeat_of_an_answered_ticket_is_a_row_problem(app, make_item):
    """The board's own creation rule (seed 003: 同一事实、同一理由重复反映的，不再受理) is checked in the preview."""
    earlier = make_item(board="hotline", title="噪音扰民", content="夜间施工噪音", caller_phone="13800138000",
                        ticket_kind="complaint")
    with open_site(app.registry) as site:
        site.get_item(earlier).state = "closed"
        transaction.commit()
    data = xlsx([["序号", "工单类型", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "来电号码",
                  "工单编号"],
                 [1, "投诉", "噪音扰民", "12345 平台", "夜间施工噪音", "3 个工作日内答复", "城管局", "13800138000",
                  "GD20261201001"],
                 [2, "咨询", "公交线路", "12345 平台", "新开线路咨询", "1 个工作日内答复", "交通局", "13900139000",
                  "GD20261201002"]])
    with open_site(app.registry) as site:
        sheet = read_sheet(data)
        check = check_rows(site, app.registry, site.boards["hotline"], sheet,
                           guess_mapping(app.registry.duban_types["hotline_ticket"], sheet.headers))
        got = {(p.row, p.column, p.field) for p in check.problems}
        assert got == {(2, "H", "caller_phone"), (2, "C", "title"), (2, "E", "content")}
        same = ("来电号码与已办结", "标题与已办结", "诉求内容与已办结")
        assert all(p.message.startswith(same) for p in check.problems), [p.message for p in check.problems]
        assert [n for n, _ in check.valid] == [3]


def test_every_board_template_maps_every_column_without_help(app):
    """Whatever the board's type, the template's headings come back as its fields (the clerk maps nothing)."""
    from duban_archive.reports.ledger_import import importable_fields
    from duban_archive.reports.ledger_template import ledger_template

    with open_site(app.registry) as site:
        for board in site.boards.values():
            typedef = app.registry.duban_types[board.item_type]
            sheet = read_sheet(io.BytesIO(ledger_template(site, app.registry, board)))
            assert sheet.rows and sheet.rows[0][1][0] == "示例"
            assert guess_mapping(typedef, sheet.headers) == [""] + [f.name for f in importable_fields(typedef)], \
                board.board_id
