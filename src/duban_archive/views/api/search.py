"""``GET /api/v1/search`` — full-text search, only what the caller may view (API.md "Search").

``format=xlsx`` exports every result (up to 5000) as the search page's 导出 Excel does.
Items' full JSON gains ``not_ocred``: attachments whose text is not in the index.
"""

from __future__ import annotations

from pyramid.view import view_config

from ...audit.reads import log_read
from ...catalog.search import FACETS, QueryError
from ...content_types.site_access import get_site
from ..search import (
    EXPORT_LIMIT,
    FACET_TITLES,
    XLSX,
    ParamError,
    export_response,
    facet_title,
    not_ocred,
    perform,
    read_params,
)
from .errors import ApiError
from .openapi import OPERATIONS, document
from .schemas import ref
from .serialize import item_json_contributor
from .util import actor, require

FORMATS = ("json", "xlsx")
_STR = {"type": "string"}
RESULT = ref("SearchResult")  # views/api/schemas.py
#: the criteria of a search, as query parameters here and as JSON keys of a saved search
CRITERIA_PARAMS = [{"name": n, "in": "query", "required": False, "schema": s, "description": d} for n, s, d in (
    ("q", _STR, "检索式：关键词、\"短语\"、AND/OR/NOT、字段:值（title/body/state/board/units/year/"
                "retention/archival_code/registered_on…，也可用中文字段名 标题/状态/单位/年度/档号），"
                "日期范围 registered_on:[20250101 to 20251231]"),
    ("board", _STR, "版块 id"), ("state", _STR, "状态"), ("unit", _STR, "承办单位 id（主办或协办）"),
    ("year", {"type": "integer", "minimum": 1900, "maximum": 2999}, "立项年度"),
    ("retention", {"type": "string", "enum": ["Y", "D30", "D10"]}, "保管期限 Y / D30 / D10"),
    ("overdue", {"type": "boolean"}, "true：只要逾期未办结的事项；false：排除它们"),
    ("sort", {"type": "string", "enum": ["relevance", "registered_on", "modified", "deadline"]}, "排序"),
)]
PARAMS = CRITERIA_PARAMS + [{"name": n, "in": "query", "required": False, "schema": s, "description": d}
                            for n, s, d in (
    ("page", {"type": "integer", "minimum": 1}, "页码"),
    ("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "每页条数（默认 20）"),
    ("format", {"type": "string", "enum": list(FORMATS)},
     f"json（默认）或 xlsx：导出全部结果（至多 {EXPORT_LIMIT} 件，不分页）为 Excel"),
)]

document("api.search", "GET",
         "全文检索（仅返回调用者有权查看的事项；审计员的检索记入审计日志）；format=xlsx 导出 Excel",
         response=RESULT, params=PARAMS, errors=(400, 401, 403))
OPERATIONS[("api.search", "GET")]["responses"]["200"]["content"][XLSX] = {
    "schema": {"type": "string", "format": "binary"}}


@view_config(route_name="api.search", renderer="json", request_method="GET", require_csrf=False)
def search_api(request):
    actor(request)
    site = get_site(request)
    require(request, "search", site)
    errors: dict[str, str] = {}
    try:
        params = read_params(request.GET)
    except ParamError as exc:
        errors.update(exc.fields)
    fmt = request.GET.get("format") or "json"
    if fmt not in FORMATS:
        errors["format"] = "应为 json 或 xlsx"
    if errors:
        raise ApiError(400, "检索条件有误", errors)
    try:
        if fmt == "xlsx":
            return export_response(request, site, params)
        results, rows = perform(request, site, params)
    except QueryError as exc:
        raise ApiError(400, "检索式有误", {"q": str(exc)}) from None
    log_read(request, rows, via="api.search", q=params["q"], page=params["page"])
    return {
        "total": results.total,
        "page": results.page,
        "per_page": results.per_page,
        "results": [{
            "id": row.item.item_id, "number": row.item.number, "title": getattr(row.item, "title", ""),
            "snippet": row.hit.snippet, "score": row.hit.score, "state": row.item.state,
            "url": request.route_url("api.item", id=row.item.item_id),
            "not_ocred": [a.__name__ for a in not_ocred(request, row.item, row.hit)],
        } for row in rows],
        "facets": {name: [{"value": key, "title": facet_title(request, site, name, key), "count": count}
                          for key, count in results.facets.get(name, [])]
                   for name in FACETS},
        "facet_titles": FACET_TITLES,
    }


@item_json_contributor
def _not_ocred(request, item, data, full) -> None:
    """Item detail: which attachments' text could not be read (one index lookup, detail only)."""
    if full:
        data["not_ocred"] = [a.__name__ for a in not_ocred(request, item)]
