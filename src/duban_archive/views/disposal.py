"""销毁 in the HTML UI: the records officer's request, the approver's worklist and review, the
销毁清册 page, and the 410 Gone answer for every URL of a destroyed item or record.

Every decision is ``archive.disposal``'s (the JSON API calls the same functions); a refusal is
shown on the form where the user acted, field by field, and changes nothing.
"""

from __future__ import annotations

from typing import Any

import colander
import deform
from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther

from ..archive import disposal_register
from ..archive.disposal import (
    STATES,
    approve_disposal,
    current_request,
    destroyed_attachment,
    is_destroyed,
    pending_request,
    pending_requests,
    register,
    reject_disposal,
    rejection_schema,
    request_disposal,
    request_schema,
)
from ..archive.filing import disposable_from, disposal_refusal
from ..archive.model import ArchiveRecord, ArchiveRecords
from ..archive.rules import RETENTIONS
from ..audit.reads import log_read
from ..content_types.site import find_site
from ..content_types.site_access import get_site
from ..errors import Refusal
from .forms import make_form, resources, validated
from .layout import translate

NOT_API = r"^/(?!api/)"


def _t(request):
    return lambda msg, **kw: translate(request, msg, kw or None)


def _form_refused(request, page: dict[str, Any], form, appstruct: dict[str, Any], exc: Refusal) -> dict[str, Any]:
    """Show a domain refusal on the form: the message on top, each field's error under its input."""
    request.tm.doom()
    request.response.status = exc.status
    invalid = colander.Invalid(form.schema, "")
    for name, msg in exc.fields.items():
        if name in {c.name for c in form.schema.children}:
            invalid[name] = translate(request, msg)
    if invalid.children:
        form.widget.handle_error(form, invalid)
    return {**page, "form_error": translate(request, exc.message), "form": form.render(appstruct)}


# -- the records officer's request ---------------------------------------------------------------

def _request_form(request):
    schema = request_schema()
    for node in schema.children:
        node.widget = deform.widget.TextAreaWidget(rows=3)
    schema["opinion"].description = "如：经鉴定小组鉴定，保管期满，已无继续保存价值"
    return make_form(request, schema.bind(request=request), button="提交销毁申请", formid="disposal-request-form")


def _record_page(request, rec: ArchiveRecord, title: str) -> dict[str, Any]:
    if is_destroyed(find_site(rec), rec.item_id) is not None:
        raise HTTPNotFound()  # answered 410 with the 销毁清册 entry (gone_page)
    site = find_site(rec)
    item = site.get_item(rec.item_id)
    from .item import item_url

    return {"page_title": f"{translate(request, title)} · {rec.archival_code}", "rec": rec, "item": item,
            "item_url": item_url(item) if item is not None else None, "expires": disposable_from(rec),
            "retentions": RETENTIONS, "request_": current_request(rec), "states": STATES,
            "requests": list(getattr(rec, "disposal_requests", ())), "form": None, "form_error": None,
            "refusal": ""}


def _refused_page(request, page: dict[str, Any], message: str, status: int) -> dict[str, Any]:
    """The record page saying why the step is not possible; a POST writes nothing and answers ``status``."""
    page["refusal"] = translate(request, message)
    if request.method == "POST":
        request.tm.doom()
        request.response.status = status
    return page


def _form_page(request, page: dict[str, Any], form) -> tuple[dict[str, Any] | None, Any]:
    """``(appstruct, None)`` for a valid POST, else ``(None, the page to answer)``: the empty form on GET,
    the form with its errors beside each field on a refused POST."""
    page.update(form_resources=resources(request, form))
    if request.method != "POST":
        return None, {**page, "form": form.render()}
    appstruct, invalid = validated(form, request, page)
    if invalid is not None or appstruct is None:
        return None, invalid
    return appstruct, None


