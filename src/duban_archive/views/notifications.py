"""``/inbox`` — the in-app messages behind the bell (read one: it is marked read)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config

from ..notifications.outbox import get_outbox
from ..timeutil import as_cst


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
    request.session.flash("已全部标为已读", "success")
    return HTTPFound(request.route_url("notifications.inbox"))
