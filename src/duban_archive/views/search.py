"""检索: the search page, Excel export, saved searches, and audit-logged opening of results.

Views only call :mod:`duban_archive.catalog.fulltext`; every hit is re-checked
against the live item (``view`` permission) before it is shown or exported.
An auditor's queries and the results they open go to the audit log.

Search criteria are validated by ONE colander schema
(:mod:`duban_archive.catalog.criteria`) for the search page, ``GET /api/v1/search``
and saved searches; saved searches are stored by ONE set of functions
(:mod:`duban_archive.catalog.saved_searches`) used by the page and by
``/api/v1/saved-searches``.  This module only reads requests and renders.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render
from pyramid.response import Response
from pyramid.view import view_config

from ..audit.log import record
from ..audit.reads import log_read
from ..catalog.criteria import CRITERIA, parse_criteria, query_string
from ..catalog.fulltext import get_catalog
from ..catalog.fulltext import search as catalog_search
from ..catalog.saved_searches import (  # noqa: F401 (the page's store; re-exported for older imports)
    NAME_MAX,
    SAVED_MAX,
    SavedSearch,
    delete_saved_search,
    save_search,
    saved_searches,
)
from ..catalog.search import FACETS, QueryError
from ..content_types.site import Site
from ..errors import Refusal
from ..timeutil import display, now
from ..validation import ValidationFailed
from .display import fmt_date, mask_snippet, unit_title

SORT_TITLES = {"relevance": "相关度", "registered_on": "立项日期（新→旧）", "modified": "最近更新",
               "deadline": "办结时限（近→远）"}
FACET_TITLES = {"board": "版块", "state": "状态", "unit": "承办单位", "year": "年度", "retention": "保管期限"}
RETENTION_TITLES = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
EXPORT_LIMIT = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def includeme(config) -> None:
    config.add_nav("检索", "/search", "search", order=30)
    config.add_item_panel("index_problem", "全文索引", index_problem_panel, permission="view", order=-20)
    config.add_item_panel("not_ocred", "未识别附件", not_ocred_panel, permission="view", order=95)


class ParamError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("检索条件有误")
        self.fields = fields


def read_params(get) -> dict[str, Any]:
    """Validated search parameters from a query string (Chinese messages per field).

    Other query-string keys (``format``, cache busters) are left to the caller.
    """
    try:
        return parse_criteria(get)
    except ValidationFailed as exc:
        raise ParamError(exc.fields) from None


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
            if hit.snippet:  # 来电号码 masked in the snippet too, unless the user must call back (issue 15)
                hit = replace(hit, snippet=mask_snippet(request, item, request.registry.duban_types.get(
                    item.type_name), hit.snippet))
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


def _url(params: dict[str, Any], path: str = "/search", /, **changes: Any) -> str:
    query = query_string({**params, **changes})
    return path + ("?" + query if query else "")


@view_config(context=Site, name="search", renderer="templates/search.pt", permission="search",
             request_method="GET")
def search_page(context, request):
    site = context
    try:
        params = read_params(request.GET)
    except ParamError as exc:
        request.response.status = 400
        params = {k: "" for k in CRITERIA} | {"page": 1, "per_page": 20, "sort": "relevance", "overdue": None,
                                              "q": (request.GET.get("q") or "")[:500]}  # keep what was typed
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
    log_read(request, rows, via="search_results", q=params["q"], page=params["page"])
    return _page(request, site, params, results, rows, {})


def _page(request, site, params, results, rows, errors) -> dict[str, Any]:
    user = request.authenticated_userid
    saved = saved_searches(site, user) if user else []
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
        "facets": facets, "sorts": SORT_TITLES, "saved": saved,
        "url": lambda **kw: _url(params, **kw), "export_url": _url(params, "/search.xlsx", page=""),
        "query_string": _url(params, "", page="").lstrip("?"),
        "state_of": lambda item: state_of(request, item), "fmt_date": fmt_date,
        "unit_title": lambda uid: unit_title(site, uid),
        "open_url": lambda hit: "/search-open?" + urlencode({"id": hit.id, "q": params["q"]}),
        "not_ocred": lambda row: not_ocred(request, row.item, row.hit),
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


# -- attachments whose text could not be read ----------------------------------------------------
def not_ocred(request, item, hit: Any = None) -> list[Any]:
    """Attachments of ``item`` recorded as not OCR'd (scans or photos read without OCR).

    Taken from the search hit when it carries the stored field (``hit.unextracted``); otherwise
    one index lookup, about 0.3 ms, so items without attachments skip it.
    """
    names = getattr(hit, "unextracted", None)
    if names is None:
        if not len(item.attachments):
            return []
        names = get_catalog(request.registry).not_ocred(item.item_id)
    return [item.attachments[n] for n in names if n in item.attachments]


def not_ocred_panel(request, item) -> str | None:
    """Item page tab listing attachments whose text is not in the full-text index (hidden when none)."""
    from .layout import translate

    atts = not_ocred(request, item)
    if not atts:
        return None
    return render("duban_archive.views:templates/search_not_ocred.pt", {
        "attachments": atts, "t": lambda m, **kw: translate(request, m, kw or None),
    }, request)


def index_problem_panel(request, item) -> str | None:
    """A warning above the item's tabs when the full-text index could not take it (hidden otherwise)."""
    from .layout import translate

    problem = getattr(item, "index_problem", None)
    if not problem:
        return None
    note = translate(request, "此事项暂时无法被全文检索到，请按提示修改相关内容后保存，系统会自动重新索引。")
    at = problem.get("at")
    when = f' <span class="text-muted small">（{escape(display(at))}）</span>' if at else ""
    return ('<div class="alert alert-warning mb-0 index-problem" role="alert" id="index-problem">'
            f'<div>{escape(str(problem.get("message", "")))}{when}</div>'
            f'<div class="small">{escape(note)}</div></div>')