def dispose_view(context: ArchiveRecord, request):
    """销毁申请 for one record (档案员): only once its 保管期限 ran out, never under legal hold."""
    site = find_site(context)
    page = _record_page(request, context, "销毁申请")
    refusal = disposal_refusal(context) or (
        "该档案已有待审批的销毁申请，请等待档案鉴定审批人审批" if pending_request(context) else "")
    if refusal:
        return _refused_page(request, page, refusal, 409)
    form = _request_form(request)
    appstruct, answer = _form_page(request, page, form)
    if appstruct is None:
        return answer
    try:
        request_disposal(site, context.item_id, {"reason": appstruct["reason"], "opinion": appstruct["opinion"]},
                         actor=request.authenticated_userid)
    except Refusal as exc:
        return _form_refused(request, page, form, appstruct, exc)
    request.session.flash(translate(request, "已提交档案 {code} 的销毁申请，等待档案鉴定审批人审批",
                                    {"code": context.archival_code}))
    return HTTPSeeOther(location=request.resource_url(context, "@@dispose"))


# -- the approver ---------------------------------------------------------------------------------

def _review_form(request):
    schema = colander.SchemaNode(colander.Mapping(), name="disposal_review")
    schema.add(colander.SchemaNode(
        colander.String(), name="decision", title="审批意见",
        widget=deform.widget.SelectWidget(values=(("", "请选择"), ("approve", "批准销毁（立即彻底销毁，不可撤销）"),
                                                  ("reject", "驳回"))),
        validator=colander.OneOf(("approve", "reject")), missing_msg="请选择批准或驳回"))
    reason = rejection_schema()["reason"].clone()
    reason.title, reason.missing, reason.widget = "驳回理由", "", deform.widget.TextAreaWidget(rows=3)
    reason.validator = colander.Length(max=500, max_err="不能超过 500 个字符")
    reason.description = "驳回时必填"
    schema.add(reason)
    return make_form(request, schema.bind(request=request), button="提交审批", formid="disposal-review-form")


def review_view(context: ArchiveRecord, request):
    """审批 one request: approve (the purge) or reject with a reason; never the requester's own."""
    site = find_site(context)
    page = _record_page(request, context, "销毁审批")
    req = pending_request(context)
    if req is None:
        return _refused_page(request, page, "该档案没有待审批的销毁申请", 409)
    if req["requested_by"] == request.authenticated_userid:
        return _refused_page(request, page, "不能审批自己提出的销毁申请：销毁须由申请人以外的审批人批准", 403)
    form = _review_form(request)
    appstruct, answer = _form_page(request, page, form)
    if appstruct is None:
        return answer
    code = context.archival_code
    try:
        if appstruct["decision"] == "approve":
            approve_disposal(site, context.item_id, actor=request.authenticated_userid, registry=request.registry)
            message = translate(request, "档案 {code} 已销毁，销毁清册已登记", {"code": code})
        else:
            reject_disposal(site, context.item_id, {"reason": appstruct["reason"] or ""},
                            actor=request.authenticated_userid)
            message = translate(request, "已驳回档案 {code} 的销毁申请", {"code": code})
    except Refusal as exc:
        return _form_refused(request, page, form, appstruct, exc)
    request.session.flash(message)
    return HTTPSeeOther(location=request.resource_url(context.__parent__, "@@disposals"))


def _may(request, site, *permissions: str) -> None:
    if not any(request.has_permission(p, site) for p in permissions):
        raise HTTPForbidden(translate(request, "您没有查看销毁申请或销毁清册的权限"))


def worklist_view(context: ArchiveRecords, request) -> dict[str, Any]:
    """销毁审批: the requests waiting for a decision (approvers decide; records officers follow them)."""
    site = find_site(context)
    _may(request, site, "approve_disposal", "records")
    waiting = pending_requests(site)
    return {"page_title": translate(request, "销毁审批"), "waiting": waiting, "retentions": RETENTIONS,
            "me": request.authenticated_userid, "can_decide": request.has_permission("approve_disposal", site)}


def register_view(context: ArchiveRecords, request) -> dict[str, Any]:
    """销毁清册: every destroyed record with its digests, approvals and dates; PDF and Excel downloads."""
    site = find_site(context)
    entries = register(site)
    log_read(request, [e["item_id"] for e in entries], via="disposal_register")
    return {"page_title": translate(request, "销毁清册"), "entries": entries,
            "files": disposal_register.file_lines, "states": STATES}


