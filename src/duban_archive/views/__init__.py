"""HTML views (Chameleon templates) and the JSON API (``views/api``).

The HTML side is traversal-based (``/boards/<board>/<item>/@@edit``); the API
uses URL dispatch.

All UI wiring lives here, never in the domain packages (``catalog``,
``workflows``, ``notifications``, ``scoring``, ``reports``, ``archive`` import
nothing from ``views``; ``tests/test_layering.py`` keeps it so).  The views
modules extend the page without touching the templates through two
configuration directives, defined by :mod:`.layout` and :mod:`.panels`:
``config.add_nav(title, path, permission, order)`` adds a nav-bar entry and
``config.add_item_panel(name, title, render, permission, order)`` a tab on the
item page.  Each views module that has pages of its own declares its routes,
nav entries and panels in its ``includeme``, included below.
"""

from __future__ import annotations

#: views modules with an ``includeme`` (routes, nav entries, item panels)
UI_MODULES = (".auth", ".admin", ".search", ".workflow", ".notifications", ".scoring", ".reports", ".archive",
              ".disposal", ".transfer")


def includeme(config) -> None:
    from pyramid.events import BeforeRender

    from .forms import configure_deform
    from .layout import renderer_globals

    config.add_static_view("static", "duban_archive:static", cache_max_age=3600)
    config.add_static_view("deform_static", "deform:static", cache_max_age=3600)
    config.include(".api")
    config.include(".headers")  # X-Frame-Options, CSP, nosniff, Referrer-Policy
    from .api.errors import DiskFullPredicate

    config.add_view_predicate("disk_full", DiskFullPredicate)  # 507 exception views (views/errors.py)
    configure_deform()
    config.add_subscriber(renderer_globals, BeforeRender)
    # inside the transaction (error pages read the site), before any view parses the body
    config.add_tween("duban_archive.views.limits.body_limit_tween_factory", under="pyramid_tm.tm_tween_factory")
    # every multipart body parsed once, streaming, files spooled and digested (views/multipart.py)
    config.add_tween("duban_archive.views.multipart.multipart_tween_factory",
                     under="duban_archive.views.limits.body_limit_tween_factory")
    config.include(".layout")  # the add_nav directive
    config.include(".panels")  # the add_item_panel directive
    for module in UI_MODULES:
        config.include(module)
