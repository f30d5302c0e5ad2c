"""Workflow in the HTML UI: transition buttons on the item page, the POST that
fires one, the admin pages for workflow diagrams and the working-day calendar.

Every POST carries the CSRF token (Pyramid's default check); a refused
transition dooms the transaction so nothing of the request is kept, and the
user is sent back with the reason (and, for bad fields, which field).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.renderers import render, render_to_response
from pyramid.response import Response
from pyramid.view import view_config

from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from ..security.policy import request_principals as _principals
from ..timeutil import parse_iso, today
from ..workflows.calendar import SETTINGS_KEY, WorkCalendar, package_knows, remove_year, set_year, validate_year
from ..workflows.deadlines import LIGHT_TITLES, SpecError, compute_due, item_deadlines
from ..workflows.engine import ATTACHMENT_KINDS, WorkflowError
from .layout import translate

LIGHT_CSS = {"green": "text-bg-success", "yellow": "text-bg-warning", "red": "text-bg-danger"}




#: where ``fire_view`` leaves a refused transition for the panel: ``{"name", "values", "errors", "message"}``
FAILED_KEY = "duban.failed_transition"


def _field_view(request, item, f, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    options: list[tuple[str, str]] = []
    if f.kind == "choice":
        options = [(c.value, c.title) for c in f.choices if not c.refused]
    elif f.kind == "unit":
        site = find_site(item)
        options = [(u.__name__, u.title) for u in site["units"].values()]
    value = values.get(f.name, "")
    return {"name": f.name, "title": f.title, "kind": f.kind, "required": f.required,
            "description": f.description, "options": options, "error": errors.get(f.name, ""),
            "value": value if isinstance(value, str) else ""}


def transitions_panel(request, item) -> str | None:
    """The item panel: state, deadline lights, one button + form per transition the user may take."""
    wf = request.registry.duban_workflows.get(getattr(item, "workflow", ""))
    if wf is None or item.state not in wf.states:
        return None
    available = [] if item.archived else wf.available(item, _principals(request), request)
    failed = request.environ.get(FAILED_KEY) or {}
    transitions = []
    for t in available:
        kinds = [translate(request, ATTACHMENT_KINDS.get(k, k)) for k in t.requires_attachments]
        mine = failed.get("name") == t.name
        values = failed.get("values", {}) if mine else {}
        errors = failed.get("errors", {}) if mine else {}
        transitions.append({
            "name": t.name, "title": t.title,
            "fields": [_field_view(request, item, f, values, errors) for f in t.fields if f.name != "comment"],
            "ask_comment": True, "requires": "、".join(kinds),
            "default_kind": values.get("attachment_kind") or (
                t.requires_attachments[0] if t.requires_attachments else "other"),
            "open": mine, "message": failed.get("message", "") if mine else "",
            "comment": values.get("comment", ""), "comment_error": errors.get("comment", ""),
            "file_error": errors.get("attachments") or errors.get("file") or "",
        })
    deadlines = item_deadlines(item)  # each with due_text = format_due(due), as notices name it
    return render("templates/workflow_panel.pt", {
        "state_title": wf.states[item.state].title, "deadlines": deadlines, "transitions": transitions,
        "action": request.resource_url(item, "transition"), "csrf_token": request.session.get_csrf_token(),
        "can_upload": request.has_permission("add_attachment", item) and not item.archived,
        "kinds": list(ATTACHMENT_KINDS.items()), "light_css": LIGHT_CSS, "light_titles": LIGHT_TITLES,
        "improper_decline": bool(getattr(item, "improper_decline", False)),
    }, request)


@view_config(context=SupervisionItem, name="transition", request_method="POST", permission="view")
def fire_view(context, request):
    from ..content_types.actions import Frozen, add_attachment
    from ..content_types.attachment import UploadRefused

    item_url = request.resource_url(context)
    wf = request.registry.duban_workflows[context.workflow]
    name = request.POST.get("transition", "")
    t = wf.transitions.get(name)
    if t is None or t.auto or t.system:
        raise HTTPNotFound()
    site = find_site(context)
    data = {}
    for f in t.fields:
        if f.name in request.POST:
            data[f.name] = request.POST.get(f.name)
    if request.POST.get("comment"):
        data["comment"] = request.POST["comment"]
    actor = request.identity.username
    upload = request.POST.get("file")
    try:
        if hasattr(upload, "file") and getattr(upload, "filename", ""):
            if not request.has_permission("add_attachment", context):
                raise WorkflowError(403, "您无权在此状态上传附件")
            kind = request.POST.get("attachment_kind", "other")
            add_attachment(site, context, upload.file, upload.filename, kind, "", actor,
                           max_bytes=int(request.registry.settings.get("duban.max_upload_bytes", 500 << 20)),
                           registry=request.registry)
        wf.fire(context, name, actor, _principals(request), data, request=request, site=site)
    except (WorkflowError, UploadRefused, Frozen) as exc:
        return _refused(context, request, t, data, exc)
    request.session.flash(translate(request, "已执行“{title}”，当前状态：{state}", {
        "title": translate(request, t.title), "state": translate(request, wf.states[context.state].title)}))
    return HTTPSeeOther(location=item_url)


def _refused(context, request, t, data: dict[str, Any], exc: Exception) -> Response:
    """The item page again, the refused transition's form open with what was typed and each field's error
    beside it (the reason is not lost), the message on top of that form; nothing of the request kept.

    The transaction is aborted (an attachment uploaded with the refused transition goes with it) and a
    fresh, doomed one shows the item as it is.
    """
    from .item import item_view

    message = getattr(exc, "message", str(exc))
    fields = {k: translate(request, v) for k, v in (getattr(exc, "fields", None) or {}).items()}
    shown = {f.name for f in t.fields} | {"comment", "attachments", "file"}
    others = "；".join(f"{_field_title(t, k)}：{v}" for k, v in fields.items() if k not in shown)
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    values["attachment_kind"] = request.POST.get("attachment_kind", "")
    upload = request.POST.get("file")
    if hasattr(upload, "filename") and upload.filename and "file" not in fields and "attachments" not in fields:
        fields["file"] = translate(request, "附件未保存（本次操作未执行），请重新选择文件")
    request.tm.abort()
    request.tm.begin()
    request.tm.doom()  # nothing of this request is kept, the page only reads
    request.environ[FAILED_KEY] = {
        "name": t.name, "values": values, "errors": fields,
        "message": translate(request, "未能执行“{title}”：{message}",
                             {"title": translate(request, t.title), "message": message})
        + (f"（{others}）" if others else ""),
    }
    response = render_to_response("duban_archive.views:templates/item.pt", item_view(context, request),
                                  request=request)
    response.status = getattr(exc, "status", 400)
    return response


def _field_title(t, name: str) -> str:
    for f in t.fields:
        if f.name == name:
            return f.title
    return {"comment": "意见", "attachments": "附件", "file": "附件"}.get(name, name)


# -- admin: diagrams ------------------------------------------------------------
@view_config(route_name="workflow.admin", renderer="templates/workflow_admin.pt", permission="manage")
def admin_workflows(context, request):
    from ..workflows.diagram import svg
    from ..workflows.lint import check

    rows = []
    for wf in request.registry.duban_workflows:
        try:
            picture = svg(wf)
        except Exception as exc:  # noqa: BLE001 — dot missing must not hide the page
            picture = None
            error = str(exc)
        else:
            error = ""
        boards = [b.title for b in context.boards.values() if b.workflow == wf.name]
        rows.append({"name": wf.name, "title": wf.title, "svg": picture, "error": error,
                     "problems": check(wf), "boards": boards, "source": wf.source,
                     "states": len(wf.states), "transitions": len(wf.transitions)})
    return {"page_title": "流程定义与流程图", "workflows": rows}


@view_config(route_name="workflow.diagram", permission="manage")
def diagram_svg(context, request):
    from ..workflows.diagram import svg

    wf = request.registry.duban_workflows.get(request.matchdict["name"])
    if wf is None:
        raise HTTPNotFound()
    return Response(svg(wf), content_type="image/svg+xml", charset="utf-8")


# -- admin: the working-day calendar ------------------------------------------------
@view_config(route_name="workflow.calendar", renderer="templates/workflow_calendar.pt", permission="manage")
def admin_calendar(context, request):
    errors: dict[str, str] = {}
    values = {"year": "", "holidays": "", "workdays": ""}
    if request.method == "POST":
        if request.POST.get("delete"):
            try:
                year = int(request.POST["delete"])
            except ValueError:
                raise HTTPForbidden() from None
            if remove_year(context, year):
                request.session.flash(translate(request, "已删除 {year} 年的自定义日历", {"year": year}))
            return HTTPSeeOther(location=request.route_url("workflow.calendar"))
        values = {k: request.POST.get(k, "").strip() for k in values}
        holidays = _dates(values["holidays"])
        workdays = _dates(values["workdays"])
        try:
            year = int(values["year"])
        except ValueError:
            year = 0
        errors = validate_year(year, holidays, workdays) if year else {"year": "请填写年份"}
        if not errors:
            set_year(context, year, holidays, workdays)
            _audit(context, request, year, holidays, workdays)
            request.session.flash(translate(request, "已保存 {year} 年的节假日与调休安排", {"year": year}))
            return HTTPSeeOther(location=request.route_url("workflow.calendar"))
        request.response.status = 400
    table = context.settings.get(SETTINGS_KEY) or {}
    years = []
    for y in sorted(table, key=int):
        years.append({"year": y, "holidays": table[y].get("holidays", ()), "workdays": table[y].get("workdays", ()),
                      "package": package_knows(int(y))})
    this_year = today().year
    coverage = [y for y in range(this_year - 1, this_year + 3) if not WorkCalendar.for_site(context).year_known(y)]
    probe = None
    if request.GET.get("start") and request.GET.get("duration"):
        try:
            got = compute_due(parse_iso(request.GET["start"]), request.GET["duration"], WorkCalendar.for_site(context))
            probe = {"due": got.due.isoformat(timespec="minutes"), "known": got.calendar_known}
        except (ValueError, SpecError) as exc:
            probe = {"error": str(exc)}
    return {"page_title": "工作日历（节假日与调休）", "years": years, "unknown_years": coverage,
            "values": values, "errors": errors, "probe": probe,
            "csrf_token": request.session.get_csrf_token()}


def _dates(text: str) -> list[str]:
    return [p.strip() for p in text.replace("，", ",").replace("\n", ",").split(",") if p.strip()]


def _audit(site, request, year, holidays, workdays) -> None:
    from ..audit.log import record

    record(site, "edit", request.identity.username, "calendar", field=f"calendar.{year}",
           new={"holidays": len(holidays), "workdays": len(workdays)})


def includeme(config) -> None:
    """Routes, nav entries and the 办理流转 panel of the workflow pages (``/worklist``: views/worklist.py)."""
    config.add_route("workflow.admin", "/admin/workflows")
    config.add_route("workflow.diagram", "/admin/workflows/{name}.svg")
    config.add_route("workflow.calendar", "/admin/calendar")
    config.add_route("workflow.worklist", "/worklist")
    config.add_item_panel("workflow", "办理流转", transitions_panel, permission="view", order=-10)
    config.add_nav("我的待办", "/worklist", permission="view", order=5)
    config.add_nav("流程图", "/admin/workflows", permission="manage", order=90)
    config.add_nav("工作日历", "/admin/calendar", permission="manage", order=91)
