"""Items: create in a board, list, read, partial update; feedback, instructions, audit trail.

Validation comes from the item's type definition (one colander schema for
forms and API).  Every refusal raises before anything is written, and the
error handler dooms the transaction besides.
"""

from __future__ import annotations

from typing import Any

from pyramid.view import view_config

from ...audit.log import as_json
from ...audit.reads import log_read
from ...content_types.actions import add_feedback, add_instruction, create_item, edit_item
from ...content_types.registry import MASK_PERMISSION
from ...content_types.site_access import get_site
from ...errors import Refusal
from ...validation import ValidationFailed, validate
from ..display import masked_entry
from ..timeline import describer
from .errors import ApiError
from .openapi import document
from .schemas import array_of, ref
from .serialize import item_json, record_json
from .util import get_item, int_param, json_body, json_value, principals, require

ITEM = ref("Item")  # the shapes follow the content types: views/api/schemas.py
CREATED = ref("Created")
ITEM_FIELDS = ref("ItemInput")
MAX_PER_PAGE = 200


# -- create ----------------------------------------------------------------

BATCH_CREATED = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": CREATED}}}
document("api.board.items", "POST", "在版块中立项（返回 201；工单编号、线索编号已被本版块其他事项使用时 409）；"
         "请求体为数组时批量立项"
         "（最多 500 条，全部成功或全部不变，错误字段名为“序号.字段”）",
         request={"oneOf": [ITEM_FIELDS, {"type": "array", "items": ITEM_FIELDS, "minItems": 1, "maxItems": 500}]},
         response={"oneOf": [CREATED, BATCH_CREATED]},
         status=201, params=[{"name": "board", "in": "path", "required": True, "schema": {"type": "string"}}])


MAX_BATCH = 500


@view_config(route_name="api.board.items", request_method="POST", renderer="json")
def create_view(request):
    """One item (a JSON object), or a batch (a JSON array, all or nothing, one transaction)."""
    site = get_site(request)
    board = site.boards.get(request.matchdict["board"])
    if board is None:
        raise ApiError(404, f"版块“{request.matchdict['board']}”不存在")
    require(request, "add_item", board)
    data = json_value(request)
    typedef = request.registry.duban_types[board.item_type]
    schema = typedef.schema("add", site=site, request=request)
    if isinstance(data, dict):
        item = create_item(site, board, validate(schema, data), request.authenticated_userid, request.registry)
        request.response.status_int = 201
        request.response.headers["Location"] = request.route_url("api.item", id=item.item_id)
        return _created(request, item)
    if not isinstance(data, list) or not data or len(data) > MAX_BATCH:
        raise ApiError(400, f"请求体应为 JSON 对象，或 1 至 {MAX_BATCH} 个对象组成的数组",
                       {"_": "请求体应为 JSON 对象或对象数组"})
    appstructs, errors = [], {}
    for i, entry in enumerate(data):  # validate every entry before creating any
        try:
            appstructs.append(validate(schema, entry))
        except ValidationFailed as exc:
            errors.update({f"{i}.{k}": v for k, v in exc.fields.items()})
    if errors:
        raise ValidationFailed(errors)
    items = []
    for i, a in enumerate(appstructs):
        try:
            items.append(create_item(site, board, a, request.authenticated_userid, request.registry))
        except Refusal as exc:  # e.g. two entries with one 工单编号: say which entry; nothing is created
            raise Refusal(f"第 {i + 1} 条：{exc.message}", {f"{i}.{k}": v for k, v in exc.fields.items()},
                          status=exc.status, code=exc.code) from None
    request.response.status_int = 201
    return {"items": [_created(request, it) for it in items]}


def _created(request, item) -> dict[str, Any]:
    return {"id": item.item_id, "number": item.number, "state": item.state,
            "url": request.route_url("api.item", id=item.item_id)}


document("api.board.items", "GET", "版块内事项列表（同 GET /api/v1/items?board=）", response=ref("ItemList"),
         params=[{"name": "board", "in": "path", "required": True, "schema": {"type": "string"}}])


@view_config(route_name="api.board.items", request_method="GET", renderer="json")
def board_list_view(request):
    if request.matchdict["board"] not in get_site(request).boards:
        raise ApiError(404, f"版块“{request.matchdict['board']}”不存在")
    return _listing(request, board=request.matchdict["board"], via="api.board_items")


# -- list ------------------------------------------------------------------

