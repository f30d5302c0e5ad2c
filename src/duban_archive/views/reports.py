"""``/reports`` — 月度通报 (PDF / Excel) and 电子台账 downloads."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.view import view_config

from ..timeutil import today
from .dashboard import may_see_reports

#: 2026-05, 2026/5, 2026.05, 2026年5月: what people type where the browser has no month picker
_MONTH = re.compile(r"^\s*(\d{4})\s*(?:[-/.年])\s*(\d{1,2})\s*月?\s*$")
BULLETIN_FORMATS = {"pdf": "PDF", "xlsx": "Excel"}


@view_config(route_name="reports.index", renderer="templates/reports.pt", permission="view")
def reports_page(context, request):
    if not may_see_reports(request):
        raise HTTPForbidden("通报仅供督查室、领导、管理员和审计员查看")
    month = request.GET.get("month") or today().strftime("%Y-%m")
    return {"page_title": "通报与台账", "month": month, "errors": {},
            "boards": [(b.board_id, b.title) for b in context.boards.values()]}


def bulletin_month(text: str) -> tuple[str | None, str | None]:
    """``(YYYY-MM, None)`` for a month people wrote, else ``(None, what is wrong)`` in Chinese."""
    m = _MONTH.match(text or "")
    if not m:
        return None, "请填写月份，如 2026-05"
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None, "月份应在 1 至 12 之间"
    if (year, month) > (today().year, today().month):
        return None, "不能生成未来月份的通报"
    return f"{year:04d}-{month:02d}", None


@view_config(route_name="reports.bulletin", request_method="GET", permission="view")
def bulletin_form(context, request):
    """The 月度通报 form: a bad month is shown on the page beside the field (not the API's JSON), the
    typed text kept; a good one goes on to the download (``/api/v1/reports/bulletin``)."""
    if not may_see_reports(request):
        raise HTTPForbidden("通报仅供督查室、领导、管理员和审计员查看")
    typed = request.GET.get("month", "")
    month, problem = bulletin_month(typed)
    fmt = request.GET.get("format", "pdf")
    errors = {"month": problem} if problem else {}
    if fmt not in BULLETIN_FORMATS:
        errors["format"] = "请选择下载 PDF 或 Excel"
    if errors:
        from pyramid.renderers import render_to_response

        page = {**reports_page(context, request), "month": typed, "errors": errors}
        response = render_to_response("duban_archive.views:templates/reports.pt", page, request=request)
        response.status = 400
        return response
    return HTTPSeeOther(location="/api/v1/reports/bulletin?" + urlencode({"month": month, "format": fmt}))


def includeme(config) -> None:
    """The report pages' routes and nav entries (``/dashboard``: views/dashboard.py)."""
    config.add_route("reports.dashboard", "/dashboard")
    config.add_route("reports.index", "/reports")
    config.add_route("reports.bulletin", "/reports/bulletin")
    config.add_nav("统计看板", "/dashboard", permission="view", order=40)
    config.add_nav("通报台账", "/reports", permission="view", order=41)
