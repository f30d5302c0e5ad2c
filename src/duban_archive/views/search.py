"""检索: the search page, Excel export, saved searches, and audit-logged opening of results.

Views only call :mod:`duban_archive.catalog.fulltext`; every hit is re-checked
against the live item (``view`` permission) before it is shown or exported.
An auditor's queries and the results they open go to the audit log.

Search criteria are validated by ONE colander schema (:func:`criteria_schema`)
for the search page, ``GET /api/v1/search`` and saved searches; saved searches
are stored by ONE set of functions (:func:`saved_searches`, :func:`save_search`,
:func:`delete_saved_search`) used by the page and by ``/api/v1/searches``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import colander
from pyramid.httpexceptions import HTTPBadRequest, HTTPFound, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render
from pyramid.response import Response
from pyramid.view import view_config

from ..audit.log import record
from ..audit.reads import log_read
from ..catalog.fulltext import get_catalog
from ..catalog.fulltext import search as catalog_search
from ..catalog.search import FACETS, SORTS, QueryError
from ..content_types.site import Site
from ..timeutil import now
from ..validation import ValidationFailed, validate
from .display import fmt_date, unit_title

#: the criteria of a search (what a saved search keeps); ``page``/``per_page`` only page through it
CRITERIA = ("q", "board", "state", "unit", "year", "retention", "overdue", "sort")
SORT_TITLES = {"relevance": "相关度", "registered_on": "立项日期（新→旧）", "modified": "最近更新",
               "deadline": "办结时限（近→远）"}
FACET_TITLES = {"board": "版块", "state": "状态", "unit": "承办单位", "year": "年度", "retention": "保管期限"}
RETENTION_TITLES = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
EXPORT_LIMIT = 5000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAVED_MAX = 100  # per user
NAME_MAX = 60

try:  # the UI engineer's nav registry
    from .layout import add_nav

    add_nav("检索", "/search", "search", order=30)
except ImportError:  # pragma: no cover
    pass


class ParamError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("检索条件有误")
        self.fields = fields


# -- criteria: one colander schema for the page, the API and saved searches --------------------
class _Text(colander.SchemaType):
    """Stripped text; a JSON number or list is refused rather than turned into its repr."""

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else str(appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None):
            return colander.null
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "应为文本")
        return cstruct.strip() or colander.null


class _Int(colander.SchemaType):
    """An integer in ``[low, high]`` from a query string or JSON, with one Chinese message."""

    def __init__(self, low: int, high: int, message: str) -> None:
        self.low, self.high, self.message = low, high, message

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else str(appstruct)

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return colander.null
        text = cstruct.strip() if isinstance(cstruct, str) else cstruct
        if isinstance(text, bool) or not (isinstance(text, int) or re.fullmatch(r"\d{1,9}", str(text))):
            raise colander.Invalid(node, self.message)
        value = int(text)
        if not self.low <= value <= self.high:
            raise colander.Invalid(node, self.message)
        return value


class _Flag(colander.SchemaType):
    """true/false (also 1/0, yes/no) from a query string, or a JSON boolean."""

    def serialize(self, node, appstruct):
        return colander.null if appstruct in (colander.null, None) else ("true" if appstruct else "false")

    def deserialize(self, node, cstruct):
        if cstruct in (colander.null, None, ""):
            return colander.null
        if isinstance(cstruct, bool):
            return cstruct
        text = str(cstruct).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise colander.Invalid(node, "是否逾期应为 true 或 false")


def _one_of(choices, message: str):
    def check(node, value) -> None:
        if value not in choices:
            raise colander.Invalid(node, message)
    return check


def _criteria_nodes() -> list[colander.SchemaNode]:
    return [
        colander.SchemaNode(_Text(), name="q", missing="",
                            validator=colander.Length(max=500, max_err="检索式不能超过 500 个字符")),
        colander.SchemaNode(_Text(), name="board", missing=""),
        colander.SchemaNode(_Text(), name="state", missing=""),
        colander.SchemaNode(_Text(), name="unit", missing=""),
        colander.SchemaNode(_Int(1900, 2999, "年度应为四位数字，如 2025"), name="year", missing=None),
        colander.SchemaNode(_Text(), name="retention", missing="",
                            validator=_one_of(RETENTION_TITLES, "保管期限应为 " + "、".join(RETENTION_TITLES))),
        colander.SchemaNode(_Flag(), name="overdue", missing=None),
        colander.SchemaNode(_Text(), name="sort", missing="relevance",
                            validator=_one_of(SORTS, "排序方式应为 " + "、".join(SORTS))),
    ]


def criteria_schema(*, paging: bool = False, name: bool = False) -> colander.SchemaNode:
    """The search criteria; ``paging`` adds page/per_page, ``name`` the name of a saved search."""
    schema = colander.SchemaNode(colander.Mapping())
    if name:
        schema.add(colander.SchemaNode(
            _Text(), name="name", missing_msg="请填写检索名称",
            validator=colander.All(
                colander.Length(max=NAME_MAX, max_err=f"名称不能超过 {NAME_MAX} 个字符"),
                colander.Regex(r"^[^/\\?#]+$", "名称不能包含 / \\ ? #"))))
    for node in _criteria_nodes():
        schema.add(node)
    if paging:
        schema.add(colander.SchemaNode(_Int(1, 10_000, "应为 1 到 10000 之间的整数"), name="page", missing=1))
        schema.add(colander.SchemaNode(_Int(1, 100, "应为 1 到 100 之间的整数"), name="per_page", missing=20))
    return schema


_PAGED = criteria_schema(paging=True)


def read_params(get) -> dict[str, Any]:
    """Validated search parameters from a query string (Chinese messages per field).

    Other query-string keys (``format``, cache busters) are left to the caller.
    """
    data = {k: get.get(k) for k in CRITERIA + ("page", "per_page") if get.get(k) not in (None, "")}
    try:
        return validate(_PAGED, data)
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
    current = {k: params.get(k) for k in CRITERIA + ("page", "per_page")}
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


try:
    from .panels import add_item_panel

    add_item_panel("not_ocred", "未识别附件", not_ocred_panel, permission="view", order=95)
except ImportError:  # pragma: no cover
    pass


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


# -- saved searches: one store for the page and the API --------------------------------------------
@dataclass(frozen=True)
class SavedSearch:
    name: str
    params: dict[str, Any]  # criteria that differ from the defaults (see CRITERIA)
    created: datetime | None

    @property
    def query_string(self) -> str:
        return _url(self.params, "").lstrip("?")


_SAVE_SCHEMA = criteria_schema(name=True)


def _stored(name: str, entry: dict[str, Any]) -> SavedSearch:
    params = entry.get("params")
    if params is None:  # saved before criteria were stored parsed: a query string
        raw = dict(parse_qsl(entry.get("query", "")))
        try:
            params = _compact(read_params(raw))
        except ParamError:
            params = {"q": raw.get("q", "")}
    return SavedSearch(name, dict(params), entry.get("created"))


def _compact(params: dict[str, Any]) -> dict[str, Any]:
    """Only the criteria that narrow or order the search (plain data, fit for ZODB and JSON)."""
    return {k: params[k] for k in CRITERIA
            if params.get(k) not in (None, "") and not (k == "sort" and params[k] == "relevance")}


def saved_searches(site, user: str) -> list[SavedSearch]:
    """``user``'s saved searches, by name."""
    from ..catalog.queue import get_state

    state = get_state(site, create=False)
    mine = state.saved.get(user) if state is not None else None
    return [_stored(name, entry) for name, entry in sorted((mine or {}).items())]