LIST_PARAMS = [
    {"name": n, "in": "query", "required": False, "schema": {"type": t}, "description": d}
    for n, t, d in (
        ("board", "string", "版块 id"), ("state", "string", "状态（可用逗号分隔多个）"),
        ("unit", "string", "主办或协办单位 id"), ("year", "integer", "立项年度"),
        ("overdue", "boolean", "true：只列逾期事项"), ("sort", "string", "number|deadline|registered_on|modified|due"),
        ("reverse", "boolean", "倒序"), ("page", "integer", "页码，从 1 开始"),
        ("per_page", "integer", f"每页条数（默认 50，最多 {MAX_PER_PAGE}）"),
    )
]
SORTS = ("number", "deadline", "registered_on", "modified", "due")

document("api.items", "GET", "事项列表（只含调用者可查看的事项）", params=LIST_PARAMS, response=ref("ItemList"),
         errors=(400, 401))


@view_config(route_name="api.items", request_method="GET", renderer="json")
def list_view(request):
    return _listing(request, board=request.GET.get("board") or None, via="api.items")


def _bool_param(request, name: str) -> bool | None:
    raw = (request.GET.get(name) or "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise ApiError(400, "查询参数有误", {name: "应为 true 或 false"})


def _listing(request, board: str | None, via: str) -> dict[str, Any]:
    site = get_site(request)
    require(request, "view", site)
    known = {"board", "state", "unit", "year", "overdue", "sort", "reverse", "page", "per_page"}
    unknown = {k: "不支持的查询参数" for k in request.GET if k not in known}
    if unknown:
        raise ApiError(400, "查询参数有误", unknown)
    page = int_param(request, "page", 1)
    per_page = int_param(request, "per_page", 50, 1, MAX_PER_PAGE)
    year = int_param(request, "year", 0, 1900, 9999) or None
    sort = request.GET.get("sort") or "number"
    if sort not in SORTS:
        raise ApiError(400, "查询参数有误", {"sort": f"可选：{'、'.join(SORTS)}"})
    if board is not None and board not in site.boards:
        raise ApiError(400, "查询参数有误", {"board": f"版块“{board}”不存在"})
    unit = request.GET.get("unit") or None
    if unit is not None and unit not in site["units"]:
        raise ApiError(400, "查询参数有误", {"unit": f"承办单位“{unit}”不存在"})
    states = [s for s in (request.GET.get("state") or "").split(",") if s] or None
    overdue = _bool_param(request, "overdue")
    reverse = bool(_bool_param(request, "reverse"))
    total, items = query(site, principals(request), board=board, states=states, unit=unit,
                         year=year, overdue=overdue, sort=sort, reverse=reverse,
                         start=(page - 1) * per_page, limit=per_page)
    log_read(request, items, via=via, board=board, page=page)  # entries carry full content
    return {"total": total, "page": page, "per_page": per_page,
            "items": [item_json(request, it, full=False) for it in items]}


def query(site, principals, **kw) -> tuple[int, list]:
    """The shared listing index (catalog.listing), lazily imported."""
    from ...catalog.listing import query_items

    states = kw.pop("states", None)
    if states and len(states) == 1:
        kw["state"] = states[0]
    elif states:
        kw["states"] = states
    if not kw.get("overdue"):
        kw["overdue"] = None
    return query_items(site, principals, **kw)


# -- one item --------------------------------------------------------------

ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

document("api.item", "GET", "事项详情（含 deadlines、history、attachments、feedback）", response=ITEM,
         params=ID_PARAM)


@view_config(route_name="api.item", request_method="GET", renderer="json")
def item_view(request):
    site, item = get_item(request)
    log_read(request, item, via="api")  # every look by an auditor is on the record
    return item_json(request, item)


document("api.item", "PATCH", "修改事项（部分字段；当前状态不允许修改时返回 403）", request=ref("ItemPatch"),
         response=ITEM, params=ID_PARAM, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item", request_method="PATCH", renderer="json")
def patch_view(request):
    site, item = get_item(request, "edit")
    data = json_body(request)
    if not data:
        raise ApiError(400, "没有要修改的字段", {"_": "请求体为空"})
    typedef = request.registry.duban_types[item.type_name]
    errors: dict[str, str] = {}
    for name, value in data.items():
        fdef = typedef.field_map.get(name)
        if fdef is not None and fdef.system:
            errors[name] = f"{fdef.title}由系统在办理中记录，不可修改"
        elif fdef is not None and not fdef.editable:
            errors[name] = "立项后不可修改"
        elif fdef is not None and fdef.required and (value is None or (isinstance(value, str) and not value.strip())):
            errors[name] = "必填，不能清空"
        elif fdef is not None and fdef.masked and not request.has_permission(MASK_PERMISSION, item):
            errors[name] = f"{fdef.title}对您隐去显示，不能修改"
    rest = {k: v for k, v in data.items() if k not in errors}
    try:
        appstruct = validate(typedef.schema("edit", site=site, request=request, only=set(rest), context=item), rest)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    edit_item(site, item, appstruct, request.authenticated_userid, request.registry)
    return item_json(request, item)


# -- records inside an item -------------------------------------------------

document("api.item.feedback", "POST", "提交反馈报告（办理事项、办理进展情况、下步工作安排；返回 201）",
         request=ref("FeedbackInput"), response=ref("Feedback"), status=201, params=ID_PARAM)


@view_config(route_name="api.item.feedback", request_method="POST", renderer="json")
def feedback_view(request):
    return _add_record(request, "add_feedback", "feedback_report", add_feedback)


def _add_record(request, permission: str, type_name: str, action, defaults=None):
    """POST of a record (feedback, instruction): validate against its type, add, answer 201."""
    site, item = get_item(request, permission)
    typedef = request.registry.duban_types[type_name]
    appstruct = validate(typedef.schema("add", site=site, request=request), json_body(request))
    # defaults(request) runs after the permission check: it may read the identity
    for name, value in (defaults(request) if defaults else {}).items():
        if not appstruct.get(name):
            appstruct[name] = value
    rec = action(site, item, appstruct, request.authenticated_userid, request.registry)
    request.response.status_int = 201
    return record_json(request, rec)


document("api.item.feedback", "GET", "事项的反馈报告", response=array_of("Feedback"), params=ID_PARAM)


@view_config(route_name="api.item.feedback", request_method="GET", renderer="json")
def feedback_list_view(request):
    _, item = get_item(request)
    log_read(request, item, via="api.feedback")
    return [record_json(request, r) for r in item.feedback.values()]


document("api.item.instructions", "POST", "领导批示（返回 201）", request=ref("InstructionInput"),
         response=ref("Instruction"), status=201, params=ID_PARAM)


@view_config(route_name="api.item.instructions", request_method="POST", renderer="json")
def instruction_view(request):
    return _add_record(request, "add_instruction", "instruction", add_instruction,
                       defaults=lambda req: {"leader": req.identity.title})


document("api.item.instructions", "GET", "事项的领导批示", response=array_of("Instruction"), params=ID_PARAM)


@view_config(route_name="api.item.instructions", request_method="GET", renderer="json")
def instruction_list_view(request):
    _, item = get_item(request)
    log_read(request, item, via="api.instructions")
    return [record_json(request, r) for r in item.instructions.values()]


# -- audit -----------------------------------------------------------------

document("api.item.audit", "GET", "事项的审计记录（谁、何时、做了什么、旧值 → 新值）", response={
    "type": "array", "items": {"type": "object", "properties": {
        "time": {"type": "string"}, "action": {"type": "string"}, "action_title": {"type": "string"},
        "actor": {"type": "string"}, "target": {"type": "string"},
        "summary": {"type": "string", "description": "这条记录的中文说明（字段、状态用名称）"}},
        "additionalProperties": True}},
    params=ID_PARAM)


@view_config(route_name="api.item.audit", request_method="GET", renderer="json")
def audit_view(request):
    site, item = get_item(request, "view_audit")
    summary = describer(request, item, localize=False)  # the API's sentences are Chinese (documented)
    entries = [dict(as_json(masked_entry(request, item, dict(e))), summary=summary(e))
               for e in site["audit"].for_target(item.item_id)]
    log_read(request, item, via="api.audit")  # after reading: the trail shown ends before this look
    return entries



# -- 12345: 派单时间 corrections (issue 14, seed 003) ----------------------------------------------

document("api.item.dispatch_time", "POST",
         "更正 12345 工单的派单时间（督查室；须写明理由，留痕审计，重算签收、退单、办结时限）",
         request={"type": "object", "required": ["dispatched_at", "reason"], "properties": {
             "dispatched_at": {"type": "string", "format": "date-time"}, "reason": {"type": "string"}}},
         response=ITEM, params=ID_PARAM, errors=(400, 401, 403, 404, 409))


@view_config(route_name="api.item.dispatch_time", request_method="POST", renderer="json")
def dispatch_time_view(request):
    from ...workflows.dispatch_time import correct_dispatched_at

    site, item = get_item(request, "view")
    correct_dispatched_at(site, item, json_body(request), actor=request.authenticated_userid,
                          principals=principals(request), registry=request.registry)  # a Refusal -> its JSON error
    return item_json(request, item)
