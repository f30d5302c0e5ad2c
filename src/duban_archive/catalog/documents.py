"""What is indexed for one item: its text, its records' text, metadata, who may view.

The document is built from the item as it is *now* in the indexer's ZODB
snapshot, so applying the same queue entry twice writes the same document
(idempotent) and a late entry can never index a stale version.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pyramid.authorization import ACLHelper

from ..content_types.attachment import ContainerLimits
from ..timeutil import as_cst
from .engine import IndexProblem
from .extract import extract_attachment

#: field kinds whose values are words worth searching
TEXT_KINDS = {"text", "textarea", "user", "phone"}
_acl = ACLHelper()


def allowed_principals(item: Any) -> list[str]:
    """Principals granted ``view`` on the item (its ACL, then inherited ones, as Pyramid reads them)."""
    return sorted(_acl.principals_allowed_by_permission(item, "view"))


def _naive(value: Any) -> datetime | None:
    """whoosh DATETIME wants naive datetimes: CST wall time."""
    if isinstance(value, datetime):
        return as_cst(value).replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _field_texts(obj: Any, typedef: Any, units: Any) -> list[str]:
    parts: list[str] = []
    if typedef is None:
        return parts
    for f in typedef.fields:
        value = getattr(obj, f.name, None)
        if value in (None, "", ()):
            continue
        if f.kind in TEXT_KINDS and isinstance(value, str):
            parts.append(value)
        elif f.kind == "choice":
            titles = {c.value: c.title for c in f.choices}
            parts.append(titles.get(value, str(value)))
        elif f.kind == "unit":
            parts.append(_unit_title(units, value))
        elif f.kind == "units":
            parts.extend(_unit_title(units, u) for u in value)
    return parts


def _unit_title(units: Any, uid: str) -> str:
    unit = units.get(uid) if units is not None else None
    return getattr(unit, "title", uid) if unit is not None else uid


def _state(registry: Any, item: Any):
    wf = registry.duban_workflows.get(getattr(item, "workflow", ""))
    return wf.states.get(item.state) if wf is not None else None


def build_document(item: Any, registry: Any, cache_dir: str | None = None) -> dict[str, Any]:
    """The whoosh document for ``item`` (plain values; the analyzer normalises text)."""
    from ..content_types.site import find_site

    site = find_site(item)
    units = site.get("units")
    types = registry.duban_types
    typedef = types.get(item.type_name) if hasattr(types, "get") else None
    if typedef is None:
        try:
            typedef = types[item.type_name]
        except KeyError:
            typedef = None
    body = [item.number] + [p for p in _field_texts(item, typedef, units)
                            if p != getattr(item, "title", "")]
    for extra in ("archival_code", "grade"):
        if getattr(item, extra, None):
            body.append(str(getattr(item, extra)))
    for rec in item.feedback.values():
        body.extend(_field_texts(rec, _type(types, rec.type_name), units))
    for rec in item.instructions.values():
        body.extend(_field_texts(rec, _type(types, rec.type_name), units))
    for entry in item.history:
        if entry.get("comment"):
            body.append(entry["comment"])
    files: list[str] = []
    unextracted: list[str] = []
    limits = ContainerLimits.from_settings(getattr(registry, "settings", None))  # duban.max_extract_bytes …
    for name, att in item.attachments.items():
        files.append(att.title if att.title == att.filename else f"{att.title} {att.filename}")
        got = extract_attachment(att, cache_dir, limits)
        if got.text.strip():
            files.append(got.text)
        if not got.ok:
            unextracted.append(name)
    state = _state(registry, item)
    registered = getattr(item, "registered_on", None)
    doc: dict[str, Any] = {
        "id": item.item_id,
        "number": item.number,
        "title": getattr(item, "title", "") or "",
        "body": "\n".join(body),
        "files": "\n".join(files),
        "board": item.board_id,
        "type": item.type_name,
        "state": item.state or "",
        "final": bool(state.final) if state is not None else False,
        "lead_unit": getattr(item, "lead_unit", "") or "",
        "units": ",".join(item.units),
        "grade": str(getattr(item, "grade", "") or ""),
        "archival_code": str(getattr(item, "archival_code", "") or ""),
        "retention": str(getattr(item, "retention", "") or ""),
        "allowed": ",".join(allowed_principals(item)),
        "unextracted": ",".join(unextracted),
    }
    if registered:
        doc["year"] = registered.year
    for name, value in (("registered_on", registered), ("deadline", getattr(item, "deadline", None)),
                        ("modified", getattr(item, "modified", None)),
                        ("next_due", getattr(item, "next_due", None))):
        naive = _naive(value)
        if naive is not None:
            doc[name] = naive
    doc = {k: v for k, v in doc.items() if v != ""}
    check_document(doc)
    return doc



#: document fields as people know them, for :class:`IndexProblem` messages
_FIELD_TITLES = {"title": "标题", "body": "正文或办理记录", "files": "附件", "number": "编号"}


def check_document(doc: dict[str, Any]) -> None:
    """Refuse a document the writer would fail on half-way (e.g. a lone surrogate in stored text).

    Found here, before the writer sees it, such an item is skipped cleanly; found by the
    analyser, it would leave a half-added document behind.
    """
    from ..validation import _describe

    for name, value in doc.items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            title = _FIELD_TITLES.get(name, name)
            raise IndexProblem(f"{title}{_describe(value[exc.start])}") from None


def problem_reason(exc: BaseException) -> str:
    """Why, in one line: an :class:`IndexProblem`'s own words, else the exception's type and text."""
    return str(exc) if isinstance(exc, IndexProblem) else f"{type(exc).__name__}: {exc}"


def problem_text(exc: BaseException, limit: int = 200) -> str:
    """A short Chinese line saying why an item could not be indexed (kept on the item, printed)."""
    text = f"无法建立全文索引：{problem_reason(exc)}"
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")  # never store a bad character
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type(types: Any, name: str):
    try:
        return types[name]
    except KeyError:
        return None
