"""``/reports`` — 月度通报 (PDF / Excel) and 电子台账 downloads."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden
from pyramid.view import view_config

from ..timeutil import today
from .dashboard import may_see_reports


@view_config(route_name="reports.index", renderer="templates/reports.pt", permission="view")
def reports_page(context, request):
    if not may_see_reports(request):
        raise HTTPForbidden("通报仅供督查室、领导、管理员和审计员查看")
    month = request.GET.get("month") or today().strftime("%Y-%m")
    return {"page_title": "通报与台账", "month": month,
            "boards": [(b.board_id, b.title) for b in context.boards.values()]}


def includeme(config) -> None:
    """The report pages' routes and nav entries (``/dashboard``: views/dashboard.py)."""
    config.add_route("reports.dashboard", "/dashboard")
    config.add_route("reports.index", "/reports")
    config.add_nav("统计看板", "/dashboard", permission="view", order=40)
    config.add_nav("通报台账", "/reports", permission="view", order=41)
