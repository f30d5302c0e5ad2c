"""档案室 in the HTML UI: the 待归档 queue, review and file form, filed records,
归档文件目录 and transfer downloads, legal hold; plus the item page's 归档 panel.

Downloads (dossier, package, filing list) are the JSON API's routes, which
accept the browser session as well as a bearer token.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.renderers import render
from pyramid.view import view_config

from ..archive.dossier import closed_on
from ..archive.filing import FilingRefused, default_retention, file_item, queue, record_for, set_legal_hold
from ..archive.model import ArchiveRecords
from ..archive.rules import RETENTIONS
from ..content_types.site import find_site
from ..security.policy import request_principals as _principals
from ..timeutil import today
from .layout import translate


def _item_url(item) -> str:
    from .item import item_url

    return item_url(item)


@view_config(context=ArchiveRecords, renderer="templates/archive.pt", permission="records")
def archive_view(context, request) -> dict[str, Any]:
    site = find_site(context)
    units = site["units"]
    waiting = [{"item": i, "url": _item_url(i), "closed": closed_on(i), "lead": units.title_of(i.lead_unit),
                "default": default_retention(i, request.registry)} for i in queue(site)]
    filed = sorted(context.values(), key=lambda r: r.archival_code)
    years = sorted({r.year for r in filed}, reverse=True) or [today().year]
    return {"page_title": translate(request, "档案室"), "waiting": waiting, "retentions": RETENTIONS,
            "filed": [{"rec": r, "item": site.get_item(r.item_id), "url": _item_url(site.get_item(r.item_id))}
                      for r in filed],
            "years": years, "units": list(units.values())}


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
    """The item page's 归档 tab: 档号, versions and downloads, or the way to file."""
    site = find_site(item)
    rec = record_for(site, item.item_id)
    if rec is None and item.state != "closed":
        return None
    can_file = item.state == "closed" and not item.archived and request.has_permission("file", item)
    return render("duban_archive.views:templates/archive_panel.pt", {
        "item": item, "rec": rec, "can_file": can_file, "retentions": RETENTIONS,
        "default": default_retention(item, request.registry), "t": lambda m, **kw: translate(request, m, kw or None),
        "csrf": request.session.get_csrf_token(),
    }, request)
