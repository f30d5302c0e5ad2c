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
    try:
        period, ranking = rank(context, rules, period_text)
    except ValueError as exc:
        error, period, ranking = str(exc), None, []
    return {"page_title": "单位积分排名", "rules": rules, "period_text": period_text, "period": period,
            "ranking": ranking, "error": error, "units": list(context["units"].values()),
            "can_adjust": request.has_permission("manage_rules", context), "today": today().isoformat(),
            "fields": {}, "values": {}, "refusal": None}


@view_config(route_name="scoring.scores", renderer="templates/scores.pt", permission="manage_rules",
             request_method="POST", require_csrf=True)
def add_adjustment_form(context, request):
    """The 加扣分 form: a refusal is shown on the form again, its message on top, each field's below it."""
    data = {k: request.POST.get(k, "") for k in ("unit", "kind", "points", "date", "note")}
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
    request.session.flash("加扣分已录入")
    return HTTPFound(request.route_url("scoring.scores", _query={"period": data["date"][:7] or ""}))


def includeme(config) -> None:
    config.add_route("scoring.scores", "/scores")
    config.add_nav("积分排名", "/scores", permission="view", order=42)
