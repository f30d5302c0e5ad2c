"""reports — monthly 通报 (PDF, Excel), statistics for the dashboard, the 电子台账 export/import."""

from __future__ import annotations


def includeme(config) -> None:
    """Nothing to configure: the pages (``/dashboard``, ``/reports``) are views/reports.py's."""
