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
from transaction.interfaces import TransientError

from ..scoring.grading import grade_flag
from ..scoring.ranking import rank
from ..timeutil import CST, as_cst
from .stats import is_overdue, skip_note, statistics

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
    highlights = []
    criticisms: list[str] = []
    grading = getattr(registry, "duban_grading", None)
    skipped: dict[str, dict[str, str]] = {}
    for item in items:
        try:  # one item with a bad stored value is left out (and named), not the bulletin
            row, highlight = _item_lines(item, units, end, period, grading)
            criticism = _criticism(item, units, period, grading)
        except TransientError:
            raise
        except Exception as exc:  # noqa: BLE001
            skipped.setdefault(item.item_id, skip_note(item, exc, "通报"))
            continue
        if row is not None:
            overdue.append(row)
        if highlight is not None:
            highlights.append(highlight)
        if criticism is not None:
            criticisms.append(criticism)
    if rules.ladder and overdue:  # seed 001 四（二）4: where each overdue item stands on the 整改阶梯
        from ..scoring.engine import fact_for
        from ..scoring.ladder import ladder
        from ..workflows.calendar import WorkCalendar

        cal = WorkCalendar.for_site(site)
        for row in overdue:
            steps = ladder(rules, fact_for(site.get_item(row["id"])), cal, end.date())
            row["step"] = ""
            if steps:
                last = steps[-1]
                until = f"，限 {last['rectify_by'].isoformat()} 前整改" if last["rectify_by"] else ""
                row["step"] = f"{last['title']}（{last['date'].isoformat()}{until}）"
    overdue.sort(key=lambda o: (o["deadline"], o["number"]))
    stats = statistics(site, registry, items, end)
    for note in stats.get("skipped", ()):
        skipped.setdefault(note["id"], note)
    return {"title": f"督查督办工作通报（{period.title}）", "org": ORG, "period": period.key,
            "period_title": period.title, "rules_title": rules.title,
            "stats": stats, "ranking": ranking,
            "overdue": overdue, "highlights": highlights, "criticisms": criticisms,
            "skipped": list(skipped.values())}


def _closed_on(item) -> date | None:
    closed = next((as_cst(e["time"]) for e in reversed(list(item.history)) if e.get("transition") == "close"),
                  None)
    return closed.date() if closed else None


def _criticism(item, units, period, grading) -> str | None:
    """Seed 000 五「对于任务评级为D级的承办单位，市政府将进行通报批评」 (grades with ``criticise``)."""
    grade = getattr(item, "grade", None)
    if not grade or not grade_flag(grading, grade, "criticise") or _closed_on(item) not in period:
        return None
    unit = units.title_of(getattr(item, "lead_unit", None))
    titles = {g["value"]: g["title"] for g in (grading or {}).get("grades", ())}
    return f"{unit} 办理的 {item.number}《{item.title}》评价为{titles.get(grade, grade)}（{grade}），予以通报批评"


def _item_lines(item, units, end: datetime, period, grading=None) -> tuple[dict[str, Any] | None, str | None]:
    """One item's row of the overdue list and its highlight (either may be None); raises on bad data."""
    row = None
    if is_overdue(item, end):
        row = {"id": item.item_id, "number": item.number, "title": item.title,
               "unit": units.title_of(getattr(item, "lead_unit", None)),
               "deadline": str(getattr(item, "deadline", "") or ""),
               "level": int(getattr(item, "escalation_level", 0) or 0)}
    closed = next((as_cst(e["time"]) for e in reversed(list(item.history)) if e.get("transition") == "close"),
                  None)
    if closed is None or closed.date() not in period:
        return row, None
    deadline = getattr(item, "deadline", None)
    unit = units.title_of(getattr(item, "lead_unit", None))
    grade = getattr(item, "grade", None)
    if grade == "A":
        return row, f"{unit} 办理的 {item.number}《{item.title}》评价为优秀（A）"
    if not grade_flag(grading, grade, "highlight", default=True):  # a D closed early is no 亮点
        return row, None
    if isinstance(deadline, date) and closed.date() < deadline:
        return row, f"{unit} 提前办结 {item.number}《{item.title}》"
    return row, None


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
    od.append(["事项编号", "事项", "承办单位", "办结时限", "督办级别", "整改阶段"])
    for o in data["overdue"]:
        od.append([o["number"], o["title"], o["unit"], o["deadline"], o["level"] or "", o.get("step", "")])
    hl = wb.create_sheet("工作亮点")
    hl.append(["工作亮点"])
    for h in data["highlights"]:
        hl.append([h])
    if data.get("criticisms"):
        cr = wb.create_sheet("通报批评")
        cr.append(["通报批评"])
        for c in data["criticisms"]:
            cr.append([c])
    st = wb.create_sheet("统计")
    s = data["stats"]
    for label, key in (("按时签收率", "sign_on_time"), ("按时反馈率", "feedback_on_time"),
                       ("按时办结率", "closed_on_time"), ("满意率", "satisfaction"),
                       ("问题解决率", "resolution")):
        st.append([label, _rate(s[key])])
    st.append(["逾期数", s["overdue"]])
    st.append(["事项总数", s["total"]])
    if data.get("skipped"):  # items a bad stored value kept out of this bulletin, named
        sk = wb.create_sheet("未纳入事项")
        sk.append(["事项编号", "原因"])
        for note in data["skipped"]:
            sk.append([_safe(note["number"]), _safe(note["reason"])])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _safe(text: str) -> str:
    from ..validation import clean_text

    return clean_text(str(text), multiline=True)


def render_pdf_html(html: str, title: str) -> bytes:
    """The archive renderer (PDF/A, embedded fonts, no network)."""
    from ..archive.render import render_pdf

    return render_pdf(html, title=title)


def bulletin_pdf(data: dict[str, Any]) -> bytes:
    from ..archive.render import render_template

    html = render_template("duban_archive.reports:templates/bulletin.pt", rate=_rate, **data)
    return render_pdf_html(html, data["title"])
