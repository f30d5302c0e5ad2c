"""The dossier (案卷): an item's whole record as one PDF/A-3 document.

This module only gathers plain data from the item and turns it into a
:class:`~.job.RenderJob`; the Chameleon template escapes every value and
:mod:`.render` lays it out in a sandboxed worker, as one document, so the
file embeds one subset of each font.  The signed PDF reports' own pages
stand in the layout as empty placeholder pages before the 备考表 (so they
count in the 卷内目录, the page numbers and the 归档章's 页数) and are
swapped for the real pages after layout; the originals are also embedded
byte-identical as PDF/A-3 associated files, so their signatures stay
verifiable.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..timeutil import display
from .job import Embedded, RenderFailed, RenderJob, asset_url
from .render import base_css, package_css, render_job, render_template
from .rules import RETENTIONS

#: seed 000 评价表: the seven evaluated stages (key, group, label)
STAGES = (
    ("receive", "(一) 交办事项接收", "接收任务"),
    ("deploy", "(一) 交办事项接收", "研究部署"),
    ("verify", "(二) 任务核实办理", "开展实地核查"),
    ("measures", "(二) 任务核实办理", "完善工作举措"),
    ("follow_up", "(二) 任务核实办理", "组织跟进落实"),
    ("report", "(三) 申请办结销号", "反馈报告"),
    ("closure", "(三) 申请办结销号", "申请办结"),
)
GRADES = {"A": "A（优秀）", "B": "B（良好）", "C": "C（合格）", "D": "D（不合格）"}
TEMPLATE = "duban_archive.archive:templates/dossier.pt"


@dataclass
class Filing:
    """What the dossier shows of filing; blank before the item is filed."""

    archival_code: str = ""
    fonds: str = ""
    year: int | str = ""
    retention: str = ""
    piece: int | str = ""
    unit_code: str = ""
    filed_by: str = ""
    filed_on: str = ""
    notes: list[str] = field(default_factory=list)


def fmt(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return "、".join(fmt(v) for v in (sorted(value) if isinstance(value, set | frozenset) else value))
    if isinstance(value, dict):
        return "；".join(f"{k}：{fmt(v)}" for k, v in value.items() if v not in (None, "", [], ()))
    if isinstance(value, bool):
        return "是" if value else "否"
    return display(value)


def closed_on(item) -> datetime | None:
    for entry in reversed(list(item.history)):
        if entry.get("to") == "closed":
            return entry.get("time")
    return None


class Names:
    """Titles of users, units and states, looked up once per dossier."""

    def __init__(self, site, item, registry) -> None:
        self.site, self.registry = site, registry
        self.users = site.get("users")
        self.units = site.get("units")
        self.workflow = registry.duban_workflows.get(item.workflow) if item.workflow else None

    def user(self, name: str | None) -> str:
        user = self.users.get(name) if (self.users is not None and name) else None
        return f"{user.title}（{name}）" if user is not None else (name or "")

    def unit(self, unit_id: str | None) -> str:
        return self.units.title_of(unit_id) if self.units is not None else (unit_id or "")

    def fields(self, transition: str | None, values: dict[str, Any]) -> str:
        """A history entry's transition fields with their titles (and choice titles)."""
        tr = self.workflow.transitions.get(transition or "") if self.workflow else None
        defs = {f.name: f for f in (tr.fields if tr is not None else ())}
        parts = []
        for key, value in (values or {}).items():
            if value in (None, "", [], ()):
                continue
            fdef = defs.get(key)
            if fdef is not None and fdef.choices:
                value = {c.value: c.title for c in fdef.choices}.get(value, value)
            parts.append(f"{fdef.title if fdef is not None else key}：{fmt(value)}")
        return "；".join(parts)

    def state(self, name: str | None) -> str:
        if not name:
            return ""
        st = self.workflow.states.get(name) if self.workflow else None
        return st.title if st is not None else name


