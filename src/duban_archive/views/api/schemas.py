"""JSON schemas of the API's bodies, for the OpenAPI description (``views/api/openapi.py``).

Static shapes (errors, deadlines, attachments, transitions ...) are plain dicts
here; the shapes that follow the content types (an item's fields, a feedback
report's fields) are built from the type registry when the description is
served, so a new field in a ``definitions/*.toml`` file is described at once.
Views refer to them with :func:`ref`: ``response=ref("Item")``.
"""

from __future__ import annotations

from typing import Any

from ...content_types.attachment import KINDS as ATTACHMENT_KINDS
from ...content_types.registry import FIELD_KINDS, PHONE_RE

_STR = {"type": "string"}
_DATETIME = {"type": "string", "format": "date-time"}
_HEX64 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
#: characters no text field keeps (``validation.text_problem``): C0/C1 controls; one-line fields
#: refuse tab, LF and CR as well.  Lone surrogates (``"\ud800"`` in JSON), noncharacters and
#: characters no dossier font draws are refused too (400); the pattern leaves them out, as a
#: surrogate range in a pattern is more than some JSON Schema tools can read.
_CONTROLS = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"
_LINE_CONTROLS = _CONTROLS + r"\t\n\r"


def text_pattern(*, multiline: bool, required: bool) -> str:
    """A regular expression for text the API accepts (``required``: not blank)."""
    bad = _CONTROLS if multiline else _LINE_CONTROLS
    return f"^[^{bad}]*[^\\s{bad}][^{bad}]*$" if required else f"^[^{bad}]*$"


LIGHTS = ("green", "yellow", "red")


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(name)}


ERROR = {
    "type": "object",
    "required": ["error", "message", "fields"],
    "properties": {
        "error": {"type": "string", "description": "invalid / unauthorized / forbidden / not_found / conflict / "
                                                   "too_large / unsupported_type / too_many_requests / csrf_failed …"},
        "message": {"type": "string", "description": "中文说明"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "逐字段的中文说明（字段名 → 说明；批量立项时为“序号.字段”，整体问题为“_”）"},
    },
}

DEADLINE = {
    "type": "object", "required": ["name", "title", "due", "light"],
    "properties": {
        "name": _STR, "title": _STR, "due": _DATETIME,
        "due_text": {"type": "string", "description": "办理时限的显示文本（到分钟，如 2026-12-31 23:59），与通知一致"},
        "light": {"type": "string", "enum": list(LIGHTS), "description": "亮灯：green 正常 / yellow 临期 / red 逾期"},
        "calendar_known": {"type": "boolean", "description": "false：工作日计算跨越了尚未公布节假日安排的年度"},
    },
}

HISTORY_ENTRY = {
    "type": "object", "required": ["time", "actor", "transition", "title", "from", "to"],
    "properties": {
        "time": _DATETIME, "actor": _STR, "transition": {"type": "string", "description": "流转名，创建时为空"},
        "title": _STR, "from": _STR, "to": _STR, "comment": _STR,
        "fields": {"type": "object", "description": "流转时填写的字段"},
        "deadlines": {"type": "array", "items": {"type": "object"}, "description": "流转后的时限快照"},
    },
    "additionalProperties": True,
}

ATTACHMENT = {
    "type": "object",
    "required": ["id", "filename", "title", "kind", "mimetype", "size", "sha256", "sm3", "uploader", "created", "url"],
    "properties": {
        "id": _STR, "filename": _STR, "title": _STR,
        "kind": {"type": "string", "enum": list(ATTACHMENT_KINDS),
                 "description": "photo 照片 / signed_report 盖章扫描件 / other 其他"},
        "mimetype": {"type": "string", "description": "按内容识别的类型（不采信上传时声明的类型）"},
        "size": {"type": "integer", "minimum": 0}, "sha256": _HEX64, "sm3": _HEX64,
        "uploader": _STR, "created": _DATETIME,
        "url": {"type": "string", "description": "GET：下载原件"},
        "width": {"type": "integer", "description": "图片宽（像素）"}, "height": {"type": "integer"},
        "capture_check": {
            "type": "object", "description": "采集时检测（上传后在后台进行：PDF 电子签名验证、完整解码）",
            "required": ["status", "label", "checked_at", "detail", "signatures"],
            "properties": {
                "status": {"type": "string",
                           "enum": ["verified", "signature_invalid", "undecodable", "unchecked", "pending"]},
                "label": {"type": "string", "description": "已验证 / 签名无效 / 无法解码 / 未检测 / 待检测"},
                "checked_at": {"type": "string", "nullable": True}, "detail": {"type": "string"},
                "signatures": {"type": "integer", "minimum": 0, "description": "PDF 中电子签名的个数"}}},
    },
}

