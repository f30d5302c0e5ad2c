"""四性检测 as the item page and the API show it (wired by the UI: :func:`checks_panel`, :func:`item_checks`).

Filed items show the report sealed into the current package version; items
not filed yet show what was checked of their originals at capture
(:mod:`.originals`), and the virus scan as 「未检测」 until filing runs it.
A check that did not run reads 「未检测」 and the conclusion is then never
「通过」.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..timeutil import isoformat
from .check_texts import Translate, localize
from .checks import INCOMPLETE, SECTIONS, STATUS, conclusion_of, scanner_command, summarize
from .rules import get_rules

TEMPLATE = "duban_archive.archive:templates/checks_panel.pt"


def _section_list(sections: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for key, title in SECTIONS.items():
        checks = [{"id": c.get("id", ""), "name": c.get("name", ""), "status": STATUS[c.get("passed")],
                   "passed": c.get("passed"), "detail": c.get("detail", "")} for c in sections.get(key, [])]
        out.append({"key": key, "title": title, "checks": checks})
    return out


def item_checks(site, item, registry) -> dict[str, Any]:
    """The item's 四性检测 as plain JSON-able data (the API's item JSON carries it as ``checks``).

    ``stage``: ``filing`` (the report of the current package version) or ``capture`` (the
    originals' checks recorded when they were uploaded; the package checks run at filing).
    """
    root = site.get("archive")
    rec = root.get(item.item_id) if root is not None else None
    version = rec.current if rec is not None else None
    if version is not None:
        summary = version.checks or {}
        sections = summary.get("sections") or {}
        return {"stage": "filing", "version": version.version, "checked_at": isoformat(version.created),
                "conclusion": conclusion_of(summary), "passed": conclusion_of(summary) == "通过",
                "unchecked": _count(sections, None), "failed": _count(sections, False),
                "sections": _section_list(sections)}
    report: dict[str, list[dict[str, Any]]] = {key: [] for key in SECTIONS}
    for att in item.attachments.values():
        found = getattr(att, "original_checks", None)
        if found is None:
            report["usability"].append({"id": "usability.original", "name": f"原件可完整读取：{att.filename}",
                                        "passed": None, "detail": "待检测：上传后在后台检测，尚未完成"})
            continue
        for key in ("authenticity", "usability"):
            at = found.get("at", "")
            report[key] += [{**c, "detail": f"{c['detail']}（采集时 {at}）"} for c in found.get(key, [])]
    configured = scanner_command(getattr(registry, "settings", None)) is not None
    report["security"].append({"id": "security.virus", "name": "病毒检测", "passed": None, "configured": configured,
                               "detail": "未检测：归档封包时扫描" if configured
                               else "未检测：未配置病毒扫描程序（duban.virus_scanner），本机也未安装 ClamAV"})
    summary = summarize(report, get_rules(registry).unchecked)
    return {"stage": "capture", "version": None, "checked_at": None, "conclusion": summary["conclusion"],
            "passed": False, "unchecked": _count(report, None), "failed": _count(report, False),
            "sections": _section_list(report)}


def _count(sections: dict[str, list[dict[str, Any]]], passed: bool | None) -> int:
    return sum(1 for cs in sections.values() for c in cs if c.get("passed") is passed)


def checks_panel(request, item) -> str | None:
    """The item page's 四性检测 panel (HTML, every value escaped); for ``add_item_panel``.

    In the reader's language: the panel's own words through ``t``, the report's stored
    sentences through :func:`.check_texts.localize` (Chinese readers see them as stored).
    """
    from ..content_types.site import find_site
    from .render import render_template

    data = item_checks(find_site(item), item, request.registry)
    localizer = getattr(request, "localizer", None)  # a bare request (scripts, tests) reads Chinese
    tr = _translator(localizer)
    if localizer is not None and not str(getattr(localizer, "locale_name", "zh")).startswith("zh"):
        data = _localized(data, tr)

    def t(msgid: str, **mapping: Any) -> str:
        return tr(msgid, mapping)

    return render_template(TEMPLATE, c=data, incomplete=INCOMPLETE, t=t)


def _translator(localizer) -> Translate:
    """``(msgid, mapping) -> text`` with a localizer (domain ``duban_archive``, ``{name}`` placeholders)."""
    from pyramid.i18n import TranslationString

    def tr(msgid: str, mapping: Mapping[str, Any]) -> str:
        text = msgid if localizer is None else localizer.translate(TranslationString(msgid, domain="duban_archive"))
        return text.format_map(mapping) if mapping else text

    return tr


def _localized(data: dict[str, Any], tr: Translate) -> dict[str, Any]:
    """A copy of :func:`item_checks`'s data for the page with names and details in ``tr``'s language."""
    sections = [{**s, "checks": [{**c, "name": localize(c["name"], tr), "detail": localize(c["detail"], tr)}
                                 for c in s["checks"]]} for s in data["sections"]]
    return {**data, "sections": sections}
