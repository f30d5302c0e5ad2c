"""``GET /api/v1/deadlines?start=&duration=`` — the deadline calculator (API.md)."""

from __future__ import annotations

from pyramid.view import view_config

from ...content_types.site_access import get_site
from ...timeutil import isoformat, now, parse_iso
from ...workflows.calendar import WorkCalendar
from ...workflows.deadlines import SpecError, compute_due
from .errors import ApiError
from .openapi import document
from .util import actor

document("api.deadlines", "GET", "计算时限：日历时长 P3D/PT5H/P1M、工作日 3WD、规则 same_day/sign_by",
         params=[{"name": "start", "in": "query", "required": False,
                  "schema": {"type": "string", "format": "date-time"}},
                 {"name": "duration", "in": "query", "required": True, "schema": {"type": "string"}}],
         response={"type": "object", "required": ["due", "calendar_known"], "properties": {
             "due": {"type": "string", "format": "date-time"}, "calendar_known": {"type": "boolean"}}},
         errors=(400, 401))


@view_config(route_name="api.deadlines", request_method="GET", renderer="json")
def deadlines_view(request):
    actor(request)
    fields = {}
    start_text = request.GET.get("start")
    spec = (request.GET.get("duration") or "").strip()
    start = now()
    if start_text:
        try:
            start = parse_iso(start_text)
        except ValueError:
            fields["start"] = "应为 ISO 8601 时间，例如 2026-02-13T10:00:00+08:00"
    if not spec:
        fields["duration"] = "必填，例如 P3D、PT5H、P1M、3WD、sign_by"
    if fields:
        raise ApiError(400, "参数有误", fields)
    try:
        due = compute_due(start, spec, WorkCalendar.for_site(get_site(request)))
    except SpecError as exc:
        raise ApiError(400, "参数有误", {"duration": str(exc)}) from exc
    return {"due": isoformat(due.due), "calendar_known": due.calendar_known}