def save_search(site, user: str, data: dict[str, Any]) -> tuple[SavedSearch, bool]:
    """Validate ``{"name", <criteria>...}`` and save it for ``user``, replacing one of the same name.

    Returns ``(saved, created)``; raises ValidationFailed (Chinese, by field).
    """
    from persistent.mapping import PersistentMapping

    from ..catalog.queue import get_state

    values = validate(_SAVE_SCHEMA, data)
    params = _compact(values)
    if not set(params) - {"sort"}:
        raise ValidationFailed({"q": "请至少填写检索式或一个筛选条件"})
    state = get_state(site)
    mine = state.saved.get(user)
    created = mine is None or values["name"] not in mine
    if created and mine is not None and len(mine) >= SAVED_MAX:
        raise ValidationFailed({"name": f"每人最多保存 {SAVED_MAX} 个检索，请先删除不用的"})
    if mine is None:
        mine = state.saved[user] = PersistentMapping()
    mine[values["name"]] = {"params": params, "created": now()}
    return _stored(values["name"], mine[values["name"]]), created


def delete_saved_search(site, user: str, name: str) -> bool:
    """Remove ``user``'s saved search ``name``; False when there is none."""
    from ..catalog.queue import get_state

    state = get_state(site, create=False)
    mine = state.saved.get(user) if state is not None else None
    if mine is None or name not in mine:
        return False
    del mine[name]
    return True


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
    except ValidationFailed as exc:
        for msg in exc.fields.values():
            request.session.flash(translate(request, msg), "error")
        return HTTPSeeOther(location="/search?" + query)
    request.session.flash(translate(request, "已保存检索：{name}", {"name": saved.name}))
    return HTTPSeeOther(location="/search?" + saved.query_string)
