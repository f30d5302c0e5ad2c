"""``/api/v1/saved-searches`` — the caller's saved searches (the same store as the search page's).

A saved search is a name plus the criteria of ``GET /api/v1/search`` (``q``, ``board``, ``state``,
``unit``, ``year``, ``retention``, ``overdue``, ``sort``), validated by the same colander schema.
Each user sees and changes only their own.  Saving under an existing name replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyramid.view import view_config

from ...catalog.saved_searches import (
    NAME_MAX,
    SAVED_MAX,
    SavedSearch,
    delete_saved_search,
    find_saved_search,
    save_search,
    saved_searches,
)
from ...content_types.site_access import get_site
from ...timeutil import isoformat
from .errors import ApiError
from .openapi import OPERATIONS, document
from .search import CRITERIA_PARAMS
from .util import actor, json_body, require


def _criterion(param: Mapping[str, Any]) -> dict[str, Any]:
    return {**param["schema"], "description": param["description"]}


_CRITERIA = {p["name"]: _criterion(p) for p in CRITERIA_PARAMS}
SAVED = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "maxLength": NAME_MAX, "description": "名称（本人范围内唯一，不含 / \\ ? #）"},
    **_CRITERIA,
    "created": {"type": "string", "format": "date-time", "readOnly": True},
    "search_url": {"type": "string", "readOnly": True, "description": "执行此检索的 GET /api/v1/search 地址"},
    "page_url": {"type": "string", "readOnly": True, "description": "检索页面上的同一检索"},
}}
NAME_PARAM = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]


def saved_json(request, saved: SavedSearch) -> dict[str, Any]:
    query = saved.query_string
    return {
        "name": saved.name, **saved.params, "created": isoformat(saved.created) if saved.created else None,
        "search_url": request.route_url("api.search") + ("?" + query if query else ""),
        "page_url": request.application_url + "/search" + ("?" + query if query else ""),
    }


def _caller(request) -> tuple[Any, str]:
    user = actor(request)
    site = get_site(request)
    require(request, "search", site)
    return site, user


document("api.saved_searches", "GET", "我保存的检索（按名称排序）",
         response={"type": "array", "items": SAVED}, errors=(401, 403))


@view_config(route_name="api.saved_searches", request_method="GET", renderer="json")
def list_view(request):
    site, user = _caller(request)
    return [saved_json(request, s) for s in saved_searches(site, user)]


document("api.saved_searches", "POST",
         "保存检索：名称 + 检索条件（与 GET /api/v1/search 的参数相同）；新建为 201，同名则替换（200）；"
         f"每人至多 {SAVED_MAX} 个", request=SAVED, response=SAVED, status=201, errors=(400, 401, 403))
OPERATIONS[("api.saved_searches", "POST")]["responses"]["200"] = {
    "description": "替换了同名的检索", "content": {"application/json": {"schema": SAVED}}}


@view_config(route_name="api.saved_searches", request_method="POST", renderer="json")
def create_view(request):
    site, user = _caller(request)
    saved, created = save_search(site, user, json_body(request))  # a refusal -> 400 by field
    request.response.status_int = 201 if created else 200
    request.response.headers["Location"] = request.route_url("api.saved_search", name=saved.name)
    return saved_json(request, saved)


document("api.saved_search", "GET", "我保存的一个检索", response=SAVED, params=NAME_PARAM,
         errors=(401, 403, 404))


@view_config(route_name="api.saved_search", request_method="GET", renderer="json")
def get_view(request):
    site, user = _caller(request)
    name = request.matchdict["name"]
    saved = find_saved_search(site, user, name)
    if saved is None:
        raise ApiError(404, f"没有名为“{name}”的保存的检索")
    return saved_json(request, saved)


document("api.saved_search", "DELETE", "删除我保存的一个检索", params=NAME_PARAM, status=204,
         errors=(401, 403, 404))
OPERATIONS[("api.saved_search", "DELETE")]["responses"]["204"] = {"description": "已删除"}


@view_config(route_name="api.saved_search", request_method="DELETE")
def delete_view(request):
    site, user = _caller(request)
    name = request.matchdict["name"]
    if not delete_saved_search(site, user, name):
        raise ApiError(404, f"没有名为“{name}”的保存的检索")
    request.response.status_int = 204
    return request.response

