"""Operations on content: the Python API behind the UI, the JSON API and the CLI.

Each operation checks what the content itself forbids (archived items are
frozen), writes the change, appends to the audit log and announces an event;
permission checks belong to the caller (views know the request).  Callers pass
validated appstructs (see :mod:`duban_archive.validation`).
"""

from __future__ import annotations

from importlib import import_module
from typing import IO, Any

import colander
from pyramid.threadlocal import get_current_registry

from ..audit.log import record
from ..events import ObjectAdded, ObjectModified, notify
from ..timeutil import now, today
from .attachment import Attachment, ContainerLimits, UploadRefused, capture, safe_filename
from .board import Board
from .feedback import FeedbackReport, Instruction
from .item import SupervisionItem
from .numbering import next_number
from .unique import check_unique, claim


class Frozen(Exception):
    """The item is archived: its content can no longer change (403)."""

    message = "事项已归档，内容不可更改；著录信息更正请走更正流程"


def _clean(value: Any) -> Any:
    if value is colander.null:
        return None
    if isinstance(value, set | frozenset | list):
        return tuple(sorted(value))
    return value


def create_item(site, board: Board, appstruct: dict[str, Any], actor: str, registry=None) -> SupervisionItem:
    registry = registry or get_current_registry()
    typedef = registry.duban_types[board.item_type]
    values = {f.name: _clean(appstruct.get(f.name, f._missing())) for f in typedef.fields}
    if not values.get("registered_on"):
        values["registered_on"] = today()
    if typedef.before_create:  # e.g. 12345: a repeat complaint is not accepted (raises Refusal, nothing written)
        module, _, name = typedef.before_create.partition(":")
        getattr(import_module(module), name)(site, board, values, typedef)
    check_unique(site, board.board_id, values, typedef)  # 工单编号 / 线索编号 taken: 409, nothing written
    number = next_number(site, board.prefix, values["registered_on"].year)
    item_id = number.lower()
    item = SupervisionItem(item_id, number, board.board_id, typedef.name)
    for name, value in values.items():
        setattr(item, name, value)
    item.creator = actor
    item.created = item.modified = now()
    board.add(item_id, item)
    site.item_index[item_id] = item
    claim(site, board.board_id, item, typedef)
    registry.duban_workflows[board.workflow].initialize(item, actor)
    record(site, "create", actor, item_id, title=item.title, number=number)
    notify(ObjectAdded(item, actor), registry)
    return item


def edit_item(site, item: SupervisionItem, appstruct: dict[str, Any], actor: str,
              registry=None) -> dict[str, tuple[Any, Any]]:
    """Apply changed fields; returns ``{field: (old, new)}`` (empty if nothing changed)."""
    if item.archived:
        raise Frozen()
    registry = registry or get_current_registry()
    typedef = registry.duban_types[item.type_name]
    unique = {f.name: _clean(appstruct[f.name]) for f in typedef.unique_fields
              if f.editable and f.name in appstruct}
    if unique:  # a number another item of the board has: 409 before anything is written
        check_unique(site, item.board_id, unique, typedef, own_id=item.item_id)
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in appstruct.items():
        fdef = typedef.field_map.get(name)
        if fdef is None or not fdef.editable:
            continue
        new = _clean(value)
        old = getattr(item, name, None)
        if old != new:
            changes[name] = (old, new)
            setattr(item, name, new)
    if changes:
        if unique.keys() & changes.keys():
            claim(site, item.board_id, item, typedef, old={n: changes[n][0] for n in unique if n in changes})
        item.modified = now()
        for name, (old, new) in changes.items():
            record(site, "edit", actor, item.item_id, field=name, old=old, new=new)
        if {"lead_unit", "assist_units"} & changes.keys():
            registry.duban_workflows[item.workflow].apply_acl(item)
        notify(ObjectModified(item, actor, changes), registry)
    return changes


def _add_record(site, item, folder_name: str, cls, prefix: str, type_name: str,
                appstruct: dict[str, Any], actor: str, action: str, registry=None):
    if item.archived:
        raise Frozen()
    registry = registry or get_current_registry()
    typedef = registry.duban_types[type_name]
    rec = cls(type_name, actor, now())
    for f in typedef.fields:
        setattr(rec, f.name, _clean(appstruct.get(f.name, f._missing())))
    folder = item.container(folder_name)
    name = f"{prefix}{len(folder) + 1}"
    folder.add(name, rec)
    item.modified = rec.created
    record(site, action, actor, item.item_id, record=name)
    notify(ObjectAdded(rec, actor), registry)
    return rec


def add_feedback(site, item, appstruct, actor, registry=None) -> FeedbackReport:
    return _add_record(site, item, "feedback", FeedbackReport, "f", "feedback_report",
                       appstruct, actor, "feedback", registry)


def add_instruction(site, item, appstruct, actor, registry=None) -> Instruction:
    return _add_record(site, item, "instructions", Instruction, "i", "instruction",
                       appstruct, actor, "instruction", registry)


def add_attachment(site, item, source: IO[bytes], filename: str, kind: str, title: str,
                   actor: str, *, max_bytes: int, max_pixels: int = 50_000_000,
                   registry=None) -> Attachment:
    """Stream ``source`` into a new attachment; raises UploadRefused (413/415).

    On refusal the caller must abort the transaction (the blob written so far
    is then discarded with it).
    """
    if item.archived:
        raise Frozen()
    if kind not in ("photo", "signed_report", "other"):
        raise UploadRefused(400, "附件类别应为 photo（照片）、signed_report（盖章扫描件）或 other（其他）")
    att = Attachment(kind, safe_filename(filename), (title or "").strip()[:200], actor, now())
    settings = getattr(registry or get_current_registry(), "settings", None)
    got = capture(source, att.blob, max_bytes=max_bytes, kind=kind, max_pixels=max_pixels,
                  limits=ContainerLimits.from_settings(settings))  # duban.max_zip_ratio …
    att.size, att.sha256, att.sm3, att.mimetype = got.size, got.sha256, got.sm3, got.mimetype
    att.width, att.height = got.width, got.height
    folder = item.container("attachments")
    name = f"{item.item_id}-a{len(folder) + 1}"
    folder.add(name, att)
    site.attachment_index[name] = att
    item.modified = att.created
    record(site, "upload", actor, item.item_id, attachment=name, filename=att.filename,
           size=att.size, sha256=att.sha256, sm3=att.sm3)
    notify(ObjectAdded(att, actor), registry or get_current_registry())
    return att
