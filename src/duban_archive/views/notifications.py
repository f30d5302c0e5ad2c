"""``/inbox`` — the in-app messages behind the bell (read one: it is marked read)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..content_types.item import SupervisionItem
from ..errors import Refusal
from ..notifications.outbox import get_outbox
from ..timeutil import as_cst
from .layout import translate


@view_config(route_name="notifications.inbox", renderer="templates/inbox.pt", permission="view",
             request_method="GET")
def inbox_page(context, request):
    me = request.authenticated_userid
    box = get_outbox(context)
    inbox = box.inboxes.get(me)
    rows = []
    if inbox is not None:
        for msg_id in reversed(list(inbox.entries.keys())[-200:]):
            msg = box.messages[msg_id]
            item = context.get_item(msg.item_id) if msg.item_id else None
            rows.append({"id": msg_id, "subject": msg.subject, "body": msg.body, "kind": msg.kind,
                         "read": bool(inbox.entries[msg_id]), "when": f"{as_cst(msg.created):%Y-%m-%d %H:%M}",
                         "url": request.resource_url(item) if item is not None else None})
    return {"page_title": "站内消息", "rows": rows, "unread": inbox.unread() if inbox else 0}


@view_config(route_name="notifications.inbox", permission="view", request_method="POST", require_csrf=True)
def inbox_mark_all(context, request):
    me = request.authenticated_userid
    inbox = get_outbox(context).inboxes.get(me)
    if inbox is not None:
        for msg_id, read in list(inbox.entries.items()):
            if not read:
                inbox.mark_read(msg_id)
    request.session.flash(translate(request, "已全部标为已读"))
    return HTTPFound(request.route_url("notifications.inbox"))


def reminders_panel(request, item) -> str | None:
    """Item tab 催办督办: escalation level, reminders sent, 催办单/督办单 and (督查室) 启动督办."""
    from pyramid.renderers import render

    from .api.util import principals

    who = set(principals(request))
    from ..content_types.site import find_site

    box = get_outbox(find_site(item))
    see_all = bool({"role:supervisor", "role:leader", "role:sysadmin", "role:auditor"} & who)
    me = request.authenticated_userid
    rows = []
    seen = set()
    for msg in sorted(box.for_item(item.item_id), key=lambda m: m.msg_id, reverse=True):
        if not see_all and msg.recipient != me:
            continue
        key = (msg.subject, msg.created)
        if msg.channel != "inbox" and key in seen:
            continue
        seen.add(key)
        rows.append({"when": f"{as_cst(msg.created):%Y-%m-%d %H:%M}", "subject": msg.subject,
                     "to": msg.recipient, "channel": msg.channel, "status": msg.status})
        if len(rows) >= 50:
            break
    escalations = [e for e in item.history if e.get("transition") == "escalate"]
    level = int(getattr(item, "escalation_level", 0) or 0)
    if not rows and not escalations and not see_all:
        return None
    return render("templates/reminders_panel.pt", {
        "rows": rows, "level": level, "escalations": escalations,
        "can_print": bool({"role:supervisor", "role:leader", "role:sysadmin"} & who),
        "can_escalate": "role:supervisor" in who and level < 3 and not item.archived,
        "item_id": item.item_id, "csrf_token": request.session.get_csrf_token(),
        "action": request.resource_url(item, "escalate")}, request)


@view_config(context=SupervisionItem, name="escalate", request_method="POST", permission="view", require_csrf=True)
def escalate_form(context, request):
    """The 启动督办 form of the 催办督办 tab: a refusal is shown on the item page, field by field."""
    from ..notifications.escalation import start_escalation
    from ..security.policy import request_principals
    from .errors import flash_refusal

    try:
        level = int(request.POST.get("level", "0"))
    except ValueError:
        level = 0
    try:
        start_escalation(context, {"level": level, "reason": request.POST.get("reason", "")},
                         actor=request.authenticated_userid, principals=request_principals(request),
                         registry=request.registry)
    except Refusal as exc:
        flash_refusal(request, exc, "未能启动督办：{message}", {"level": "督办级别", "reason": "督办事由"})
    else:
        request.session.flash(translate(request, "已启动督办"))
    return HTTPFound(request.resource_url(context))


def includeme(config) -> None:
    config.add_route("notifications.inbox", "/inbox")  # the bell in the nav bar (views/layout.py)
    config.add_item_panel("reminders", "催办督办", reminders_panel, permission="view", order=30)
