"""Printable 催办单 / 督办单 for one item (seed 003 “下发督办单（函）”; seed 001 《催办通知》)."""

from __future__ import annotations

from typing import Any

from ..timeutil import as_cst, now

KINDS = {"remind": "催办单", "escalate": "督办单"}


def notice_html(site, registry, item, kind: str) -> tuple[str, str]:
    from ..archive.render import render_template
    from ..notifications.outbox import get_outbox

    units = site["units"]
    wf = registry.duban_workflows.get(item.workflow)
    level = int(getattr(item, "escalation_level", 0) or 0)
    esc = next((e for e in reversed(list(item.history)) if e.get("transition") == "escalate"), None)
    reminders = [f"{as_cst(m.created):%Y-%m-%d %H:%M} {m.subject}"
                 for m in get_outbox(site).for_item(item.item_id)
                 if m.channel == "inbox" and m.kind in ("reminder", "overdue", "monthly", "escalation")]
    seen: list[str] = []
    for r in reminders:
        if r not in seen:
            seen.append(r)
    title = KINDS[kind]
    ns: dict[str, Any] = {
        "title": title, "item": item, "org": "督查室", "getattr": getattr,
        "doc_no": f"{title[:2]}〔{now().year}〕{item.number}",
        "lead_unit": units.title_of(getattr(item, "lead_unit", None)),
        "assist_units": "、".join(units.title_of(u) for u in (getattr(item, "assist_units", ()) or ())),
        "deadline": str(getattr(item, "deadline", "") or "—"),
        "state_title": wf.states[item.state].title if wf and item.state in wf.states else item.state,
        "level_title": esc["title"] if esc else ("—" if not level else f"{level} 级"),
        "reason_title": "督办事由" if kind == "escalate" else "催办事由",
        "reason": (esc or {}).get("comment") or "未按规定时限办理反馈，请抓紧落实。",
        "reminders": seen[-10:], "reply_days": 3 if kind == "escalate" else 5,
        "issued": now().strftime("%Y年%m月%d日"),
    }
    return render_template("duban_archive.reports:templates/notice.pt", **ns), f"{title} {item.number}"


def notice_pdf(site, registry, item, kind: str) -> bytes:
    from .bulletin import render_pdf_html

    html, title = notice_html(site, registry, item, kind)
    return render_pdf_html(html, title)
