"""``/dashboard`` — 统计看板 with ECharts (served from /static/vendor, never a CDN)."""

from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPForbidden
from pyramid.view import view_config

from ..reports.stats import statistics
from .api.reports import REPORT_ROLES
from .api.util import principals


def may_see_reports(request) -> bool:
    return bool(REPORT_ROLES & set(principals(request)))


@view_config(route_name="reports.dashboard", renderer="templates/dashboard.pt", permission="view")
def dashboard_page(context, request):
    if not may_see_reports(request):
        raise HTTPForbidden("统计看板仅供督查室、领导、管理员和审计员查看")
    stats = statistics(context, request.registry, list(context.item_index.values()))
    data = json.dumps(stats, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
    return {"page_title": "统计看板", "stats": stats, "stats_json": data}
