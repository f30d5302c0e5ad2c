"""档案室 in the HTML UI: the 待归档 queue, review and file form, filed records,
归档文件目录 and transfer downloads, legal hold, 著录更正 and 鉴定销毁; plus the
item page's 归档 panel.

Downloads (dossier, package, filing list) are the JSON API's routes, which
accept the browser session as well as a bearer token.  Every decision is made
by ``archive.filing`` — the same functions the JSON API calls — so a form and
the API refuse the same things with the same Chinese messages.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import colander
import deform
from pyramid.httpexceptions import HTTPConflict, HTTPForbidden, HTTPSeeOther
from pyramid.renderers import render, render_to_response
from pyramid.view import view_config

from ..archive.check_texts import VERSION_REASONS
from ..archive.dossier import closed_on
from ..archive.filing import (
    CORRECTABLE,
    REASON_MAX,
    FilingRefused,
    correct_metadata,
    correction_schema,
    default_retention,
    disposable_from,
    file_item,
    plan_correction,
    queue,
    record_for,
    set_legal_hold,
)
from ..archive.model import ArchiveRecords
from ..archive.report import checks_panel
from ..archive.rules import RETENTIONS
from ..archive.signing import registry_key
from ..audit.reads import log_read
from ..content_types.item import SupervisionItem
from ..content_types.registry import StrippedString
from ..content_types.site import find_site
from ..security.policy import request_principals as _principals
from ..timeutil import today
from .forms import make_form, resources, validated
from .layout import translate


def _item_url(item) -> str:
    from .item import item_url

    return item_url(item)


def _filed_url(site, rec) -> str:
    """The item page, or the 销毁清册 entry once the item was destroyed."""
    item = site.get_item(rec.item_id)
    return _item_url(item) if item is not None else f"/archive/@@register#entry-{rec.archival_code}"


@view_config(context=ArchiveRecords, renderer="templates/archive.pt", permission="records")
def archive_view(context, request) -> dict[str, Any]:
    site = find_site(context)
    units = site["units"]
    waiting = [{"item": i, "url": _item_url(i), "closed": closed_on(i), "lead": units.title_of(i.lead_unit),
                "default": default_retention(i, request.registry)} for i in queue(site)]
    filed = sorted(context.values(), key=lambda r: r.archival_code)
    years = sorted({r.year for r in filed}, reverse=True) or [today().year]
    log_read(request, [w["item"] for w in waiting] + [r.item_id for r in filed], via="archive")
    return {"page_title": translate(request, "档案室"), "waiting": waiting, "retentions": RETENTIONS,
            "fl_errors": {}, "fl_values": {},
            "filed": [{"rec": r, "item": site.get_item(r.item_id), "url": _filed_url(site, r),
                       "disposal": disposal_status(r)} for r in filed],
            "years": years, "units": list(units.values()),
            "key_fingerprint": registry_key(request.registry).fingerprint}


#: the 归档文件目录 form's buttons: the API download each goes on to
FILING_LIST_EXPORTS = {"xlsx": "/api/v1/filing-list", "pdf": "/api/v1/filing-list",
                       "transfer": "/api/v1/archive/transfer.zip"}


@view_config(context=ArchiveRecords, name="filing-list", request_method="GET", permission="records")
def filing_list_form(context, request):
    """The 归档文件目录与移交 form: a bad year, unit or button is shown on the 档案室 page beside its field
    (not as the API's JSON), the choices kept; good input goes on to the download."""
    site = find_site(context)
    values = {k: (request.GET.get(k) or "").strip() for k in ("year", "unit", "format")}
    errors: dict[str, str] = {}
    if not re.fullmatch(r"\d{4}", values["year"]) or not 1900 <= int(values["year"]) <= 9999:
        errors["year"] = translate(request, "请选择年度（四位数字，如 2026）")
    units = site["units"]
    if values["unit"] and values["unit"] not in units and not any(
            getattr(u, "code", None) == values["unit"] for u in units.values()):
        errors["unit"] = translate(request, "单位不存在，请从列表中选择")
    if values["format"] not in FILING_LIST_EXPORTS:
        errors["format"] = translate(request, "请选择目录 Excel、目录 PDF 或移交导出")
    if errors:
        page = {**archive_view(context, request), "fl_errors": errors, "fl_values": values}
        response = render_to_response("duban_archive.views:templates/archive.pt", page, request=request)
        response.status = 400
        return response
    query = {"year": values["year"], **({"unit": values["unit"]} if values["unit"] else {})}
    if values["format"] != "transfer":
        query["format"] = values["format"]
    return HTTPSeeOther(location=f"{FILING_LIST_EXPORTS[values['format']]}?{urlencode(query)}")


@view_config(context=ArchiveRecords, name="file", request_method="POST", permission="records")
def file_post(context, request):
    site = find_site(context)
    item = site.get_item(request.POST.get("item", ""))
    if item is None:
        raise HTTPForbidden(translate(request, "事项不存在"))
    retention = request.POST.get("retention") or None
    try:
        if not request.has_permission("file", item):
            raise FilingRefused(403, "您没有归档此事项的权限")
        rec = file_item(site, item, request.registry, retention=retention, actor=request.authenticated_userid,
                        principals=_principals(request))
    except FilingRefused as exc:
        request.tm.doom()
        request.session.flash(translate(request, "归档未完成：") + exc.message, "error")
        return HTTPSeeOther(location=request.resource_url(context))
    request.session.flash(translate(request, "已归档，档号：{code}", {"code": rec.archival_code}))
    return HTTPSeeOther(location=_item_url(item))


@view_config(context=ArchiveRecords, name="hold", request_method="POST", permission="records")
def hold_post(context, request):
    site = find_site(context)
    item_id = request.POST.get("item", "")
    try:
        set_legal_hold(site, item_id, hold=request.POST.get("hold") == "1", reason=request.POST.get("reason", ""),
                       actor=request.authenticated_userid)
    except FilingRefused as exc:
        request.tm.doom()
        request.session.flash(exc.message, "error")
    else:
        request.session.flash(translate(request, "已更新冻结状态"))
    return HTTPSeeOther(location=request.resource_url(context))


def archive_panel(request, item) -> str | None:
    """The item page's 归档 tab: 档号, versions and downloads, corrections, disposal, or the way to file."""
    site = find_site(item)
    rec = record_for(site, item.item_id)
    if rec is None and item.state != "closed":
        return None
    can_file = item.state == "closed" and not item.archived and request.has_permission("file", item)
    disposed = rec is not None and getattr(rec, "disposed", None)
    can_correct = rec is not None and not disposed and request.has_permission("correct_metadata", item)
    typedef = request.registry.duban_types[item.type_name]
    return render("duban_archive.views:templates/archive_panel.pt", {
        "item": item, "rec": rec, "can_file": can_file, "retentions": RETENTIONS,
        "default": default_retention(item, request.registry), "t": lambda m, **kw: translate(request, m, kw or None),
        "csrf": request.session.get_csrf_token(), "can_correct": can_correct,
        "disposal": disposal_status(rec) if rec is not None else None,
        "can_dispose": rec is not None and request.has_permission("records", site),
        "field_title": lambda name: typedef.field_map[name].title if name in typedef.field_map else name,
        # the system's words of a version's reason in the reader's language, the corrector's own as typed
        "version_reason": lambda text: VERSION_REASONS.localize(text, lambda m, kw: translate(request, m, dict(kw))),
    }, request)


# -- 著录更正 (metadata correction) -------------------------------------------------

def _short(value: Any, limit: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _correction_form(request, item, site):
    typedef = request.registry.duban_types[item.type_name]
    schema = correction_schema(typedef)
    schema.add(colander.SchemaNode(
        StrippedString(), name="reason", title="更正原因",
        description="将写入备考表和审计日志，例如“题名录入错字，依据原件更正”",
        widget=deform.widget.TextAreaWidget(rows=3),
        validator=colander.Length(max=REASON_MAX, max_err=f"不能超过 {REASON_MAX} 个字符")))
    return typedef, make_form(request, schema.bind(site=site, request=request), button="预览更正",
                              formid="correction-form")


def _with_errors(form, appstruct: dict[str, Any], fields: dict[str, str]) -> str:
    """Re-show ``appstruct`` with the model's refusals beside the fields they concern."""
    exc = colander.Invalid(form.schema, "")
    for name, msg in fields.items():
        try:
            exc[name] = msg
        except KeyError:  # not a field of this form: the page-level message says it
            pass
    if exc.children:
        form.widget.handle_error(form, exc)
    return form.render(appstruct)


@view_config(context=SupervisionItem, name="correct", renderer="templates/archive_correct.pt",
             permission="correct_metadata")
def correct_view(context, request):
    """著录更正: edit the correctable fields and a reason, review old → new, confirm; a new package
    version is sealed (the old ones stay) by the same ``correct_metadata`` the JSON API calls."""
    site = find_site(context)
    rec = record_for(site, context.item_id)
    if rec is None or not context.archived:
        raise HTTPConflict(translate(request, "事项尚未归档，请直接修改事项"))
    typedef, form = _correction_form(request, context, site)
    page = {"page_title": f"{translate(request, '著录更正')} · {context.number}", "item": context, "rec": rec,
            "back": f"{_item_url(context)}#tab-archive", "form_resources": resources(request, form),
            "mode": "edit", "form_error": None, "next_version": len(rec.versions) + 1}
    if getattr(rec, "disposed", None):
        request.response.status = 409
        return {**page, "mode": "refused", "form_error": translate(request, "档案已销毁，不能更正")}
    if request.method != "POST":
        current = {n: getattr(context, n, None) or "" for n in CORRECTABLE if n in typedef.field_map}
        return {**page, "form": form.render(current)}
    appstruct, invalid = validated(form, request, page)
    if invalid is not None:
        return invalid
    reason = appstruct.pop("reason") or ""
    if "edit" in request.POST:  # back from the review to change something
        return {**page, "form": form.render({**appstruct, "reason": reason})}
    try:
        _rec, changes = plan_correction(site, context, request.registry, appstruct, reason=reason)
        if "confirm" not in request.POST or request.POST.get("version") != str(len(rec.versions)):
            stale = "confirm" in request.POST
            return {**page, "mode": "confirm", "reason": reason, "values": appstruct,
                    "version": len(rec.versions), "stale": stale,
                    "rows": [{"name": n, "title": typedef.field_map[n].title, "old": old or "", "new": new or ""}
                             for n, (old, new) in changes.items()]}
        version = correct_metadata(site, context, request.registry, appstruct, reason=reason,
                                   actor=request.authenticated_userid)
    except FilingRefused as exc:
        request.tm.doom()
        request.response.status = exc.status
        return {**page, "form_error": translate(request, exc.message),
                "form": _with_errors(form, {**appstruct, "reason": reason}, exc.fields)}
    summary = "；".join(f"{translate(request, typedef.field_map[n].title)}：“{_short(old)}”→“{_short(new)}”"
                       for n, (old, new) in changes.items())
    request.session.flash(translate(request, "著录更正已完成，已生成第 {n} 版归档包（旧版本保留）：{changes}",
                                    {"n": version.version, "changes": summary}))
    return HTTPSeeOther(location=f"{_item_url(context)}#tab-archive")


# -- 鉴定销毁 (disposal): the forms are in views/disposal.py ------------------------------------

def disposal_status(rec, on=None) -> dict[str, Any]:
    """What the 档案室 lists show about destroying ``rec``: state, a note, whether to offer the form."""
    if getattr(rec, "disposed", None):
        return {"state": "disposed", "note": rec.disposed.isoformat(), "offer": False}
    start = disposable_from(rec)
    if start is None:
        return {"state": "permanent", "note": "", "offer": False}
    if (on or today()) < start:
        return {"state": "running", "note": str(start.year - 1), "offer": False}
    return {"state": "held" if rec.legal_hold else "expired", "note": "", "offer": True}


def includeme(config) -> None:
    config.add_nav("档案室", "/archive", permission="records", order=50)
    config.add_item_panel("archive", "归档", archive_panel, permission="view", order=60)
    config.add_item_panel("checks", "四性检测", checks_panel, permission="view", order=61)