# -- export ------------------------------------------------------------------------------------
def export_response(request, site, params: dict[str, Any]) -> Response:
    """导出 Excel: every result the caller may view (up to 5000), one row per item.

    Shared by the page (``/search.xlsx``) and ``GET /api/v1/search?format=xlsx``.
    Raises QueryError for a query the parser cannot read.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    results, rows = perform(request, site, params, facets=False, export=True)
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
        board = site.boards.get(item.board_id)
        ws.append([
            i, item.number, getattr(item, "title", ""), board.title if board is not None else item.board_id,
            state_of(request, item), unit_title(site, getattr(item, "lead_unit", "")),
            "、".join(unit_title(site, u) for u in (getattr(item, "assist_units", ()) or ())),
            fmt_date(getattr(item, "registered_on", None)), fmt_date(getattr(item, "deadline", None)),
            getattr(item, "archival_code", "") or "",
            RETENTION_TITLES.get(getattr(item, "retention", "") or "", ""),
        ])
    for col, width in zip("ABCDEFGHIJK", (6, 18, 40, 14, 10, 16, 24, 12, 12, 26, 10), strict=True):
        ws.column_dimensions[col].width = width
    record(site, "export", request.authenticated_userid, "", what="search", q=params["q"], count=len(rows))
    via = "api.search_export" if request.path.startswith("/api/") else "search_export"
    log_read(request, rows, via=via, q=params["q"])
    out = io.BytesIO()
    wb.save(out)
    filename = f"search-{now():%Y%m%d-%H%M}.xlsx"
    return Response(out.getvalue(), content_type=XLSX,
                    content_disposition=f'attachment; filename="{filename}"')


@view_config(context=Site, name="search.xlsx", permission="search", request_method="GET")
def export_results(context, request):
    try:
        return export_response(request, context, read_params(request.GET))
    except (ParamError, QueryError) as exc:
        raise HTTPBadRequest(str(exc)) from exc


# -- saved searches (stored by catalog/saved_searches.py) ------------------------------------------
@view_config(context=Site, name="search-save", permission="search", request_method="POST")
def save_search_view(context, request):
    """Save (or with ``delete`` remove) a named search for the current user."""
    from .layout import translate

    user = request.authenticated_userid
    name = (request.POST.get("name") or "").strip()
    query = (request.POST.get("query") or "").strip()[:2000]
    if request.POST.get("delete"):
        if delete_saved_search(context, user, name):
            request.session.flash(translate(request, "已删除保存的检索：{name}", {"name": name}))
        return HTTPSeeOther(location="/search")
    criteria = {k: v for k, v in parse_qsl(query) if k in CRITERIA}
    try:
        saved, _ = save_search(context, user, {"name": name, **criteria})
    except Refusal as exc:  # the store's refusal (by field): flashed on the search page
        for msg in exc.fields.values() or [exc.message]:
            request.session.flash(translate(request, msg), "error")
        return HTTPSeeOther(location="/search?" + query)
    request.session.flash(translate(request, "已保存检索：{name}", {"name": saved.name}))
    return HTTPSeeOther(location="/search?" + saved.query_string)
