"""The item page (tabs 基本信息 · 反馈 · 附件 · 批示 · 历史/审计) and its forms.

Every look at an item by an auditor is written to the audit log; the audit tab
shows only to holders of ``view_audit``.  Extra tabs come from
:mod:`duban_archive.views.panels`.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.view import view_config

from ..archive.capture import status as capture_status
from ..audit.log import ACTIONS, audit_log
from ..audit.reads import log_read
from ..content_types.actions import Frozen, add_feedback, add_instruction, edit_item
from ..content_types.attachment import IMAGE_TYPES, KINDS
from ..content_types.item import SupervisionItem
from ..content_types.site import find_site
from ..errors import Refusal
from .display import field_text, fmt_date, item_field_groups, sees_in_full, state_title, unit_title, user_title
from .forms import as_cstruct_values, make_form, refused, resources, type_form, validated
from .layout import translate
from .panels import render_panels
from .timeline import describer, latest_reason, timeline


def item_url(item) -> str:
    return f"/boards/{item.board_id}/{item.item_id}"


@view_config(context=SupervisionItem, renderer="templates/item.pt", permission="view")
def item_view(context, request):
    site = find_site(context)
    log_read(request, context, via="ui")  # an auditor's every look is on the record
    typedef = request.registry.duban_types[context.type_name]
    groups = item_field_groups(request, site, context, typedef)
    fields = [row for g in groups for row in g["fields"]]
    feedback_type = request.registry.duban_types["feedback_report"]
    feedback = [{
        "name": rec.__name__, "author": user_title(site, rec.author), "created": fmt_date(rec.created),
        "fields": [(translate(request, f.title), field_text(request, site, f, getattr(rec, f.name, None)))
                   for f in feedback_type.fields],
    } for rec in context.feedback.values()]
    instruction_type = request.registry.duban_types["instruction"]
    instructions = [{
        "name": rec.__name__, "author": user_title(site, rec.author), "created": fmt_date(rec.created),
        "fields": [(translate(request, f.title), field_text(request, site, f, getattr(rec, f.name, None)))
                   for f in instruction_type.fields],
    } for rec in context.instructions.values()]
    base = item_url(context)
    attachments = [{
        "name": att.__name__, "filename": att.filename, "title": att.title,
        "kind": translate(request, KINDS.get(att.kind, att.kind)), "size": att.size,
        "mimetype": att.mimetype, "uploader": user_title(site, att.uploader), "created": fmt_date(att.created),
        "sha256": att.sha256, "is_image": att.mimetype in IMAGE_TYPES, "check": capture_status(att),
        "download": f"{base}/attachments/{att.__name__}/@@download",
        "thumbnail": f"{base}/attachments/{att.__name__}/@@thumbnail",
    } for att in context.attachments.values()]
    history = timeline(request, site, context)
    can_audit = request.has_permission("view_audit", context)
    audit = []
    if can_audit:
        summary = describer(request, context)

        audit = [{
            "time": fmt_date(e.get("time")), "actor": user_title(site, e.get("actor")),
            "action": translate(request, ACTIONS.get(e.get("action", ""), e.get("action", ""))),
            "detail": summary(e),
        } for e in audit_log(site).for_target(context.item_id)]
    panels = render_panels(request, context)
    return {
        "page_title": f"{context.number} {context.title}",
        "item": context, "board": context.__parent__, "fields": fields, "field_groups": groups,
        "state": state_title(request, context), "lead_unit": unit_title(site, getattr(context, "lead_unit", "")),
        "feedback": feedback, "instructions": instructions, "attachments": attachments,
        "history": history, "reason": latest_reason(history, context),
        "audit": audit, "can_audit": can_audit, "base": base,
        "top_panels": [p for p in panels if p.order < 0], "panels": [p for p in panels if p.order >= 0],
        "can_edit": request.has_permission("edit", context) and not context.archived,
        "can_feedback": request.has_permission("add_feedback", context) and not context.archived,
        "can_instruct": request.has_permission("add_instruction", context) and not context.archived,
        "can_upload": request.has_permission("add_attachment", context) and not context.archived,
    }


def _frozen(request):
    return HTTPForbidden(translate(request, Frozen.message))


def _form_page(request, item, heading: str, form, **extra) -> dict[str, Any]:
    return {"page_title": f"{heading} · {item.number}", "heading": heading,
            "subheading": f"{item.number} {item.title}", "back": item_url(item),
            "form_resources": resources(request, form), **extra}


@view_config(context=SupervisionItem, name="edit", renderer="templates/form.pt", permission="edit")
def edit_view(context, request):
    if context.archived:
        raise _frozen(request)
    site = find_site(context)
    typedef = request.registry.duban_types[context.type_name]
    schema = typedef.schema("edit", site=site, request=request, context=context)
    for f in typedef.fields:  # a number the user sees masked is not theirs to edit (nor to see in the input)
        if f.name in schema and not sees_in_full(request, context, f):
            del schema[f.name]
    form = type_form(request, typedef, schema, button="保存", formid="edit-item")
    page = _form_page(request, context, translate(request, "修改事项"), form)
    if request.method == "POST":
        appstruct, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        try:
            changes = edit_item(site, context, appstruct, request.identity.username, request.registry)
        except Frozen:
            raise _frozen(request) from None
        except Refusal as exc:  # e.g. a 工单编号 another ticket has: beside the field, input kept
            return refused(form, request, page, exc, appstruct)
        msg = "已保存修改" if changes else "内容没有变化"
        request.session.flash(translate(request, msg))
        return HTTPSeeOther(location=item_url(context))
    return {**page, "form": form.render(as_cstruct_values(context, schema))}


def _record_form(context, request, type_name: str, heading: str, action, done: str, anchor: str):
    if context.archived:
        raise _frozen(request)
    site = find_site(context)
    schema = request.registry.duban_types[type_name].schema("add", site=site, request=request)
    form = make_form(request, schema, button="提交", formid=f"{type_name}-form")
    page = _form_page(request, context, translate(request, heading), form)
    if request.method == "POST":
        appstruct, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
        try:
            action(site, context, appstruct, request.identity.username, request.registry)
        except Frozen:
            raise _frozen(request) from None
        request.session.flash(translate(request, done))
        return HTTPSeeOther(location=f"{item_url(context)}#{anchor}")
    return {**page, "form": form.render()}


@view_config(context=SupervisionItem, name="feedback", renderer="templates/form.pt", permission="add_feedback")
def feedback_view(context, request):
    return _record_form(context, request, "feedback_report", "填报反馈", add_feedback, "已提交反馈", "tab-feedback")


@view_config(context=SupervisionItem, name="instruct", renderer="templates/form.pt",
             permission="add_instruction")
def instruction_view(context, request):
    return _record_form(context, request, "instruction", "领导批示", add_instruction, "已保存批示",
                        "tab-instructions")
