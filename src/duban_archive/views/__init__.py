"""HTML views (Chameleon templates) and the JSON API (``views/api``)."""

from __future__ import annotations


def includeme(config) -> None:
    config.add_static_view("static", "duban_archive:static", cache_max_age=3600)
    config.add_static_view("deform_static", "deform:static", cache_max_age=3600)
    config.include(".api")