UPLOAD = {
    "type": "object", "required": ["file", "kind"], "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "文件（按内容识别类型；不接受的类型 415，超过上限 413）"},
        "kind": {"type": "string", "enum": list(ATTACHMENT_KINDS)},
        "title": {"type": "string", "maxLength": 200, "pattern": text_pattern(multiline=False, required=False)},
    },
}

TRANSITION_FIELD = {
    "type": "object", "required": ["name", "title", "kind", "required"],
    "properties": {
        "name": _STR, "title": _STR, "kind": {"type": "string", "enum": sorted(FIELD_KINDS)},
        "required": {"type": "boolean"}, "description": _STR,
        "choices": {"type": "array", "items": {"type": "object", "required": ["value", "title"],
                                               "properties": {"value": _STR, "title": _STR}}},
    },
}

TRANSITION = {
    "type": "object", "required": ["name", "title", "target", "fields"],
    "properties": {
        "name": {"type": "string", "description": "POST /api/v1/items/{id}/transitions/{name}"},
        "title": _STR, "target": {"type": "string", "description": "流转后的状态"},
        "fields": {"type": "array", "items": ref("TransitionField"), "description": "需填写的字段（总含 comment）"},
        "requires_attachments": {"type": "array", "items": {"type": "string", "enum": list(ATTACHMENT_KINDS)},
                                 "description": "执行前须已上传的附件类别"},
    },
}

TRANSITION_RESULT = {
    "type": "object", "required": ["state", "state_title", "deadlines"],
    "properties": {"state": _STR, "state_title": _STR, "deadlines": array_of("Deadline")},
}

CREATED = {
    "type": "object", "required": ["id", "number", "state", "url"],
    "properties": {"id": _STR, "number": {"type": "string", "description": "事项编号，如 ZDGZ-2026-0001"},
                   "state": _STR, "url": _STR},
}

ITEM_LIST = {
    "type": "object", "required": ["total", "page", "per_page", "items"],
    "properties": {"total": {"type": "integer", "minimum": 0}, "page": {"type": "integer", "minimum": 1},
                   "per_page": {"type": "integer", "minimum": 1}, "items": array_of("ItemSummary")},
}

SEARCH_HIT = {
    "type": "object", "required": ["id", "number", "title", "snippet", "score", "state", "url"],
    "properties": {
        "id": _STR, "number": _STR, "title": _STR, "state": _STR, "score": {"type": "number"},
        "snippet": {"type": "string", "description": "按句（。！？）截取的摘要，HTML，命中词以 <mark> 标出"},
        "url": _STR,
        "not_ocred": {"type": "array", "items": _STR,
                      "description": "未识别文字的附件 id（扫描件或照片，未安装 OCR 时），其内容不在检索范围内"},
    },
}

SEARCH_RESULT = {
    "type": "object", "required": ["total", "page", "per_page", "results", "facets"],
    "properties": {
        "total": {"type": "integer", "minimum": 0, "description": "调用者有权查看的命中总数"},
        "page": {"type": "integer"}, "per_page": {"type": "integer"},
        "results": array_of("SearchHit"),
        "facets": {"type": "object", "description": "board / state / unit / year / retention 的分面计数",
                   "additionalProperties": {"type": "array", "items": {
                       "type": "object", "required": ["value", "title", "count"],
                       "properties": {"value": {"description": "字符串（年度为整数）"}, "title": _STR,
                                      "count": {"type": "integer", "minimum": 0}}}}},
        "facet_titles": {"type": "object", "additionalProperties": _STR},
    },
}

STATIC = {
    "Error": ERROR, "Deadline": DEADLINE, "HistoryEntry": HISTORY_ENTRY, "Attachment": ATTACHMENT,
    "AttachmentUpload": UPLOAD, "TransitionField": TRANSITION_FIELD, "Transition": TRANSITION,
    "TransitionResult": TRANSITION_RESULT, "Created": CREATED,
    "ItemList": ITEM_LIST, "SearchHit": SEARCH_HIT, "SearchResult": SEARCH_RESULT,
}


# -- shapes that follow the content types ----------------------------------------

#: field kinds whose JSON value has the same schema going in and coming out
SCALARS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer"}, "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"}, "datetime": {"type": "string", "format": "date-time"},
}