def field_rows(item, registry, names: Names) -> list[tuple[str, str]]:
    typedef = registry.duban_types[item.type_name]
    rows = [("事项编号", item.number)]
    for f in typedef.fields:
        value = getattr(item, f.name, None)
        if f.name in ("lead_unit",):
            text = names.unit(value)
        elif f.name == "assist_units":
            text = "、".join(names.unit(u) for u in (value or ()))
        elif f.choices:
            titles = {c.value: c.title for c in f.choices}
            if isinstance(value, tuple):
                text = "、".join(str(titles.get(v, v)) for v in value)
            else:
                text = titles.get(value, fmt(value))
        else:
            text = fmt(value)
        rows.append((f.title, text))
    return rows


def stage_rows(stage_grades: Any) -> list[dict[str, str]]:
    """Seed 000's per-stage table from whatever shape the grading code stores."""
    if not stage_grades:
        return []
    if isinstance(stage_grades, dict):
        rows = []
        for key, group, label in STAGES:
            value = stage_grades.get(key, stage_grades.get(label))
            if isinstance(value, dict):
                grade, note = value.get("grade", ""), value.get("note", "") or value.get("comment", "")
            else:
                grade, note = value or "", ""
            rows.append({"group": group, "stage": label, "grade": GRADES.get(str(grade), fmt(grade)),
                         "note": fmt(note)})
        known = {k for k, _, _ in STAGES} | {label for _, _, label in STAGES}
        for key, value in stage_grades.items():
            if key not in known:
                grade = value.get("grade", "") if isinstance(value, dict) else value
                rows.append({"group": "", "stage": str(key), "grade": GRADES.get(str(grade), fmt(grade)), "note": ""})
        return rows
    rows = []
    for value in stage_grades:
        if isinstance(value, dict):
            grade = value.get("grade", "")
            stage = value.get("title") or value.get("stage") or value.get("name") or ""
            label = dict((k, lbl) for k, _, lbl in STAGES).get(stage, stage)
            rows.append({"group": value.get("group", ""), "stage": fmt(label),
                         "grade": GRADES.get(str(grade), fmt(grade)), "note": fmt(value.get("note", ""))})
        else:
            rows.append({"group": "", "stage": fmt(value), "grade": "", "note": ""})
    return rows


