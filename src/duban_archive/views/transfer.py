"""移交 in the 档案室: choose filed records, fill in the 登记表's fields, make the transfer; list the
transfers, download the 登记表 and the package, cancel one with a reason.

The form is validated by the same colander schema as the JSON API
(:func:`duban_archive.archive.transfer.transfer_schema`) and the transfer is made by the same
:func:`~duban_archive.archive.transfer.create_transfer`; a refusal (a field, a record already
transferred, a package whose digests changed) re-shows the form with the message on top and
each field's beside it, and nothing is written.  Each form carries a submission token, so a
form sent twice (a double click, a reload) gives the transfer it made the first time.
"""

from __future__ import annotations

import secrets
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from ..archive import transfer as tr
from ..archive.rules import RETENTIONS
from ..audit.reads import log_read
from ..errors import Refusal
from ..timeutil import today
from .layout import translate

FIELDS = ("title", "description", "transferor_unit", "receiver_unit", "carrier", "carrier_spec", "carrier_numbers",
          "transferor", "receiver", "reviewer", "transfer_date")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _filters(request) -> dict[str, Any]:
    retention = request.params.get("retention") or None
    return {"year": _int(request.params.get("year")),
            "retention": retention if retention in RETENTIONS else None,
            "board": request.params.get("board") or None}


def _form_page(context, request, values: dict[str, Any], chosen: set[str] | None, *,
               refusal: str | None = None, fields: dict[str, str] | None = None) -> dict[str, Any]:
    filters = _filters(request)
    recs = tr.candidates(context, **filters)
    years = sorted({r.year for r in context["archive"].values()}, reverse=True) if "archive" in context else []
    log_read(request, (r.item_id for r in recs), via="transfer.new")
    rows = [{"rec": r, "item": context.get_item(r.item_id)} for r in recs]
    return {"page_title": translate(request, "移交"), "rows": rows, "filters": filters, "years": years,
            "boards": list(context["boards"].values()), "retentions": RETENTIONS, "carriers": tr.CARRIERS,
            "values": values, "chosen": chosen if chosen is not None else {r.item_id for r in recs},
            "refusal": refusal, "fields": fields or {}, "list_url": request.route_url("transfer.list")}


@view_config(route_name="transfer.new", renderer="templates/transfer_new.pt", permission="records",
             request_method="GET")
def new_view(context, request):
    values = {**tr.default_form(context, request.registry), "token": secrets.token_urlsafe(16)}
    values["transfer_date"] = values["transfer_date"].isoformat()
    return _form_page(context, request, values, None)


@view_config(route_name="transfer.new", renderer="templates/transfer_new.pt", permission="records",
             request_method="POST", require_csrf=True)
def create_view(context, request):
    values = {k: request.POST.get(k, "") for k in (*FIELDS, "token")}
    items = request.POST.getall("items")
    data: dict[str, Any] = {k: values[k] for k in FIELDS}
    data["items"] = items
    try:
        appstruct = tr.validate_form(data)
        transfer = tr.create_transfer(context, appstruct, actor=request.authenticated_userid,
                                      token=values["token"][:64])
    except Refusal as exc:
        request.tm.doom()
        request.response.status_int = exc.status
        fields = {name: translate(request, msg) for name, msg in exc.fields.items()}
        return _form_page(context, request, values, set(items), refusal=translate(request, exc.message),
                          fields=fields)
    request.session.flash(translate(request, "已登记移交批次 {id}：{n} 件，接收单位 {unit}",
                                    {"id": transfer.transfer_id, "n": transfer.count,
                                     "unit": transfer.form["receiver_unit"]}))
    return HTTPSeeOther(location=request.route_url("transfer.detail", id=transfer.transfer_id))


@view_config(route_name="transfer.list", renderer="templates/transfer_list.pt", permission="records")
def list_view(context, request):
    return {"page_title": translate(request, "移交与接收"), "transfers": tr.all_transfers(context),
            "carriers": tr.CARRIERS, "states": tr.STATES, "new_url": request.route_url("transfer.new")}


