"""The item's conversation as a timeline: every hand-off with who, when, why.

退单、退回、不同意办结、延期、转办 carry a reason (a transition field); the
supervisor must see why a unit declined and the handler what to fix, on the
item page, not only in the dossier.  Built from ``item.history`` (the
workflow's own record) and the transition definitions' field titles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..audit.describe import Translate, describe, plain, system_comment, zh
from .display import field_text, fmt_date, masked_entry, unit_title, workflow_state_title
from .layout import translate

#: transitions that send work back or refuse it (besides every ``reject_*``): shown in warning colours
PUSH_BACK = {"decline", "return", "redo"}


def _reason(label: str) -> bool:
    return "理由" in label or "原因" in label


def timeline(request, site, item) -> list[dict[str, Any]]:
    """Newest first: ``time, actor, unit, title, moved, comment, details[(label, text)], push_back``."""
    wf = request.registry.duban_workflows.get(getattr(item, "workflow", ""))
    out = []
    for h in item.history:
        transition = wf.transitions.get(h.get("transition", "")) if wf is not None else None
        fdefs = {f.name: f for f in (transition.fields if transition is not None else ())}
        details, reasons = [], []
        for name, value in (h.get("fields") or {}).items():
            if value in (None, "", (), []):
                continue
            fdef = fdefs.get(name)
            if fdef is None:  # a field the definition no longer has: its stored value as it is
                details.append((name, plain(value, _tr(request))))
            else:
                details.append((translate(request, fdef.title), field_text(request, site, fdef, value)))
                if _reason(fdef.title):  # the Chinese title says so, whatever the reader's language
                    reasons.append(details[-1])
        actor = h.get("actor") or ""
        user = site["users"].get(actor) if actor else None
        out.append({
            "time": fmt_date(h.get("time")), "actor": user.title if user is not None else actor,
            "unit": unit_title(site, user.unit) if user is not None and user.unit else "",
            "title": translate(request, h.get("title") or ""),
            "moved": _moved(request, wf, h.get("from"), h.get("to")),
            "comment": system_comment(h.get("comment") or "", _tr(request)), "details": details,
            "push_back": h.get("transition") in PUSH_BACK or str(h.get("transition")).startswith("reject_"),
            "reasons": reasons,
            "transition": h.get("transition") or "",
        })
    out.reverse()
    return out


def latest_reason(entries: list[dict[str, Any]], item) -> dict[str, Any] | None:
    """The reasoned step that put the item where it is now (shown above the tabs), if any.

    退回 tells the handler what to fix, 退单 tells the supervisor why, 申请延期 tells the leader.
    """
    history = item.history
    if not len(history) or not entries or history[-1].get("to") != item.state:
        return None
    return entries[0] if entries[0]["reasons"] else None


def _moved(request, wf, old: str | None, new: str | None) -> str:
    if wf is None or not new or old == new:
        return ""
    moved = workflow_state_title(request, wf, new)
    return f"{workflow_state_title(request, wf, old)} → {moved}" if old else moved


def _tr(request) -> Translate:
    """``describe``'s translation hook in the request's language (the msgids are the Chinese words)."""
    return lambda msgid, mapping: translate(request, msgid, dict(mapping))


def sentence_translator(request, localize: bool = True) -> Translate:
    """How audit sentences are worded: the request's language on pages; Chinese (``zh``) for the API."""
    return _tr(request) if localize else zh


def describer(request, item, localize: bool = True) -> Callable[[dict[str, Any]], str]:
    """``entry -> 一句话`` for this item's audit entries (its fields' and states' titles).

    Pages show the sentence in the reader's language; the JSON API (``localize=False``) keeps
    the Chinese sentence it documents.
    """
    typedef = request.registry.duban_types.get(getattr(item, "type_name", ""))
    titles = {f.name: translate(request, f.title) for f in (typedef.fields if typedef is not None else ())}
    wf = request.registry.duban_workflows.get(getattr(item, "workflow", ""))
    tr = sentence_translator(request, localize)

    def one(entry: dict[str, Any]) -> str:
        entry = masked_entry(request, item, entry)  # 来电号码 changed: masked for whoever may not see it
        return describe(entry, field_title=lambda n: titles.get(n, n),
                        state_title=lambda n: workflow_state_title(request, wf, n), tr=tr)

    return one
