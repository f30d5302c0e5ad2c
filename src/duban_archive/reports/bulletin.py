"""Monthly 通报 (seed 004 “一月一通报”; seed 003 按月统计、按月通报): ranking, overdue list, highlights.

The same data renders to Excel (openpyxl) and to PDF (the archive renderer,
WeasyPrint with a strict URL fetcher and embedded Noto CJK fonts).
"""

from __future__ import annotations

import io
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from ..scoring.ranking import rank
from ..timeutil import CST, as_cst
from .stats import is_overdue, statistics

ORG = "督查室"


def _rate(r: dict[str, Any]) -> str:
    return "—" if r["rate"] is None else f"{r['rate']}%（{r['num']}/{r['den']}）"


def bulletin_data(site, registry, month: str, as_of: date | None = None) -> dict[str, Any]:
    from ..scoring import scoring_rules

    rules = scoring_rules(registry)
    period, ranking = rank(site, rules, month, as_of)
    end = datetime.combine(min(period.end, as_of or period.end), time(23, 59, 59), CST)
    items = list(site.item_index.values())
    units = site["units"]
    overdue = []
    for item in items:
        if is_overdue(item, end):
            overdue.append({"id": item.item_id, "number": item.number, "title": item.title,
                            "unit": units.title_of(getattr(item, "lead_unit", None)),
                            "deadline": str(getattr(item, "deadline", "") or ""),
                            "level": int(getattr(item, "escalation_level", 0) or 0)})
    overdue.sort(key=lambda o: (o["deadline"], o["number"]))
    highlights = []
    for item in items:
        closed = next((as_cst(e["time"]) for e in reversed(list(item.history)) if e.get("transition") == "close"),
                      None)
        if closed is None or closed.date() not in period:
            continue
        deadline = getattr(item, "deadline", None)
        unit = units.title_of(getattr(item, "lead_unit", None))
        if getattr(item, "grade", None) == "A":
            highlights.append(f"{unit} 办理的 {item.number}《{item.title}》评价为优秀（A）")
        elif isinstance(deadline, date) and closed.date() < deadline:
            highlights.append(f"{unit} 提前办结 {item.number}《{item.title}》")
    return {"title": f"督查督办工作通报（{period.title}）", "org": ORG, "period": period.key,
            "period_title": period.title, "rules_title": rules.title,
            "stats": statistics(site, registry, items, end), "ranking": ranking,
            "overdue": overdue, "highlights": highlights}


def bulletin_xlsx(data: dict[str, Any]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "单位排名"
    ws.append([data["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["名次", "承办单位", "事项数", "已办结", "得分"])
    for u in data["ranking"]:
        ws.append([u.rank, u.title, u.items, u.completed, round(u.score, 2)])
    detail = wb.create_sheet("得分明细")
    detail.append(["承办单位", "计分项", "分值", "事项编号", "日期"])
    for u in data["ranking"]:
        for ln in u.lines:
            detail.append([u.title, ln.title, round(ln.points, 2), ln.number or ln.item, ln.day])
    od = wb.create_sheet("逾期事项")
    od.append(["事项编号", "事项", "承办单位", "办结时限", "督办级别"])
    for o in data["overdue"]:
        od.append([o["number"], o["title"], o["unit"], o["deadline"], o["level"] or ""])
    hl = wb.create_sheet("工作亮点")
    hl.append(["工作亮点"])
    for h in data["highlights"]:
        hl.append([h])
    st = wb.create_sheet("统计")
    s = data["stats"]
    for label, key in (("按时签收率", "sign_on_time"), ("按时反馈率", "feedback_on_time"),
                       ("按时办结率", "closed_on_time"), ("满意率", "satisfaction")):
        st.append([label, _rate(s[key])])
    st.append(["逾期数", s["overdue"]])
    st.append(["事项总数", s["total"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def render_pdf_html(html: str, title: str) -> bytes:
    """The archive renderer (PDF/A, embedded fonts, no network)."""
    from ..archive.render import render_pdf

    return render_pdf(html, title=title)


def bulletin_pdf(data: dict[str, Any]) -> bytes:
    from ..archive.render import render_template

    html = render_template("duban_archive.reports:templates/bulletin.pt", rate=_rate, **data)
    return render_pdf_html(html, data["title"])
