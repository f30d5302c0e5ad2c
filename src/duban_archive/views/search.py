"""检索: the search page, Excel export, saved searches, and audit-logged opening of results.

Views only call :mod:`duban_archive.catalog.fulltext`; every hit is re-checked
against the live item (``view`` permission) before it is shown or exported.
An auditor's queries and the results they open go to the audit log.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound, HTTPSeeOther
from pyramid.response import Response
from pyramid.view import view_config

from ..audit.log import record
from ..catalog.fulltext import search as catalog_search
from ..catalog.search import FACETS, SORTS, QueryError
from ..content_types.site import Site
from ..timeutil import now
from .display import fmt_date, unit_title

PARAMS = ("q", "board", "state", "unit", "year", "retention", "overdue", "sort")
SORT_TITLES = {"relevance": "相关度", "registered_on": "立项日期（新→旧）", "modified": "最近更新",
               "deadline": "办结时限（近→远）"}
FACET_TITLES = {"board": "版块", "state": "状态", "unit": "承办单位", "year": "年度", "retention": "保管期限"}
RETENTION_TITLES = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
EXPORT_LIMIT = 5000

try:  # the UI engineer's nav registry
    from .layout import add_nav

    add_nav("检索", "/search", "search", order=30)
except ImportError:  # pragma: no cover
    pass


class ParamError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("检索条件有误")
        self.fields = fields


def read_params(get) -> dict[str, Any]:
    """Validated search parameters from a query string (Chinese messages per field)."""
    errors: dict[str, str] = {}
    params: dict[str, Any] = {k: (get.get(k) or "").strip() for k in PARAMS}
    if len(params["q"]) > 500:
        errors["q"] = "检索式不能超过 500 个字符"
    if params["year"]:
        try:
            params["year"] = int(params["year"])
            if not 1900 <= params["year"] <= 2999:
                raise ValueError
        except ValueError:
            errors["year"] = "年度应为四位数字，如 2025"
    params["overdue"] = params["overdue"].lower()
    if params["overdue"] in ("true", "1", "yes"):
        params["overdue"] = True
    elif params["overdue"] in ("false", "0", "no"):
        params["overdue"] = False
    elif params["overdue"]:
        errors["overdue"] = "是否逾期应为 true 或 false"
    else:
        params["overdue"] = None
    if params["sort"] and params["sort"] not in SORTS:
        errors["sort"] = "排序方式应为 " + "、".join(SORTS)
    params["sort"] = params["sort"] or "relevance"
    for name, default, top in (("page", 1, 10_000), ("per_page", 20, 100)):
        raw = get.get(name)
        try:
            value = int(raw) if raw not in (None, "") else default
            if not 1 <= value <= top:
                raise ValueError
        except ValueError:
            errors[name] = f"应为 1 到 {top} 之间的整数"
            value = default
        params[name] = value
    if errors:
        raise ParamError(errors)
    return params


@dataclass
class Row:
    hit: Any
    item: Any


def perform(request, site, params: dict[str, Any], *, facets: bool = True, export: bool = False):
    """Run the search as the caller; returns ``(results, rows)`` of items they may view.

    Raises QueryError for a query the parser cannot read.
    """
    kw = {k: params.get(k) or None for k in ("board", "state", "unit", "year", "retention")}
    kw["overdue"] = params.get("overdue")
    if export:
        results = catalog_search(request, params["q"], sort=params["sort"], page=1,
                                 per_page=100, facets=False, snippets=False, **kw)
        hits = list(results.hits)
        page = 1
        while len(hits) < min(results.total, EXPORT_LIMIT):
            page += 1
            more = catalog_search(request, params["q"], sort=params["sort"], page=page, per_page=100,
                                  facets=False, snippets=False, **kw)
            if not more.hits:
                break
            hits += more.hits
        results.hits = hits[:EXPORT_LIMIT]
    else:
        results = catalog_search(request, params["q"], sort=params["sort"], page=params["page"],
                                 per_page=params["per_page"], facets=facets, **kw)
    rows = []
    for hit in results.hits:
        item = site.get_item(hit.id)
        # re-check: the index may lag a permission change by a moment
        if item is not None and request.has_permission("view", item):
            rows.append(Row(hit, item))
    if is_audited(request, site):
        record(site, "search", request.authenticated_userid, "",
               q=params["q"], filters={k: v for k, v in kw.items() if v is not None},
               total=results.total, page=params.get("page", 1), export=export or None)
    return results, rows


def is_audited(request, site) -> bool:
    return request.authenticated_userid is not None and request.has_permission("audit_search", site)


def facet_title(request, site, name: str, key: Any) -> str:
    from .layout import translate

    if name == "board":
        board = site.boards.get(key)
        return translate(request, board.title) if board is not None else str(key)
    if name == "unit":
        return unit_title(site, key) or str(key)
    if name == "state":
        for wf in request.registry.duban_workflows:
            st = wf.states.get(key)
            if st is not None:
                return translate(request, st.title)
        return str(key)
    if name == "retention":
        return RETENTION_TITLES.get(key, str(key))
    return str(key)


def state_of(request, item) -> str:
    from .display import state_title

    return state_title(request, item)


def _url(params: dict[str, Any], path: str = "/search", **changes) -> str:
    current = {k: params.get(k) for k in PARAMS + ("page", "per_page")}
    current.update(changes)
    if isinstance(current.get("overdue"), bool):
        current["overdue"] = "true" if current["overdue"] else "false"
    clean = {k: str(v) for k, v in current.items()
             if v not in (None, "") and not (k == "page" and str(v) == "1")
             and not (k == "per_page" and str(v) == "20") and not (k == "sort" and v == "relevance")}
    return path + ("?" + urlencode(clean) if clean else "")


@view_config(context=Site, name="search", renderer="templates/search.pt", permission="search",
             request_method="GET")
def search_page(context, request):
    site = context
    try:
        params = read_params(request.GET)
    except ParamError as exc:
        request.response.status = 400
        params = {k: "" for k in PARAMS} | {"page": 1, "per_page": 20, "sort": "relevance", "overdue": None}
        return _page(request, site, params, None, [], exc.fields)
    searched = any(params[k] not in ("", None) for k in ("q", "board", "state", "unit", "year", "retention",
                                                        "overdue"))
    if not searched:
        return _page(request, site, params, None, [], {})
    try:
        results, rows = perform(request, site, params)
    except QueryError as exc:
        request.response.status = 400
        return _page(request, site, params, None, [], {"q": str(exc)})
    return _page(request, site, params, results, rows, {})


def _page(request, site, params, results, rows, errors) -> dict[str, Any]:
    from ..catalog.queue import get_state

    state = get_state(site, create=False)
    user = request.authenticated_userid
    saved = dict(state.saved.get(user, {})) if state is not None and user else {}
    facets = []
    if results is not None:
        for name in FACETS:
            entries = [(key, facet_title(request, site, name, key), count,
                        _url(params, **{name: "" if params.get(name) == key else key, "page": 1}),
                        params.get(name) == key)
                       for key, count in results.facets.get(name, [])]
            if entries:
                facets.append((name, FACET_TITLES[name], entries))
    return {
        "page_title": "检索", "params": params, "results": results, "rows": rows, "errors": errors,
        "facets": facets, "sorts": SORT_TITLES, "saved": sorted(saved.items()),
        "url": lambda **kw: _url(params, **kw), "export_url": _url(params, "/search.xlsx", page=""),
        "query_string": _url(params, "", page="").lstrip("?"),
        "state_of": lambda item: state_of(request, item), "fmt_date": fmt_date,
        "unit_title": lambda uid: unit_title(site, uid),
        "open_url": lambda hit: "/search-open?" + urlencode({"id": hit.id, "q": params["q"]}),
        "audited": is_audited(request, site),
    }


@view_config(context=Site, name="search-open", permission="search", request_method="GET")
def open_result(context, request):
    """Open a search result: audit-logged for auditors, then the item page."""
    item = context.get_item(request.GET.get("id", ""))
    if item is None:
        raise HTTPNotFound("事项不存在")
    if not request.has_permission("view", item):
        from pyramid.httpexceptions import HTTPForbidden

        raise HTTPForbidden("您无权查看此事项")
    if is_audited(request, context):
        record(context, "view", request.authenticated_userid, item.item_id, via="search",
               q=request.GET.get("q", ""))
    return HTTPFound(location=request.resource_url(item))


@view_config(context=Site, name="search.xlsx", permission="search", request_method="GET")
def export_results(context, request):
    """导出 Excel: every result the caller may view (up to 5000), one row per item."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    try:
        params = read_params(request.GET)
        results, rows = perform(request, context, params, facets=False, export=True)
    except (ParamError, QueryError) as exc:
        raise HTTPBadRequest(str(exc)) from exc
    wb = Workbook()
    ws = wb.active
    ws.title = "检索结果"
    ws.append([f"检索式：{params['q'] or '（全部）'}", f"导出时间：{fmt_date(now())}",
               f"共 {len(rows)} 件"])
    header = ["序号", "事项编号", "标题", "版块", "状态", "牵头单位", "协办单位", "立项日期",
              "办结时限", "档号", "保管期限"]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for i, row in enumerate(rows, 1):
        item = row.item
        board = context.boards.get(item.board_id)
        ws.append([
            i, item.number, getattr(item, "title", ""), board.title if board is not None else item.board_id,
            state_of(request, item), unit_title(context, getattr(item, "lead_unit", "")),
            "、".join(unit_title(context, u) for u in (getattr(item, "assist_units", ()) or ())),
            fmt_date(getattr(item, "registered_on", None)), fmt_date(getattr(item, "deadline", None)),
            getattr(item, "archival_code", "") or "",
            RETENTION_TITLES.get(getattr(item, "retention", "") or "", ""),
        ])
    for col, width in zip("ABCDEFGHIJK", (6, 18, 40, 14, 10, 16, 24, 12, 12, 26, 10), strict=True):
        ws.column_dimensions[col].width = width
    record(context, "export", request.authenticated_userid, "", what="search", q=params["q"], count=len(rows))
    out = io.BytesIO()
    wb.save(out)
    filename = f"search-{now():%Y%m%d-%H%M}.xlsx"
    return Response(out.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    content_disposition=f'attachment; filename="{filename}"')


@view_config(context=Site, name="search-save", permission="search", request_method="POST")
def save_search(context, request):
    """Save (or with ``delete`` remove) a named search for the current user."""
    from persistent.mapping import PersistentMapping

    from ..catalog.queue import get_state
    from .layout import translate

    user = request.authenticated_userid
    name = (request.POST.get("name") or "").strip()[:60]
    query = (request.POST.get("query") or "").strip()[:1000]
    state = get_state(context)
    mine = state.saved.get(user)
    if request.POST.get("delete"):
        if mine is not None and name in mine:
            del mine[name]
            request.session.flash(translate(request, "已删除保存的检索：{name}", {"name": name}))
        return HTTPSeeOther(location="/search")
    if not name:
        request.session.flash(translate(request, "请填写检索名称"), "error")
        return HTTPSeeOther(location="/search?" + query)
    if mine is None:
        mine = state.saved[user] = PersistentMapping()
    mine[name] = {"query": query, "created": now()}
    request.session.flash(translate(request, "已保存检索：{name}", {"name": name}))
    return HTTPSeeOther(location="/search?" + query)