def field_input(f) -> dict[str, Any]:
    """What a client may send for field ``f`` (the colander node of ``FieldDef.node``)."""
    kind = f.kind
    if kind in ("text", "textarea", "user"):
        limit = f.max_length or (5000 if kind == "textarea" else 200)
        out: dict[str, Any] = {"type": "string", "maxLength": limit,
                               "pattern": text_pattern(multiline=kind == "textarea", required=f.required)}
        if f.required:
            out["minLength"] = 1  # blank counts as missing
    elif kind == "phone":
        out = {"type": "string", "pattern": PHONE_RE.pattern}
    elif kind in SCALARS:
        out = dict(SCALARS[kind])
    elif kind == "choice":
        out = {"type": "string", "enum": [c.value for c in f.choices if not c.refused]}
    elif kind == "multi_choice":
        out = {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": [c.value for c in f.choices]}}
    elif kind == "unit":
        out = {"type": "string", "minLength": 1, "pattern": text_pattern(multiline=False, required=True),
               "description": "承办单位 id（GET /api/v1/units）"}
    else:  # units
        out = {"type": "array", "uniqueItems": True,
               "items": {"type": "string", "pattern": text_pattern(multiline=False, required=True)},
               "description": "承办单位 id 的数组（GET /api/v1/units）"}
    out["title"] = f.title
    if f.description:
        out["description"] = f.description
    return out


def field_output(f) -> dict[str, Any]:
    """A field's value in an item's (or record's) JSON: ``registry.to_json_value`` of what is stored."""
    kind = f.kind
    if kind in ("multi_choice", "units"):
        out: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
    elif kind in SCALARS:
        out = dict(SCALARS[kind])
    else:
        out = {"type": "string"}
    out.update(nullable=True, title=f.title)  # fields added to a type later are absent on older objects
    return out


def _union(field_lists, make) -> dict[str, Any]:
    """Properties of every field in ``field_lists``; a name with two different shapes is any value."""
    props: dict[str, Any] = {}
    for fields in field_lists:
        for f in fields:
            schema = make(f)
            if f.name not in props:
                props[f.name] = schema
            elif _shape(props[f.name]) != _shape(schema):
                props[f.name] = {"nullable": True, "title": f.title}
    return props


def _shape(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


ITEM_BASE = {
    "id": _STR, "number": _STR, "board": _STR, "type": {"type": "string", "description": "事项类型"},
    "url": _STR, "lead_unit_title": _STR, "state": _STR, "state_title": _STR, "workflow": _STR,
    "archived": {"type": "boolean"}, "creator": _STR, "created": {**_DATETIME, "nullable": True},
    "modified": {**_DATETIME, "nullable": True}, "next_due": {**_DATETIME, "nullable": True},
    "deadlines": array_of("Deadline"),
    "light": {"type": "string", "enum": [*LIGHTS, None], "nullable": True,
              "description": "下一时限的亮灯（没有未了的时限时为 null）"},
    "improper_decline": {"type": "boolean", "description": "12345：不当退单"},
}
ITEM_REQUIRED = ["id", "number", "board", "type", "url", "state", "state_title", "workflow", "archived",
                 "deadlines"]
ITEM_FULL = {
    "history": array_of("HistoryEntry"), "attachments": array_of("Attachment"), "feedback": array_of("Feedback"),
    "instructions": array_of("Instruction"),
    "can": {"type": "object", "description": "调用者此刻可做的操作（只显示会成功的按钮）",
            "additionalProperties": {"type": "boolean"}},
    "not_ocred": {"type": "array", "items": _STR,
                  "description": "未识别文字（未 OCR）的附件编号，全文检索不含其内容"},
    "archival_code": {"type": "string", "nullable": True, "description": "档号（未归档为 null）"},
    "transfer": {"type": "object", "nullable": True,
                 "description": "移交（未移交或移交已撤销为 null）：id 移交批次、date 日期、receiver_unit 接收单位",
                 "properties": {"id": _STR, "date": {"type": "string", "format": "date"}, "receiver_unit": _STR}},
    "checks": {"type": "object", "additionalProperties": True,
               "description": "四性检测（DA/T 70-2018）：stage（capture 采集时 / filing 归档时）、conclusion、passed、"
                              "unchecked（未检测项，未检测不视为通过）、failed、sections"},
    "package_versions": {"type": "array",
                         "description": "已归档事项的归档包各版本（著录更正生成新版本，旧版本被替代但保留）",
                         "items": {"type": "object", "properties": {
                             "version": {"type": "integer"}, "created": _DATETIME, "reason": _STR,
                             "sha256": _HEX64, "sm3": _HEX64,
                             "superseded_by": {"type": "integer", "nullable": True, "description": "被第几版替代"},
                             "relation": _STR}}},
}


def _record(typedef) -> dict[str, Any]:
    props = {"id": _STR, "type": _STR, "author": _STR, "created": {**_DATETIME, "nullable": True}}
    if typedef is not None:
        props.update({f.name: field_output(f) for f in typedef.fields})
    return {"type": "object", "required": ["id", "type", "author", "created"], "properties": props,
            "additionalProperties": True}


def _record_input(typedef) -> dict[str, Any]:
    fields = typedef.fields if typedef is not None else ()
    schema: dict[str, Any] = {"type": "object", "additionalProperties": typedef is None,
                              "properties": {f.name: field_input(f) for f in fields
                                             if not getattr(f, "system", False)}}
    required = [f.name for f in fields if f.required]
    if required:
        schema["required"] = required
    return schema


def components(registry) -> dict[str, Any]:
    """Every named schema, the type-dependent ones built from ``registry.duban_types``."""
    types = getattr(registry, "duban_types", None)
    item_types = types.of_kind("item") if types is not None else []
    fields_out = _union([t.fields for t in item_types], field_output)
    for f in (f for t in item_types for f in t.fields if f.masked):  # 来电号码 shown 138****5678 (issue 15)
        fields_out[f"{f.name}_masked"] = {
            "type": "boolean", "description": f"{f.title}是否隐去中间数字显示（无 view_caller_phone 权限：只有须回访的"
                                             f"承办单位承办人、负责人和督查室看到完整号码）"}
    schemas: dict[str, Any] = dict(STATIC)
    schemas["ItemSummary"] = {
        "type": "object", "required": ITEM_REQUIRED, "additionalProperties": True,
        "description": "列表中的事项：事项类型的字段与状态、时限", "properties": {**fields_out, **ITEM_BASE}}
    schemas["Item"] = {
        "type": "object", "required": ITEM_REQUIRED + ["history", "attachments", "feedback", "instructions", "can"],
        "additionalProperties": True, "description": "事项详情：字段随事项类型而定（各版块的类型见 ItemInput）",
        "properties": {**fields_out, **ITEM_BASE, **ITEM_FULL}}
    variants = []
    for t in item_types:
        name = f"ItemInput.{t.name}"
        schemas[name] = dict(_record_input(t), title=t.title,
                             description=f"版块：{'、'.join(t.boards)}（未知字段返回 400）")
        variants.append(ref(name))
    schemas["ItemInput"] = ({"anyOf": variants} if variants else {"type": "object"}) | {
        "description": "立项的字段：由版块的事项类型决定（GET /api/v1/boards 的 item_type）"}
    patches = []
    for t in item_types:
        name = f"ItemPatch.{t.name}"
        schemas[name] = {"type": "object", "minProperties": 1, "additionalProperties": False, "title": t.title,
                         "properties": {f.name: field_input(f) for f in t.fields if f.editable}}
        patches.append(ref(name))
    schemas["ItemPatch"] = ({"anyOf": patches} if patches else {"type": "object"}) | {
        "description": "要修改的字段（部分更新，按事项类型；立项后不可修改的字段与未知字段返回 400）"}
    comment = {"type": "string", "maxLength": 5000, "pattern": text_pattern(multiline=True, required=False),
               "title": "意见"}
    workflows = getattr(registry, "duban_workflows", None) or ()
    transitions = [t for wf in workflows for t in wf.transitions.values() if not t.auto and not t.system]
    schemas["TransitionInput"] = {
        "type": "object", "additionalProperties": False,
        "properties": {"comment": comment, **_union([t.fields for t in transitions], field_input)},
        "description": "comment 与该流转的字段（见 GET /api/v1/items/{id}/transitions 的 fields）；"
                       "该流转不接受的字段、缺少必填字段返回 400"}
    feedback = types.get("feedback_report") if types is not None else None
    instruction = types.get("instruction") if types is not None else None
    schemas["Feedback"] = _record(feedback)
    schemas["FeedbackInput"] = _record_input(feedback)
    schemas["Instruction"] = _record(instruction)
    schemas["InstructionInput"] = _record_input(instruction)
    return schemas
