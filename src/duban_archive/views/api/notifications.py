"""Outbox, inbox and escalation over the JSON API.

``GET /api/v1/outbox?since=<ISO>`` lists the reminders and notices produced
(督查室, admin and auditor see all; everyone else only their own), with
channel and status.  The inbox is the bell; ``POST /items/{id}/escalate``
is the supervisor's manual 三级督办 (e.g. 重大复杂疑难问题).
"""

from __future__ import annotations

from pyramid.view import view_config

from ...content_types.site_access import get_site
from ...notifications.escalation import start_escalation
from ...notifications.outbox import CHANNELS, KINDS, STATUSES, get_outbox
from ...timeutil import isoformat, parse_iso
from .errors import ApiError
from .openapi import document
from .util import actor, json_body, principals

SEE_ALL = {"role:supervisor", "role:sysadmin", "role:auditor"}
MESSAGE_SCHEMA = {"type": "object", "properties": {
    "id": {"type": "string"}, "kind": {"type": "string", "enum": list(KINDS)}, "kind_title": {"type": "string"},
    "channel": {"type": "string", "enum": list(CHANNELS)}, "recipient": {"type": "string"},
    "subject": {"type": "string"}, "body": {"type": "string"}, "item": {"type": "string", "nullable": True},
    "rule": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
    "status_title": {"type": "string"}, "attempts": {"type": "integer"},
    "error": {"type": "string", "nullable": True}, "created": {"type": "string", "format": "date-time"},
    "not_before": {"type": "string", "format": "date-time"},
    "sent_at": {"type": "string", "format": "date-time", "nullable": True}}}


def _limit(request, default=200, most=1000) -> int:
    try:
        return max(1, min(int(request.GET.get("limit", default)), most))
    except ValueError as exc:
        raise ApiError(400, "limit 应为整数", {"limit": f"应为 1-{most} 的整数"}) from exc


document("api.outbox", "GET", "已产生的提醒、催办、督办与通知（含渠道与发送状态）",
         params=[{"name": "since", "in": "query", "required": False,
                  "schema": {"type": "string", "format": "date-time"}, "description": "ISO 8601，含时区"},
                 {"name": "item", "in": "query", "required": False, "schema": {"type": "string"}},
                 {"name": "status", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": list(STATUSES)}},
                 {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
         response={"type": "object", "properties": {"total": {"type": "integer"},
                                                     "messages": {"type": "array", "items": MESSAGE_SCHEMA}}},
         errors=(400, 401))


@view_config(route_name="api.outbox", request_method="GET", renderer="json")
def outbox_view(request):
    me = actor(request)
    site = get_site(request)
    since_text = request.GET.get("since")
    try:
        since = parse_iso(since_text) if since_text else None
    except ValueError as exc:
        raise ApiError(400, "since 不是有效的 ISO 8601 时间", {"since": "如 2026-05-06T08:00:00+08:00"}) from exc
    status = request.GET.get("status")
    if status and status not in STATUSES:
        raise ApiError(400, "未知的发送状态", {"status": f"可选：{'、'.join(STATUSES)}"})
    item_id = request.GET.get("item")
    limit = _limit(request)
    see_all = bool(SEE_ALL & set(principals(request)))
    box = get_outbox(site)
    if item_id:
        source = sorted(box.for_item(item_id), key=lambda m: m.msg_id)
        if since is not None:
            source = [m for m in source if m.created >= since]
    elif since is not None:
        source = box.since(since)
    else:
        source = box.messages.values()
    out = []
    for msg in source:
        if not see_all and msg.recipient != me:
            continue
        if status and msg.status != status:
            continue
        out.append(msg.as_json())
        if len(out) >= limit:
            break
    from ...audit.reads import log_read

    log_read(request, (m["item"] for m in out if m["item"]), via="api.outbox", item=item_id or None)
    return {"total": len(out), "messages": out}


document("api.inbox", "GET", "我的站内消息（铃铛）：未读数与最近的消息",
         params=[{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
         response={"type": "object", "properties": {"unread": {"type": "integer"},
                                                     "messages": {"type": "array", "items": MESSAGE_SCHEMA}}},
         errors=(400, 401))


@view_config(route_name="api.inbox", request_method="GET", renderer="json")
def inbox_view(request):
    me = actor(request)
    box = get_outbox(get_site(request))
    inbox = box.inboxes.get(me)
    limit = _limit(request, 50, 500)
    if inbox is None:
        return {"unread": 0, "messages": []}
    out = []
    for msg_id in reversed(list(inbox.entries.keys())[-limit:]):
        data = box.messages[msg_id].as_json()
        data["read"] = bool(inbox.entries[msg_id])
        out.append(data)
    return {"unread": inbox.unread(), "messages": out}


document("api.inbox.read", "POST", "将站内消息标为已读", response={"type": "object", "properties": {
    "unread": {"type": "integer"}}}, errors=(401, 404))


@view_config(route_name="api.inbox.read", request_method="POST", renderer="json")
def inbox_read_view(request):
    me = actor(request)
    box = get_outbox(get_site(request))
    inbox = box.inboxes.get(me)
    msg_id = request.matchdict["id"]
    if inbox is None or msg_id not in inbox.entries:
        raise ApiError(404, "没有这条消息")
    inbox.mark_read(msg_id)
    return {"unread": inbox.unread()}


document("api.item.escalate", "POST", "启动督办（一级 / 二级 / 三级督办，督查室）",
         request={"type": "object", "required": ["level", "reason"], "properties": {
             "level": {"type": "integer", "enum": [1, 2, 3]}, "reason": {"type": "string"}}},
         response={"type": "object", "properties": {"level": {"type": "integer"}, "history": {"type": "object"}}},
         errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.escalate", request_method="POST", renderer="json")
def escalate_view(request):
    me = actor(request)
    site = get_site(request)
    item = site.get_item(request.matchdict["id"])
    if item is None or not request.has_permission("view", item):
        raise ApiError(404, "事项不存在")
    entry = start_escalation(item, json_body(request), actor=me, principals=principals(request),
                             registry=request.registry)  # a Refusal -> its JSON error
    return {"level": item.escalation_level, "history": _jsonable(entry)}


def _jsonable(entry: dict) -> dict:
    return {k: isoformat(v) if hasattr(v, "isoformat") else v for k, v in entry.items()}
