"""HTML views (Chameleon templates) and the JSON API (``views/api``).

The HTML side is traversal-based (``/boards/<board>/<item>/@@edit``); the API
uses URL dispatch.  Other subsystems extend the UI without touching these
templates: :func:`duban_archive.views.layout.add_nav` adds a nav-bar entry and
:func:`duban_archive.views.panels.add_item_panel` adds a tab to the item page.
"""

from __future__ import annotations


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
    from .layout import add_nav

    add_nav("用户管理", "/@@users", "manage", order=90)
