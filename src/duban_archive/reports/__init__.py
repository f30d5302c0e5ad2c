"""reports — monthly 通报 (PDF, Excel), statistics for the dashboard, the 电子台账 export/import."""

from __future__ import annotations


def includeme(config) -> None:
    config.add_route("reports.dashboard", "/dashboard")
    config.add_route("reports.index", "/reports")
    try:
        from ..views.layout import add_nav
    except ImportError:  # pragma: no cover - UI not installed
        return
    add_nav("统计看板", "/dashboard", permission="view", order=40)
    add_nav("通报台账", "/reports", permission="view", order=41)
