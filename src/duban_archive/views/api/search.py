"""``GET /api/v1/search`` — full-text search, only what the caller may view (API.md "Search")."""

from __future__ import annotations

from pyramid.view import view_config

from ...catalog.search import FACETS, QueryError
from ...content_types.site_access import get_site
from ..search import FACET_TITLES, ParamError, facet_title, perform, read_params
from .errors import ApiError
from .openapi import document
from .util import actor, require

_STR = {"type": "string"}
RESULT = {"type": "object", "properties": {
    "total": {"type": "integer", "description": "调用者有权查看的命中总数"},
    "page": {"type": "integer"}, "per_page": {"type": "integer"},
    "results": {"type": "array", "items": {"type": "object", "properties": {
        "id": _STR, "number": _STR, "title": _STR, "state": _STR, "score": {"type": "number"},
        "snippet": {"type": "string", "description": "按句（。！？）截取的摘要，HTML，命中词以 <mark> 标出"},
        "url": _STR}}},
    "facets": {"type": "object", "description": "board / state / unit / year / retention 的分面计数",
               "additionalProperties": {"type": "array", "items": {"type": "object", "properties": {
                   "value": {}, "title": _STR, "count": {"type": "integer"}}}}},
}}
PARAMS = [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in (
    ("q", _STR, "检索式：关键词、\"短语\"、AND/OR/NOT、字段:值（title/body/state/board/units/year/"
                "retention/archival_code/registered_on…，也可用中文字段名 标题/状态/单位/年度/档号），"
                "日期范围 registered_on:[20250101 to 20251231]"),
    ("board", _STR, "版块 id"), ("state", _STR, "状态"), ("unit", _STR, "承办单位 id（主办或协办）"),
    ("year", {"type": "integer"}, "立项年度"), ("retention", _STR, "保管期限 Y / D30 / D10"),
    ("overdue", {"type": "boolean"}, "true：只要逾期未办结的事项；false：排除它们"),
    ("sort", {"type": "string", "enum": ["relevance", "registered_on", "modified", "deadline"]}, "排序"),
    ("page", {"type": "integer", "minimum": 1}, "页码"),
    ("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "每页条数（默认 20）"),
)]

document("api.search", "GET", "全文检索（仅返回调用者有权查看的事项；审计员的检索记入审计日志）",
         response=RESULT, params=PARAMS, errors=(400, 401, 403))


@view_config(route_name="api.search", renderer="json", request_method="GET", require_csrf=False)
def search_api(request):
    actor(request)
    site = get_site(request)
    require(request, "search", site)
    try:
        params = read_params(request.GET)
        results, rows = perform(request, site, params)
    except ParamError as exc:
        raise ApiError(400, "检索条件有误", exc.fields) from None
    except QueryError as exc:
        raise ApiError(400, "检索式有误", {"q": str(exc)}) from None
    return {
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "results": [{
            "id": row.item.item_id, "number": row.item.number, "title": getattr(row.item, "title", ""),
            "snippet": row.hit.snippet, "score": row.hit.score, "state": row.item.state,
            "url": request.route_url("api.item", id=row.item.item_id),
        } for row in rows],
        "facets": {name: [{"value": key, "title": facet_title(request, site, name, key), "count": count}
                          for key, count in results.facets.get(name, [])]
                   for name in FACETS},
        "facet_titles": FACET_TITLES,
    }
