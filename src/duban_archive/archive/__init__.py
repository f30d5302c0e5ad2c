"""archive — the PDF/A dossier, 立卷归档 (档号, 保管期限), BagIt packages, fixity.

``render.render_pdf`` is the safe PDF/A renderer other subsystems reuse for
printable forms; ``filing`` is the records officer's Python API.
"""

from __future__ import annotations


def includeme(config) -> None:
    from pyramid.events import ApplicationCreated

    from ..events import ObjectAdded, StateChanged
    from . import capture
    from .filing import on_state_changed
    from .rules import get_rules

    get_rules(config.registry)  # validate the 保管期限表 / 档号 template at start-up
    config.add_subscriber(on_state_changed, StateChanged)
    # an upload queues its attachment for the capture-time checks, run after commit in the background
    config.add_subscriber(capture.on_attachment_added, ObjectAdded)
    settings = config.get_settings()
    if capture.worker_enabled(settings):
        config.add_subscriber(lambda event: capture.start_worker(config.registry), ApplicationCreated)
    # the 档案室 nav entry and the 归档 item panel: views/archive.py
