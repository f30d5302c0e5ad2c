"""``GET /api/v1/worklist`` — 我的待办, bucket by bucket, from the listing index."""

from __future__ import annotations

from pyramid.view import view_config

from ...audit.reads import log_read
from ...content_types.site_access import get_site
from ...workflows.deadlines import next_deadline
from ...workflows.worklist import BUCKETS, bucket, worklist
from .errors import ApiError
from .openapi import document
from .util import actor, principals


def entry_json(request, item) -> dict:
    wf = request.registry.duban_workflows.get(item.workflow)
    st = wf.states.get(item.state) if wf else None
    nxt = next_deadline(item)
    return {
        "id": item.item_id, "number": item.number, "title": getattr(item, "title", ""),
        "board": item.board_id, "state": item.state, "state_title": st.title if st else item.state,
        "url": request.route_url("api.item", id=item.item_id),
        "next_due": nxt["due"] if nxt else None, "light": nxt["light"] if nxt else None,
        "deadline_title": nxt["title"] if nxt else None,
    }


document("api.worklist", "GET", "我的待办（待审签、待签收、待办理、待核查、即将到期、已逾期……）",
         params=[{"name": "bucket", "in": "query", "required": False, "schema": {"type": "string",
                  "enum": list(BUCKETS)}},
                 {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
         response={"type": "object", "required": ["total", "buckets"], "properties": {
             "total": {"type": "integer", "description": "待办事项总数（不含即将到期/已逾期的重复计数）"},
             "buckets": {"type": "array", "items": {"type": "object", "properties": {
                 "name": {"type": "string"}, "title": {"type": "string"}, "total": {"type": "integer"},
                 "items": {"type": "array"}}}}}},
         errors=(400, 401))


@view_config(route_name="api.worklist", request_method="GET", renderer="json")
def worklist_view(request):
    actor(request)
    site = get_site(request)
    who = principals(request)
    try:
        limit = max(1, min(int(request.GET.get("limit", 20)), 200))
    except ValueError as exc:
        raise ApiError(400, "limit 应为整数", {"limit": "应为 1-200 的整数"}) from exc
    name = request.GET.get("bucket")
    memo: dict = {}  # the buckets' queries share their unions
    if name:
        if name not in BUCKETS:
            raise ApiError(400, "未知的待办分类", {"bucket": f"可选：{'、'.join(BUCKETS)}"})
        total, items = bucket(site, who, name, limit=limit)
        found = [{"name": name, "title": BUCKETS[name], "total": total, "items": items}]
    else:
        found = worklist(site, who, limit=limit, empty=True, memo=memo)
    all_total, _ = bucket(site, who, "*", limit=0, memo=memo) if not name else (found[0]["total"], None)
    log_read(request, [i for b in found for i in b["items"]], via="api.worklist", bucket=name)
    return {
        "total": all_total,
        "buckets": [dict(b, items=[entry_json(request, i) for i in b["items"]]) for b in found],
    }
