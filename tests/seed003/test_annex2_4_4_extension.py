"""Seed 003 附件2 四(四) 限时办结, 延期 — through the JSON API as 住建局's unit head.

「在规定办理时限届满前1个工作日，向“宿事速办”工作平台提出延期报备 … 延长时限不得超过原办理时限」
"""

from .helpers import Desk


def _deadlines(d, item_id):
    return {x["name"]: x["due"] for x in d.head.get(f"/api/v1/items/{item_id}").json["deadlines"]}


def test_seed003_annex2_4_4_extension_only_until_one_working_day_before_the_limit(testapp):
    d = Desk(testapp)
    t = d.new_ticket("complaint", "2026-03-09 08:00")
    d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, t, "accept", "2026-03-09 10:00")
    # 投诉 「不超过7个工作日」: Mon 03-09 + 7 working days = Wed 03-18 (end of day)
    assert _deadlines(d, t)["limit"] == "2026-03-18T23:59:59+08:00"
    before = d.head.get(f"/api/v1/items/{t}").json
    # 「届满前1个工作日」: the last day to ask is Tue 03-17; on the 18th the request is refused, field by field
    res = d.fire(d.head, t, "request_extension", "2026-03-18 09:00", status=400, days=2, reason="需现场核实")
    assert "已超过延期申请时限" in res.json["message"] and "2026-03-17 23:59" in res.json["message"]
    assert set(res.json["fields"]) == {"days", "reason"} and "延期申请时限已过" in res.json["fields"]["days"]
    after = d.head.get(f"/api/v1/items/{t}").json
    assert (after["state"], len(after["history"]), after["deadlines"]) == (
        before["state"], len(before["history"]), before["deadlines"])  # nothing changed
    # in time, but 「延长时限不得超过原办理时限」: 8 > 7 working days
    res = d.fire(d.head, t, "request_extension", "2026-03-17 16:00", status=400, days=8, reason="需现场核实")
    assert "不得超过原办理时限（7 个工作日）" in res.json["fields"]["days"]
    d.fire(d.head, t, "request_extension", "2026-03-17 16:00", days=3, reason="需现场核实，已向诉求人解释")
    d.fire(d.sup, t, "approve_extension", "2026-03-17 17:00")
    # Wed 03-18 + 3 working days = Thu 19, Fri 20, Mon 23
    assert _deadlines(d, t)["limit"] == "2026-03-23T23:59:59+08:00"
