"""Statistics, monthly 通报, 电子台账, unit scores and 催办单/督办单 over the JSON API.

Reports cover every item, so they are for 督查室, 领导, admin and 审计员
(``REPORT_ROLES``); adjustments (表扬/批评/批示) are entered by 督查室.
"""

from __future__ import annotations

from pyramid.response import Response
from pyramid.view import view_config

from ...audit.reads import log_read
from ...content_types.site_access import get_site
from ...scoring import scoring_rules
from ...scoring.adjustments import add_adjustment
from ...scoring.engine import parse_period
from ...scoring.explain import explain
from ...scoring.honours import honours
from ...scoring.ranking import rank
from ...timeutil import today
from .errors import ApiError
from .openapi import document
from .util import actor, json_body, principals

REPORT_ROLES = {"role:supervisor", "role:leader", "role:sysadmin", "role:auditor"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def require_reports(request) -> None:
    actor(request)
    if not REPORT_ROLES & set(principals(request)):
        raise ApiError(403, "统计与通报仅供督查室、领导、管理员和审计员查看")


def _download(body: bytes, content_type: str, filename: str) -> Response:
    from urllib.parse import quote

    res = Response(body=body, content_type=content_type)
    res.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    res.headers["Cache-Control"] = "no-store"
    return res


RATE = {"type": "object", "properties": {"rate": {"type": "number", "nullable": True}, "num": {"type": "integer"},
                                         "den": {"type": "integer"}}}
document("api.stats", "GET",
         "统计：各状态/版块/单位数量，按时签收率、按时反馈率、按时办结率、逾期数、满意率、问题解决率、趋势",
         params=[{"name": "board", "in": "query", "required": False, "schema": {"type": "string"}}],
         response={"type": "object", "properties": {
             "total": {"type": "integer"}, "by_state": {"type": "array"}, "by_board": {"type": "array"},
             "by_unit": {"type": "array"}, "sign_on_time": RATE, "feedback_on_time": RATE,
             "closed_on_time": RATE, "overdue": {"type": "integer"}, "satisfaction": RATE, "resolution": RATE,
             "trend": {"type": "array"}}}, errors=(401, 403))


@view_config(route_name="api.stats", request_method="GET", renderer="json")
def stats_view(request):
    from ...reports.stats import statistics

    require_reports(request)
    site = get_site(request)
    board = request.GET.get("board")
    items = [i for i in site.item_index.values() if board in (None, "", i.board_id)]
    return statistics(site, request.registry, items)


def _month(request) -> str:
    text = request.GET.get("month") or today().strftime("%Y-%m")
    try:
        period = parse_period(text)
    except ValueError as exc:
        raise ApiError(400, "月份格式应为 2026-05", {"month": str(exc)}) from exc
    if len(period.key) != 7:
        raise ApiError(400, "通报按月生成", {"month": "月份格式应为 2026-05"})
    return period.key


document("api.bulletin", "GET", "月度通报（排名、逾期事项、工作亮点）：JSON、Excel 或 PDF",
         params=[{"name": "month", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "2026-05，默认本月"},
                 {"name": "format", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": ["json", "xlsx", "pdf"]}}],
         response={"type": "object"}, errors=(400, 401, 403),
         more_content={XLSX: {"type": "string", "format": "binary"},
                       "application/pdf": {"type": "string", "format": "binary"}})


@view_config(route_name="api.bulletin", request_method="GET", renderer="json")
def bulletin_view(request):
    from ...reports.bulletin import bulletin_data, bulletin_pdf, bulletin_xlsx

    require_reports(request)
    month = _month(request)
    fmt = request.GET.get("format", "json")
    if fmt not in ("json", "xlsx", "pdf"):
        raise ApiError(400, "未知的格式", {"format": "可选 json、xlsx、pdf"})
    data = bulletin_data(get_site(request), request.registry, month)
    log_read(request, (o["id"] for o in data["overdue"]), via="api.bulletin", month=month, format=fmt)
    if fmt == "xlsx":
        return _download(bulletin_xlsx(data), XLSX, f"督查通报-{month}.xlsx")
    if fmt == "pdf":
        return _download(bulletin_pdf(data), "application/pdf", f"督查通报-{month}.pdf")
    return {**{k: v for k, v in data.items() if k != "ranking"}, "ranking": [u.as_json() for u in data["ranking"]]}


document("api.ledger", "GET", "电子台账 Excel（全部台账字段）", content_type=XLSX,
         params=[{"name": "board", "in": "query", "required": False, "schema": {"type": "string"}}],
         response={"type": "string", "format": "binary"}, errors=(401, 403))


@view_config(route_name="api.ledger", request_method="GET")
def ledger_view(request):
    from ...audit.log import record
    from ...reports.ledger import export_ledger

    require_reports(request)
    site = get_site(request)
    board = request.GET.get("board")
    items = [i for i in site.item_index.values() if board in (None, "", i.board_id)]
    record(site, "export", request.authenticated_userid, "", what="ledger", count=len(items))
    log_read(request, items, via="api.ledger", board=board or None)
    return _download(export_ledger(site, request.registry, items), XLSX, f"电子台账-{today():%Y%m%d}.xlsx")


document("api.scores", "GET", "单位积分排名（月 / 季度 / 年度），含每一分的来由",
         params=[{"name": "period", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "2026-05、2026-Q2、2026-H1 或 2026，默认本月"},
                 {"name": "rules", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "计分规则，默认为本系统选定的规则"}],
         response={"type": "object", "properties": {"period": {"type": "string"}, "rules": {"type": "string"},
                                                     "ranking": {"type": "array"}, "honours": {"type": "array"}}},
         errors=(400, 401, 403))


def _chosen_rules(request):
    """The rule set the query names (``rules=``), else the one the site chose; 400 for an unknown name."""
    name = request.GET.get("rules")
    if name and name not in request.registry.duban_scoring_rules_all:
        raise ApiError(400, "未知的计分规则", {"rules": f"可选：{'、'.join(request.registry.duban_scoring_rules_all)}"})
    return scoring_rules(request.registry, name)


@view_config(route_name="api.scores", request_method="GET", renderer="json")
def scores_view(request):
    require_reports(request)
    rules = _chosen_rules(request)
    try:
        period, ranking = rank(get_site(request), rules, request.GET.get("period") or today().strftime("%Y-%m"))
    except ValueError as exc:
        raise ApiError(400, str(exc), {"period": str(exc)}) from exc
    return {"period": period.key, "period_title": period.title, "rules": rules.name, "rules_title": rules.title,
            "ranking": [u.as_json() for u in ranking], "honours": honours(rules, period, ranking)}


document("api.scores.explain", "GET", "规则核对：单位在考核期间的每一项加分、扣分，及其规则与事项",
         params=[{"name": "unit", "in": "query", "required": True, "schema": {"type": "string"},
                  "description": "承办单位代码"},
                 {"name": "period", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "2026-05、2026-Q2、2026-H1 或 2026，默认本月"},
                 {"name": "rules", "in": "query", "required": False, "schema": {"type": "string"},
                  "description": "计分规则，默认为本系统选定的规则"}],
         response={"type": "object", "properties": {
             "unit": {"type": "string"}, "period": {"type": "string"}, "rules": {"type": "string"},
             "score": {"type": "number", "nullable": True}, "total": {"type": "number"},
             "balanced": {"type": "boolean"},
             "lines": {"type": "array", "items": {"type": "object"}}, "items": {"type": "array"},
             "flags": {"type": "array"}, "ladder": {"type": "array"}}},
         errors=(400, 401, 403, 404))


@view_config(route_name="api.scores.explain", request_method="GET", renderer="json")
def explain_view(request):
    require_reports(request)
    site = get_site(request)
    data = explain(site, _chosen_rules(request), request.GET.get("unit") or "",
                   request.GET.get("period") or today().strftime("%Y-%m"))  # a Refusal -> its JSON error
    log_read(request, [i for i in (site.get_item(x["item"]) for x in data["items"]) if i is not None],
             via="scores.explain")
    return data


document("api.scores.adjustments", "POST", "录入加扣分（表扬、批评、批示……，督查室）",
         request={"type": "object", "required": ["unit", "kind"], "properties": {
             "unit": {"type": "string"}, "kind": {"type": "string"}, "points": {"type": "number"},
             "date": {"type": "string", "format": "date"}, "note": {"type": "string"}, "item": {"type": "string"}}},
         response={"type": "object", "properties": {"id": {"type": "string"}}}, status=201,
         errors=(400, 401, 403))


@view_config(route_name="api.scores.adjustments", request_method="POST", renderer="json")
def adjustment_view(request):
    me = actor(request)
    site = get_site(request)
    if not request.has_permission("manage_rules", site):
        raise ApiError(403, "只有督查室可以录入加扣分")
    key = add_adjustment(site, request.registry, json_body(request), me)  # a Refusal -> its JSON error
    request.response.status_int = 201
    return {"id": key}


document("api.item.notice", "GET", "催办单（kind=remind）或督办单（kind=escalate）PDF", content_type="application/pdf",
         params=[{"name": "kind", "in": "query", "required": False,
                  "schema": {"type": "string", "enum": ["remind", "escalate"]}}],
         response={"type": "string", "format": "binary"}, errors=(400, 401, 403, 404))


@view_config(route_name="api.item.notice", request_method="GET")
def notice_view(request):
    from ...reports.notice import KINDS, notice_pdf

    me = actor(request)
    site = get_site(request)
    item = site.get_item(request.matchdict["id"])
    if item is None or not request.has_permission("view", item):
        raise ApiError(404, "事项不存在")
    if not {"role:supervisor", "role:leader", "role:sysadmin"} & set(principals(request)):
        raise ApiError(403, "只有督查室和领导可以打印催办单、督办单")
    kind = request.GET.get("kind", "remind")
    if kind not in KINDS:
        raise ApiError(400, "未知的单据类型", {"kind": "可选 remind（催办单）、escalate（督办单）"})
    from ...audit.log import record

    record(site, "export", me, item.item_id, what=KINDS[kind])
    return _download(notice_pdf(site, request.registry, item, kind), "application/pdf",
                     f"{KINDS[kind]}-{item.number}.pdf")
