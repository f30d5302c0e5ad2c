"""Statistics, the monthly 通报, the ledger, unit scores and 督办单 over the API."""

import io
from datetime import date, datetime

import transaction
from openpyxl import load_workbook

from duban_archive.content_types.actions import add_feedback
from duban_archive.content_types.site_access import open_site
from duban_archive.security.roles import user_principals
from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now


def at(*args):
    return datetime(*args, tzinfo=CST)


def _fire(app, item_id, steps, moment, data=None):
    with frozen_now(moment), open_site(app.registry) as site:
        item = site.get_item(item_id)
        wf = app.registry.duban_workflows[item.workflow]
        for name, who in steps:
            u = site["users"][who]
            wf.fire(item, name, who, user_principals(u.username, u.roles, u.unit), (data or {}).get(name),
                    site=site)
        transaction.commit()


def _month_of_work(app, make_item):
    """May 2026: one item closed early (graded A), one overdue, one not yet assigned."""
    with frozen_now(at(2026, 5, 4, 9)):
        early = make_item("zdgz", deadline=date(2026, 5, 20), registered_on=date(2026, 5, 4))
        late = make_item("zdgz", title="道路维修", deadline=date(2026, 5, 10), lead_unit="jtj", assist_units=set(),
                         registered_on=date(2026, 5, 4))
        make_item("rcgl", registered_on=date(2026, 5, 4))
    _fire(app, early, [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head")], at(2026, 5, 4, 10))
    _fire(app, late, [("approve", "leader"), ("assign", "supervisor"), ("accept", "unit_head2")], at(2026, 5, 5, 10))
    with frozen_now(at(2026, 5, 6, 9)), open_site(app.registry) as site:
        add_feedback(site, site.get_item(early), {"done": "已完成", "progress": "全部完成"}, "handler", app.registry)
        item = site.get_item(early)
        item.state = "reviewed"  # the closure path (signed report, 核查) belongs to the workflow tests
        transaction.commit()
    _fire(app, early, [("close", "leader")], at(2026, 5, 15, 10), {"close": {"grade": "A"}})
    return early, late


def test_statistics_and_monthly_bulletin(app, testapp, make_item):
    early, late = _month_of_work(app, make_item)
    api(testapp, "handler").get("/api/v1/stats", status=403)
    sup = api(testapp, "supervisor")
    with frozen_now(at(2026, 5, 31, 20)):
        stats = sup.get("/api/v1/stats").json
        assert stats["total"] == 3
        assert {s["state"]: s["count"] for s in stats["by_state"]} == {"closed": 1, "in_progress": 1,
                                                                       "registered": 1}
        assert stats["closed_on_time"] == {"rate": 100.0, "num": 1, "den": 1}
        assert stats["sign_on_time"] == {"rate": 100.0, "num": 2, "den": 2}
        assert stats["feedback_on_time"] == {"rate": 50.0, "num": 1, "den": 2}  # 道路维修 never reported
        assert stats["overdue"] == 1
        assert stats["trend"][-1] == {"month": "2026-05", "registered": 3, "closed": 1}

        data = sup.get("/api/v1/reports/bulletin?month=2026-05").json
    ranking = {u["unit"]: u for u in data["ranking"]}
    assert ranking["zjj"]["score"] == 103 and ranking["zjj"]["rank"] == 1  # 按时 +2, 提前 +1
    # 交通局 assists on the early item (+2 +1, seed 004: 均实行一样的加分) and leads the late one (-3)
    assert ranking["jtj"]["score"] == 100
    assert [o["number"] for o in data["overdue"]] == [late.upper()]
    assert any("优秀（A）" in h for h in data["highlights"])

    with frozen_now(at(2026, 5, 31, 20)):
        res = sup.get("/api/v1/reports/bulletin?month=2026-05&format=xlsx")
    wb = load_workbook(io.BytesIO(res.body))
    assert wb.sheetnames == ["单位排名", "得分明细", "逾期事项", "工作亮点", "统计"]
    assert [r[1] for r in wb["单位排名"].iter_rows(min_row=3, values_only=True)] == ["市住建局", "市交通运输局"]
    sup.get("/api/v1/reports/bulletin?month=2026-5x", status=400)


def test_bulletin_and_notice_pdfs(app, testapp, make_item):
    early, late = _month_of_work(app, make_item)
    sup = api(testapp, "supervisor")
    with frozen_now(at(2026, 5, 31, 20)):
        pdf = sup.get("/api/v1/reports/bulletin?month=2026-05&format=pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    sup.post(f"/api/v1/items/{late}/escalate", {"level": 1, "reason": "逾期未办结"})
    notice = sup.get(f"/api/v1/items/{late}/notice.pdf?kind=escalate")
    assert notice.body.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(notice.body)).pages[0].extract_text()
    assert "督办单" in text and "道路维修" in text and "逾期未办结" in text
    api(testapp, "handler2").get(f"/api/v1/items/{late}/notice.pdf", status=403)


def test_scores_with_supervisor_adjustments_and_ledger_export(app, testapp, make_item):
    _month_of_work(app, make_item)
    sup = api(testapp, "supervisor")
    bad = sup.post("/api/v1/scores/adjustments", {"unit": "nope", "kind": "x", "date": "2026-5-1"}, status=400).json
    assert set(bad["fields"]) == {"unit", "kind", "date"}
    sup.post("/api/v1/scores/adjustments", {"unit": "jtj", "kind": "city_praise", "date": "2026-05-20",
                                            "note": "丽水市通报表扬"}, status=201)
    sup.post("/api/v1/scores/adjustments", {"unit": "jtj", "kind": "other", "date": "2026-05-21"}, status=400)
    api(testapp, "handler").post("/api/v1/scores/adjustments", {"unit": "zjj", "kind": "county_praise"},
                                 status=403)
    with frozen_now(at(2026, 6, 30, 20)):
        q2 = sup.get("/api/v1/scores?period=2026-Q2").json
        month = sup.get("/api/v1/scores?period=2026-05&rules=sanmenxia").json
    jtj = next(u for u in q2["ranking"] if u["unit"] == "jtj")
    assert jtj["score"] == 100 + 2 + 1 - 3 + 5
    assert [ln["title"] for ln in jtj["breakdown"]][-1].startswith("受到丽水市政府")
    assert month["rules"] == "sanmenxia"
    # 功效系数: 住建局 1/1 × 100 × (0.5 + 1/2 × 0.5) = 75; 交通局 1/2 × 100 × (0.5 + 2/2 × 0.5) = 50
    # (the 云和 adjustment does not carry over to another rule set)
    assert {u["unit"]: u["score"] for u in month["ranking"]} == {"zjj": 75.0, "jtj": 50.0}
    ledger = sup.get("/api/v1/ledger.xlsx")
    rows = list(load_workbook(io.BytesIO(ledger.body)).active.iter_rows(values_only=True))
    assert len(rows) == 4 and "办理评价" in rows[0]
    assert "A" in rows[1] or "A" in rows[2]
