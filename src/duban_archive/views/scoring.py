"""``/scores`` — 单位积分排名 (月/季/年) with every point explained; 督查室 enters 加扣分 here."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPForbidden, HTTPFound
from pyramid.view import view_config

from ..errors import Refusal
from ..scoring import scoring_rules
from ..scoring.adjustments import add_adjustment
from ..scoring.ranking import rank
from ..timeutil import today
from .dashboard import may_see_reports
from .layout import translate


@view_config(route_name="scoring.scores", renderer="templates/scores.pt", permission="view", request_method="GET")
def scores_page(context, request):
    if not may_see_reports(request):
        raise HTTPForbidden("积分排名仅供督查室、领导、管理员和审计员查看")
    rules = scoring_rules(request.registry)
    period_text = request.GET.get("period") or today().strftime("%Y-%m")
    error = None
    from ..scoring.honours import honours

    try:
        period, ranking = rank(context, rules, period_text)
    except ValueError as exc:
        error, period, ranking = str(exc), None, []
    return {"page_title": "单位积分排名", "rules": rules, "period_text": period_text, "period": period,
            "ranking": ranking, "error": error, "honours": honours(rules, period, ranking) if period else [],
            "units": list(context["units"].values()),
            "can_adjust": request.has_permission("manage_rules", context), "today": today().isoformat(),
            "fields": {}, "values": {}, "refusal": None}


@view_config(route_name="scoring.scores", renderer="templates/scores.pt", permission="manage_rules",
             request_method="POST", require_csrf=True)
def add_adjustment_form(context, request):
    """The 加扣分 form: a refusal is shown on the form again, its message on top, each field's below it."""
    data = {k: request.POST.get(k, "") for k in ("unit", "kind", "points", "date", "note", "item")}
    if not data["points"]:
        data.pop("points")
    try:
        add_adjustment(context, request.registry, data, request.authenticated_userid)
    except Refusal as exc:
        request.tm.doom()
        page = scores_page(context, request)
        page["fields"] = {name: translate(request, msg) for name, msg in exc.fields.items()}
        page["values"], page["refusal"] = data, translate(request, exc.message)
        request.response.status_int = exc.status
        return page
    request.session.flash(translate(request, "加扣分已录入"))
    return HTTPFound(request.route_url("scoring.scores", _query={"period": data["date"][:7] or ""}))


@view_config(route_name="scoring.explain", renderer="templates/scores_explain.pt", permission="view",
             request_method="GET")
def explain_page(context, request):
    """规则核对: every point of one unit's score, with its rule and item (the same account as the API)."""
    from ..audit.reads import log_read
    from ..scoring.explain import explain

    if not may_see_reports(request):
        raise HTTPForbidden("规则核对仅供督查室、领导、管理员和审计员查看")
    rules = scoring_rules(request.registry)
    period_text = request.GET.get("period") or today().strftime("%Y-%m")
    unit = request.GET.get("unit") or ""
    data, refusal, fields = None, None, {}
    if unit:
        try:
            data = explain(context, rules, unit, period_text)
        except Refusal as exc:
            refusal, fields = translate(request, exc.message), exc.fields
            request.response.status_int = exc.status
    urls = {}
    if data is not None:
        found = [i for i in (context.get_item(x["item"]) for x in data["items"]) if i is not None]
        log_read(request, found, via="scores.explain")
        urls = {i.item_id: request.resource_url(i) for i in found}
    return {"page_title": "规则核对", "rules": rules, "period_text": period_text, "unit": unit, "data": data,
            "refusal": refusal, "fields": fields, "units": list(context["units"].values()), "urls": urls,
            "scores_url": request.route_url("scoring.scores", _query={"period": period_text})}


def includeme(config) -> None:
    config.add_route("scoring.explain", "/scores/explain")
    config.add_route("scoring.scores", "/scores")
    config.add_nav("积分排名", "/scores", permission="view", order=42)