def _detail(context, request) -> tr.Transfer:
    return tr.get_transfer(context, request.matchdict["id"])


@view_config(route_name="transfer.detail", renderer="templates/transfer_detail.pt", permission="records")
def detail_view(context, request, refusal: str | None = None, fields: dict[str, str] | None = None,
                values: dict[str, str] | None = None):
    transfer = _detail(context, request)
    log_read(request, [e["item_id"] for e in transfer.entries], via="transfer.detail")
    api = f"/api/v1/transfers/{transfer.transfer_id}"
    return {"page_title": f"{translate(request, '移交批次')} {transfer.transfer_id}", "t_": transfer,
            "r": tr.register_context(context, transfer), "states": tr.STATES, "retentions": RETENTIONS,
            "downloads": {"pdf": f"{api}/register.pdf", "xlsx": f"{api}/register.xlsx", "zip": f"{api}/package.zip",
                          "received_pdf": f"{api}/register.pdf?stage=received",
                          "received_xlsx": f"{api}/register.xlsx?stage=received"},
            "refusal": refusal, "fields": fields or {}, "list_url": request.route_url("transfer.list"),
            "cancel_url": request.route_url("transfer.cancel", id=transfer.transfer_id),
            "receipt_url": request.route_url("transfer.receipt", id=transfer.transfer_id),
            "receipt_rows": [(row["section"], row["title"]) for row in transfer.inspection],
            "results": tr.RECEIPT_RESULTS, "values": values or {}, "today": today().isoformat(),
            "item_url": lambda item_id: _item_url(context, item_id)}


def _item_url(site, item_id: str) -> str | None:
    item = site.get_item(item_id)
    if item is None:
        return None
    from .item import item_url

    return item_url(item)


@view_config(route_name="transfer.cancel", renderer="templates/transfer_detail.pt", permission="records",
             request_method="POST", require_csrf=True)
def cancel_view(context, request):
    transfer = _detail(context, request)
    try:
        tr.cancel_transfer(context, transfer.transfer_id, actor=request.authenticated_userid,
                           reason=request.POST.get("reason", ""))
    except Refusal as exc:
        request.tm.doom()
        request.response.status_int = exc.status
        return detail_view(context, request, refusal=translate(request, exc.message),
                           fields={k: translate(request, v) for k, v in exc.fields.items()})
    request.session.flash(translate(request, "移交批次 {id} 已撤销，其中的档案可重新移交",
                                    {"id": transfer.transfer_id}))
    return HTTPSeeOther(location=request.route_url("transfer.detail", id=transfer.transfer_id))


@view_config(route_name="transfer.receipt", renderer="templates/transfer_detail.pt", permission="records",
             request_method="POST", require_csrf=True)
def receipt_view(context, request):
    """登记接收: the records officer copies the 接收单位's column of the signed 登记表."""
    transfer = _detail(context, request)
    names = ["received_on", "reviewer", *tr.ROW_KEYS, *(f"{k}_note" for k in tr.ROW_KEYS)]
    values = {k: request.POST.get(k, "") for k in names}
    try:
        data = tr.validate_receipt(values)
        tr.record_receipt(context, transfer.transfer_id, data, actor=request.authenticated_userid)
    except Refusal as exc:
        request.tm.doom()
        request.response.status_int = exc.status
        return detail_view(context, request, refusal=translate(request, exc.message),
                           fields={k: translate(request, v) for k, v in exc.fields.items()}, values=values)
    request.session.flash(translate(request, "移交批次 {id} 已登记接收，登记表已补全接收单位一栏",
                                    {"id": transfer.transfer_id}))
    return HTTPSeeOther(location=request.route_url("transfer.detail", id=transfer.transfer_id))


def includeme(config) -> None:
    config.add_route("transfer.list", "/archive/transfers")
    config.add_route("transfer.new", "/archive/transfers/new")
    config.add_route("transfer.detail", "/archive/transfers/{id}")
    config.add_route("transfer.cancel", "/archive/transfers/{id}/cancel")
    config.add_route("transfer.receipt", "/archive/transfers/{id}/receipt")


