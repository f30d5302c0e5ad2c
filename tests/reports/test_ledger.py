"""电子台账 export and import (all rows validated first; nothing imported if one fails)."""

import io
from datetime import date, datetime

import pytest
import transaction
from openpyxl import Workbook, load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.reports.ledger import LedgerImportError, export_ledger, import_ledger
from duban_archive.timeutil import today

YEAR = today().year  # 事项编号 carry the year of 立项


def _xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


HEADER = ["事项名称", "任务来源", "督办内容", "办理要求", "承办单位", "协办单位", "完成时限", "牵头领导"]


def test_import_with_a_bad_row_imports_nothing_and_lists_every_error(app):
    data = _xlsx([
        HEADER,
        ["老旧小区改造", "区政府常务会议", "完成 3 个小区", "按月报送", "市住建局", "市交通运输局",
         datetime(2026, 6, 30), "李副市长"],
        ["道路维修", "领导批示", "修复 2 条道路", "按周报送", "不存在的局", "", "2026-13-01", ""],
        ["", "群众来信", "内容", "要求", "市城管局", "", date(2026, 7, 1), ""],
    ])
    with open_site(app.registry) as site:
        with pytest.raises(LedgerImportError) as err:
            import_ledger(site, app.registry, data, "rcgl", "supervisor")
        transaction.abort()
        errors = err.value.errors
        assert any(e.startswith("第 3 行「主办单位」") and "不存在的局" in e for e in errors)
        assert any(e.startswith("第 3 行「办结时限」") for e in errors)
        assert any(e.startswith("第 4 行「标题」") for e in errors)
        assert not any(e.startswith("第 2 行") for e in errors)
    with open_site(app.registry) as site:
        assert len(site.boards["rcgl"]) == 0 and len(site.item_index) == 0


def test_import_good_ledger_then_export_round_trips_the_fields(app):
    data = _xlsx([
        HEADER,
        ["老旧小区改造", "区政府常务会议", "完成 3 个小区", "按月报送", "市住建局", "市交通运输局、东城街道办事处",
         datetime(2026, 6, 30), "李副市长"],
        ["道路维修", "领导批示", "修复 2 条道路", "按周报送", "jtj", "", "2026/07/15", ""],
    ])
    with open_site(app.registry) as site:
        result = import_ledger(site, app.registry, data, "rcgl", "supervisor")
        transaction.commit()
        assert result.created == [f"rcgl-{YEAR}-0001", f"rcgl-{YEAR}-0002"]
        first = site.get_item(f"rcgl-{YEAR}-0001")
        assert first.lead_unit == "zjj" and set(first.assist_units) == {"jtj", "dcz"}
        assert first.deadline == date(2026, 6, 30)
        assert site.get_item(f"rcgl-{YEAR}-0002").deadline == date(2026, 7, 15)
        blob = export_ledger(site, app.registry, list(site.item_index.values()))
    ws = load_workbook(io.BytesIO(blob)).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    for title in ("事项编号", "标题", "任务来源", "督办内容", "办理要求", "主办单位", "协办单位", "办结时限", "密级"):
        assert title in header
    row = dict(zip(header, rows[1], strict=True))
    assert row["事项编号"] == f"RCGL-{YEAR}-0001" and row["主办单位"] == "市住建局"
    assert set(row["协办单位"].split("、")) == {"市交通运输局", "东城街道办事处"}
    assert row["状态"] == "已立项" and row["密级"] == "公开"


def test_unknown_header_is_refused_before_any_row(app):
    data = _xlsx([HEADER + ["备注栏"], ["a", "b", "c", "d", "市住建局", "", date(2026, 6, 1), "", "x"]])
    with open_site(app.registry) as site:
        with pytest.raises(LedgerImportError) as err:
            import_ledger(site, app.registry, data, "rcgl", "supervisor")
    assert err.value.errors == ["第 1 行：无法识别的列名「备注栏」"]


def test_import_refuses_control_characters_and_text_no_font_draws_and_normalises(app):
    """The text policy (issue 12) holds for ledger cells as for forms: every failure listed, nothing imported."""
    data = _xlsx([
        HEADER,
        ["老旧小区\x9b改造", "区政府常务会议", "完成 3 个小区\n分两批", "按月报送", "市住建局", "",
         date(2026, 6, 30), ""],
        ["道路维修", "领导批示🥰", "修复 2 条道路", "按周报送", "jtj", "", date(2026, 7, 15), "李\x85副市长"],
    ])
    with open_site(app.registry) as site:
        with pytest.raises(LedgerImportError) as err:
            import_ledger(site, app.registry, data, "rcgl", "supervisor")
        transaction.abort()
    assert err.value.errors == [
        "第 2 行「标题」：含有不允许的控制字符（U+009B），请删除后重新提交",
        "第 3 行「任务来源」：以下字符没有可用字体，无法打印归档：“🥰”(U+1F970)，请删除或改用文字说明后重新提交",
        "第 3 行「牵头领导」：含有不允许的控制字符（U+0085），请删除后重新提交",
    ]
    with open_site(app.registry) as site:
        assert len(site.item_index) == 0
    data = _xlsx([HEADER, ["Cafe\u0301 改造👍\n（一期）", "来源", "内容\n第二行", "要求", "市住建局", "",
                           date(2026, 6, 30), "吉𠮷"]])
    with open_site(app.registry) as site:
        (item_id,) = import_ledger(site, app.registry, data, "rcgl", "supervisor").created
        item = site.get_item(item_id)
        # NFC; a title wrapped in its cell (Alt+Enter) becomes one line, a multi-line field keeps its lines
        assert item.title == "Caf\u00e9 改造👍 （一期）" and item.content == "内容\n第二行" and item.leader == "吉𠮷"
        transaction.abort()


def test_export_never_fails_on_text_stored_before_the_policy(app, make_item):
    item_id = make_item(board="rcgl")
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        item.title = "铃声\x07标题\ud83d"  # written directly, as before issue 12
        item.content = "一\x1b[31m\t二\n三"
        blob = export_ledger(site, app.registry, [item])
        transaction.abort()
    ws = load_workbook(io.BytesIO(blob)).active
    row = dict(zip(*ws.iter_rows(values_only=True), strict=True))
    assert row["标题"] == "铃声标题" and row["督办内容"] == "一[31m\t二\n三"
