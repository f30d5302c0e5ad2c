"""duban_archive — a records system for government supervision work (督查督办).

``main()`` assembles the Pyramid application: settings and the data directory,
the ZODB connection (FileStorage + blobs by default), transactions with retry,
then one ``config.include`` per subpackage.  Reading this function tells you
what the application is made of.
"""

from __future__ import annotations

from .settings import prepare_settings


def main(global_config=None, **settings):
    from pyramid.config import Configurator  # imported here: `duban-archive` filters its warnings first

    settings = prepare_settings(global_config or {}, settings)
    from .scripts.check_definitions import refuse_bad_definitions

    refuse_bad_definitions(settings)  # every definition problem at once, before any subsystem loads
    with Configurator(settings=settings) as config:
        config.include(".views.retry")
        config.include("pyramid_tm")
        config.include("pyramid_zodbconn")
        config.include("pyramid_chameleon")
        config.include(".i18n")
        config.include(".security")
        config.include(".content_types")
        config.include(".workflows")
        config.include(".audit")
        config.include(".catalog")
        config.include(".archive")
        config.include(".notifications")
        config.include(".scoring")
        config.include(".reports")
        config.include(".storage.schedule")
        config.include(".views")
        from .content_types.site_access import root_factory

        config.set_root_factory(root_factory)
        config.scan(".views")
        app = config.make_wsgi_app()
    from .content_types.bootstrap import ensure_site_on_start

    ensure_site_on_start(app, settings)
    return app
