"""notifications — reminders, escalation (三级督办), the outbox and its channels.

``includeme`` loads the reminder rules (``rules/*.toml`` + site profile),
subscribes to content events (items are re-planned at commit time, notices
are written on assignment) and, with ``duban.run_workers = true``, starts the
in-process ticker.  ``duban-archive tick`` does the same work from cron.
"""

from __future__ import annotations

import logging

from pyramid.threadlocal import get_current_registry

from ..events import ObjectAdded, ObjectModified, StateChanged
from ..settings import asbool

log = logging.getLogger(__name__)

#: item fields whose change moves a deadline or the people reminded
WATCHED_FIELDS = {"deadline", "next_due", "lead_unit", "assist_units", "dispatched_at", "ticket_kind",
                  "state"}


def includeme(config) -> None:
    from .rules import ReminderRules, apply_quiet_setting

    settings = config.get_settings()
    rules = ReminderRules.load(settings.get("duban.profile_dir") or None)
    apply_quiet_setting(rules, settings.get("duban.quiet_hours"))
    config.registry.duban_reminder_rules = rules
    config.add_subscriber(on_state_changed, StateChanged)
    config.add_subscriber(on_added, ObjectAdded)
    config.add_subscriber(on_modified, ObjectModified)
    # the inbox page and the 催办督办 item panel: views/notifications.py
    if asbool(settings.get("duban.run_workers", "false")):
        from .delivery import Ticker

        ticker = Ticker(config.registry, float(settings.get("duban.tick_interval") or 60))
        config.registry.duban_ticker = ticker
        ticker.start()


def _is_item(obj) -> bool:
    from ..content_types.item import SupervisionItem

    return isinstance(obj, SupervisionItem)


def _registry():
    registry = get_current_registry()
    return registry if hasattr(registry, "duban_reminder_rules") else None


def on_state_changed(event: StateChanged) -> None:
    registry = _registry()
    if registry is None or not _is_item(event.object):
        return
    from ..content_types.site import find_site
    from .accountability import on_transition
    from .reminders import notice_on_transition, touch

    notice_on_transition(find_site(event.object), event.object, event.transition, registry)
    on_transition(find_site(event.object), event.object, event.transition, registry)
    touch(event.object, registry)


def on_added(event: ObjectAdded) -> None:
    registry = _registry()
    if registry is None:
        return
    from .reminders import touch

    obj = event.object
    if _is_item(obj):
        from ..content_types.site import find_site
        from .reminders import notice_on_created

        notice_on_created(find_site(obj), obj, registry)  # 待审签
        touch(obj, registry)
        return
    parent = getattr(obj, "__parent__", None)
    item = getattr(parent, "__parent__", None)
    if getattr(obj, "type_name", "") == "feedback_report" and _is_item(item):
        from ..content_types.site import find_site
        from .reminders import notice_on_event

        notice_on_event(find_site(item), item, "feedback", registry)  # a rule set's [notices.feedback]
        touch(item, registry)  # the unit reported: pending reminders are no longer needed


def on_modified(event: ObjectModified) -> None:
    registry = _registry()
    if registry is None or not _is_item(event.object):
        return
    if not event.changes or WATCHED_FIELDS & set(event.changes):
        from .reminders import touch

        touch(event.object, registry)
