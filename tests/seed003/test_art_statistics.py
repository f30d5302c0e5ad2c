"""Seed 003 正文 三(六)3 考核机制 and 附件5 四(一)2(5): the 12345 statistics on the dashboard and the 通报.

「建立健全以按时反馈率、按时办结率、问题解决率、群众和企业满意率等为主要指标的考核评价体系」;
「一般性咨询和应急类诉求不超过1个工作日，复杂的咨询、建议类诉求不超过3个工作日；投诉类诉求一般不超过7个工作日」
(附件2 四(四) 限时办结); 「满意率=(1-第二次评价不满意数/办理工单数)×100%」 (附件5 四(一)2(5)).
"""

from .helpers import Desk


def test_seed003_main_3_6_3_rates_from_the_1_3_7_working_day_limits(testapp):
    d = Desk(testapp)
    # five tickets to 住建局, all dispatched on Monday 2026-03-09 at 09:00
    a = d.new_ticket("consultation", "2026-03-09 08:00")
    b = d.new_ticket("complaint", "2026-03-09 08:00")
    c = d.new_ticket("suggestion", "2026-03-09 08:00")
    x = d.new_ticket("complex_consultation", "2026-03-09 08:00")
    e = d.new_ticket("consultation", "2026-03-09 08:00")
    for t in (a, b, c, x, e):
        d.fire(d.sup, t, "dispatch", "2026-03-09 09:00")
        d.fire(d.head, t, "accept", "2026-03-09 10:00")
    # 「不超过1个工作日」: consultation due at the end of Tue 03-10 (the start day is not counted)
    d.fire(d.handler, a, "reply", "2026-03-10 10:00", reply="已答复", approved_by="王科长")
    d.fire(d.sup, a, "approve_reply", "2026-03-10 11:00")
    d.fire(d.sup, a, "close", "2026-03-10 16:00", satisfaction="satisfied", resolved="resolved", grade="A")
    d.fire(d.handler, e, "reply", "2026-03-09 15:00", reply="已答复", approved_by="王科长")
    d.fire(d.sup, e, "approve_reply", "2026-03-09 16:00")
    d.fire(d.sup, e, "close", "2026-03-10 09:00", satisfaction="satisfied", resolved="resolved", grade="A")
    # 「投诉类诉求一般不超过7个工作日」: Mon 03-09 + 7 working days = Wed 03-18. First 答复 on 03-17 (反馈 in
    # time), sent back as incomplete, completed on 03-19: 「应当在办理时限内针对性补充完整」 missed -> 办结 late.
    d.fire(d.handler, b, "reply", "2026-03-17 10:00", reply="初步答复", approved_by="王科长")
    d.fire(d.sup, b, "return", "2026-03-17 15:00", reason="未注明政策依据")
    d.fire(d.handler, b, "reply", "2026-03-19 10:00", reply="补充依据", approved_by="王科长")
    d.fire(d.sup, b, "approve_reply", "2026-03-19 11:00")
    # first 回访 不满意 without a reasonable claim: 「首次评价不满意无明确理由的视为默认满意」
    d.fire(d.sup, b, "close", "2026-03-19 16:00", satisfaction="dissatisfied", resolved="unresolved", grade="C")
    # 「复杂的咨询、建议类诉求不超过3个工作日」: due Thu 03-12; answered 03-11; 不满意且诉求合理 -> 重办,
    # second evaluation still 不满意
    d.fire(d.handler, c, "reply", "2026-03-11 10:00", reply="已答复", approved_by="王科长")
    d.fire(d.sup, c, "approve_reply", "2026-03-11 11:00")
    d.fire(d.sup, c, "redo", "2026-03-12 09:00", reason="诉求合理，未解决")
    d.fire(d.handler, c, "reply", "2026-03-13 10:00", reply="再次答复", approved_by="王科长")
    d.fire(d.sup, c, "approve_reply", "2026-03-13 11:00")
    d.fire(d.sup, c, "close", "2026-03-13 16:00", satisfaction="dissatisfied", resolved="unresolved", grade="C")
    # x (complex consultation, due Thu 03-12) is never answered
    # f: 「经核查，行政调解类、执法办案类 … 的工单不纳入考核」 — 不满意 twice, but left out of the 满意率
    f = d.new_ticket("consultation", "2026-03-09 08:00")
    d.sup.patch(f"/api/v1/items/{f}", {"not_assessed": "administrative_mediation"})
    d.fire(d.sup, f, "dispatch", "2026-03-09 09:00")
    d.fire(d.head, f, "accept", "2026-03-09 10:00")
    d.fire(d.handler, f, "reply", "2026-03-09 11:00", reply="已调解", approved_by="王科长")
    d.fire(d.sup, f, "approve_reply", "2026-03-09 12:00")
    d.fire(d.sup, f, "redo", "2026-03-09 13:00", reason="不满意")
    d.fire(d.handler, f, "reply", "2026-03-09 14:00", reply="再次调解", approved_by="王科长")
    d.fire(d.sup, f, "approve_reply", "2026-03-09 15:00")
    d.fire(d.sup, f, "close", "2026-03-09 16:00", satisfaction="dissatisfied", grade="C")

    from duban_archive.timeutil import frozen_now

    from .helpers import at

    with frozen_now(at("2026-03-20 12:00")):
        stats = d.sup.get("/api/v1/stats?board=hotline").json
        page = d.sup.get("/dashboard").text  # the dashboard shows the same figures
    # 按时反馈率: first 答复 by the limit — a, e, f, b (03-17 ≤ 03-18), c; not x -> 5/6
    assert stats["feedback_on_time"] == {"rate": round(5 / 6 * 100, 1), "num": 5, "den": 6}
    # 按时办结率: accepted 答复 by the limit — a, e, f, c (03-11 ≤ 03-12); b completed 03-19 > 03-18; x never
    assert stats["closed_on_time"] == {"rate": round(4 / 6 * 100, 1), "num": 4, "den": 6}
    # 满意率 = (1 - 第二次评价不满意数 / 办理工单数) × 100% = (1 - 1/4) × 100% = 75%: only c was 不满意 at
    # the second evaluation; b's first 不满意 without reason counts as 默认满意; f is not counted at all
    assert stats["satisfaction"] == {"rate": (1 - 1 / 4) * 100, "num": 3, "den": 4}
    # 问题解决率: 已解决 / 回访 recorded = a, e of a, e, b, c -> 2/4
    assert stats["resolution"] == {"rate": 50.0, "num": 2, "den": 4}
    assert "问题解决率" in page and "4/6" in page and "3/4" in page and "2/4" in page