# -- 410 Gone ------------------------------------------------------------------------------------

def gone_record(request) -> ArchiveRecord | None:
    """The tombstone of the destroyed item or record the request's URL names, or None."""
    key = "duban.disposal.gone"
    if key in request.environ:
        return request.environ[key]
    found = None
    try:
        site = get_site(request)
        if request.path_info.startswith("/api/"):
            match = request.matchdict or {}
            route = request.matched_route.name if request.matched_route is not None else ""
            if "id" in match:
                found = (destroyed_attachment(site, match["id"]) if route.startswith("api.attachment")
                         else is_destroyed(site, match["id"]))
        else:
            parts = [p for p in request.path_info.split("/") if p]
            if len(parts) >= 3 and parts[0] == "boards":
                found = is_destroyed(site, parts[2])
            elif len(parts) >= 2 and parts[0] == "archive":
                found = is_destroyed(site, parts[1])
    except Exception:  # noqa: BLE001 - no site (yet): an ordinary 404
        found = None
    request.environ[key] = found
    return found


class DestroyedPredicate:
    """View predicate ``destroyed=True``: the refused request names a destroyed item or record (404s only)."""

    def __init__(self, value: bool, config) -> None:
        self.value = bool(value)

    def text(self) -> str:
        return f"destroyed = {self.value}"

    phash = text

    def __call__(self, context, request) -> bool:
        if getattr(context, "status", None) not in (404, "404 Not Found") and not isinstance(context, HTTPNotFound):
            return not self.value
        return (gone_record(request) is not None) == self.value


def _gone_message(request, rec: ArchiveRecord) -> str:
    entry = rec.disposal or {}
    return translate(request, "档案 {code} 已于 {date} 经鉴定批准销毁，内容已不复存在，见销毁清册（批准人 {approver}）",
                     {"code": rec.archival_code, "date": rec.disposed.isoformat() if rec.disposed else "",
                      "approver": entry.get("approved_by", "")})


def gone_api(exc, request) -> dict[str, Any]:
    rec = gone_record(request)
    assert rec is not None  # the predicate said so
    request.tm.doom()
    request.response.status = 410
    return {"error": "gone", "message": _gone_message(request, rec), "fields": {},
            "archival_code": rec.archival_code, "disposed": rec.disposed.isoformat() if rec.disposed else None,
            "register": "/api/v1/disposal-register"}


def gone_page(exc, request) -> dict[str, Any]:
    rec = gone_record(request)
    assert rec is not None
    request.tm.doom()
    request.response.status = 410
    return {"page_title": translate(request, "档案已销毁"), "rec": rec, "message": _gone_message(request, rec)}


def includeme(config) -> None:
    from .api.errors import ApiError

    config.add_view_predicate("destroyed", DestroyedPredicate)
    config.add_exception_view(gone_api, context=ApiError, destroyed=True, renderer="json")
    config.add_exception_view(gone_api, context=HTTPNotFound, path_info=r"^/api/", destroyed=True, renderer="json")
    config.add_exception_view(gone_page, context=HTTPNotFound, path_info=NOT_API, destroyed=True,
                              renderer="duban_archive.views:templates/disposal_gone.pt")
    config.add_view(dispose_view, context=ArchiveRecord, name="dispose", permission="records",
                    renderer="duban_archive.views:templates/disposal_request.pt")
    config.add_view(review_view, context=ArchiveRecord, name="disposal-review", permission="approve_disposal",
                    renderer="duban_archive.views:templates/disposal_review.pt")
    config.add_view(worklist_view, context=ArchiveRecords, name="disposals", permission="view",
                    renderer="duban_archive.views:templates/disposal_list.pt")
    config.add_view(register_view, context=ArchiveRecords, name="register", permission="disposal_register",
                    renderer="duban_archive.views:templates/disposal_register.pt")
    config.add_nav("销毁审批", "/archive/@@disposals", permission="approve_disposal", order=51)
    config.add_nav("销毁清册", "/archive/@@register", permission="disposal_register", order=52)