def pdf_page_count(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def build_job(site, item, registry, filing: Filing | None = None) -> RenderJob:
    """Everything the dossier shows, as a render job (no database writes)."""
    filing = filing or Filing()
    names = Names(site, item, registry)
    assets: dict[str, tuple[bytes, str]] = {}
    downscale: set[str] = set()
    asset_names: dict[str, str] = {}
    pdf_pages: dict[str, tuple[bytes, int]] = {}
    embedded: list[Embedded] = []
    photos: list[dict[str, Any]] = []
    signed: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for att in item.attachments.values():
        info: dict[str, Any] = {"name": att.__name__, "title": att.title, "filename": att.filename, "size": att.size,
                "sha256": att.sha256, "sm3": att.sm3, "kind": att.kind, "uploader": names.user(att.uploader),
                "created": fmt(att.created)}
        if att.mimetype.startswith("image/") and att.kind in ("photo", "signed_report"):
            with att.open() as f:
                data = f.read()
            url = asset_url(f"img-{att.__name__}")
            assets[url] = (data, att.mimetype)
            asset_names[url] = att.filename
            downscale.add(url)
            info["url"] = url
            (photos if att.kind == "photo" else signed).append(info)
        elif att.kind == "signed_report" and att.mimetype == "application/pdf":
            with att.open() as f:
                data = f.read()
            try:
                count = pdf_page_count(data)
            except Exception as exc:  # noqa: BLE001 - pikepdf raises several kinds
                raise RenderFailed(f"盖章扫描件“{att.filename}”无法解析为 PDF：{exc}") from exc
            ids = [f"pdf-{att.__name__}-{i}" for i in range(count)]
            pdf_pages.update({anchor: (data, i) for i, anchor in enumerate(ids)})  # placeholder pages
            info["pages"] = ids
            info["page_count"] = count
            signed.append(info)
            embedded.append(Embedded(filename=att.filename, data=data, relationship="Source",
                                     description=f"盖章扫描件原件（SHA-256 {att.sha256}）"))
        else:
            others.append(info)
    closed = closed_on(item)
    history = [{
        "time": fmt(e.get("time")), "actor": names.user(e.get("actor")), "title": e.get("title") or e.get("transition"),
        "from": names.state(e.get("from")), "to": names.state(e.get("to")), "comment": e.get("comment") or "",
        "fields": names.fields(e.get("transition"), e.get("fields") or {}),
    } for e in item.history]
    feedback = [{
        "name": r.__name__, "created": fmt(getattr(r, "created", None)),
        "creator": names.user(getattr(r, "author", "")),
        "done": fmt(getattr(r, "done", "")), "progress": fmt(getattr(r, "progress", "")),
        "next_steps": fmt(getattr(r, "next_steps", "")), "signed_by": fmt(getattr(r, "signed_by", "")),
        "sealed": fmt(getattr(r, "sealed", None)),
    } for r in item.feedback.values()]
    instructions = [{
        "created": fmt(getattr(r, "created", None)),
        "leader": fmt(getattr(r, "leader", "")) or names.user(getattr(r, "author", "")),
        "text": fmt(getattr(r, "text", "")),
    } for r in item.instructions.values()]
    grade = getattr(item, "grade", None)
    retention_title = RETENTIONS.get(filing.retention, "")
    classification = getattr(item, "classification", None) or "public"
    cls_title = {"public": "公开", "internal": "内部"}.get(classification, classification)
    toc = [{"anchor": anchor, "title": title} for anchor, title in (
        ("record", "一、督办事项登记"), ("history", "二、办理过程"), ("instructions", "三、领导批示"),
        ("feedback", "四、反馈报告"), ("evaluation", "五、办理评价"), ("attachments", "六、附件"))]
    toc += [{"anchor": s["pages"][0], "title": f"　盖章扫描件：{s['title']}"} for s in signed if s.get("pages")]
    toc.append({"anchor": "remarks", "title": "备考表"})
    d = {
        "title": item.title, "number": item.number, "archival_code": filing.archival_code,
        "board": getattr(site.boards.get(item.board_id), "title", item.board_id),
        "registered_on": fmt(getattr(item, "registered_on", None)),
        "closed_on": fmt(closed.date() if closed else None),
        "lead_unit": names.unit(getattr(item, "lead_unit", None)),
        "assist_units": "、".join(names.unit(u) for u in (getattr(item, "assist_units", ()) or ())),
        "retention": f"{retention_title}（{filing.retention}）" if retention_title else "",
        "classification": cls_title, "state": names.state(item.state),
        "stamp": {"fonds": filing.fonds, "year": filing.year, "retention": filing.retention,
                  "piece": filing.piece, "org": filing.unit_code},
        "fields": field_rows(item, registry, names), "history": history, "instructions": instructions,
        "feedback": feedback, "grade": GRADES.get(str(grade), fmt(grade)) if grade else "",
        "stages": stage_rows(getattr(item, "stage_grades", None)),
        "photos": photos, "signed": signed, "others": others, "toc": toc,
        "remarks": {"notes": list(filing.notes), "filed_by": names.user(filing.filed_by) if filing.filed_by else "",
                    "filed_on": filing.filed_on},
    }
    return RenderJob(html=render_template(TEMPLATE, d=d), title=item.title, assets=assets,
                     stylesheets=[base_css(), dossier_css()], embedded=embedded, pdf_pages=pdf_pages,
                     downscale=downscale, asset_names=asset_names)


def dossier_css() -> str:
    return package_css("dossier.css")


def render_dossier(site, item, registry, filing: Filing | None = None, *, timeout: float = 120.0) -> bytes:
    """The dossier PDF bytes; raises :class:`~.job.RenderFailed` with the reason."""
    return render_job(build_job(site, item, registry, filing), timeout=timeout)
