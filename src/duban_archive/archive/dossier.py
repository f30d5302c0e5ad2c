"""The dossier (案卷): an item's whole record as one PDF/A-3 document.

This module only gathers plain data from the item and turns it into a
:class:`~.render.RenderJob`; the Chameleon template escapes every value and
:mod:`.render` lays it out in sandboxed workers.  The signed PDF reports'
own pages are put in before the 备考表 after layout (they count in the
卷内目录 and the 归档章's 页数); the originals are also embedded
byte-identical as PDF/A-3 associated files, so their signatures stay
verifiable.

Two cores, two parts: the sections are cut into as many HTML documents as
the machine has cores to lay them out at once (:func:`plan_parts`).  A cut
falls on a section boundary, where the dossier breaks the page anyway; a
section too long for one part (many feedback reports, a long history, many
photos) is cut between two of its entries, which then start a new page.
The page numbers, the 卷内目录's numbers and the 页数 are written by the
renderer once every part's pages are known.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..timeutil import display
from .render import Embedded, Folio, Inserted, RenderJob, asset_url, base_css, package_css, render_job, render_template
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
                text = "、".join(titles.get(v, v) for v in value)
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


def build_job(site, item, registry, filing: Filing | None = None, *, parts: int | None = None) -> RenderJob:
    """Everything the dossier shows, as a render job (no database writes).

    ``parts``: how many documents to lay out in parallel at most (default: one per core).
    """
    filing = filing or Filing()
    names = Names(site, item, registry)
    assets: dict[str, tuple[bytes, str]] = {}
    downscale: set[str] = set()
    inserts: list[Inserted] = []
    embedded: list[Embedded] = []
    photos, signed, others = [], [], []
    for att in item.attachments.values():
        info = {"name": att.__name__, "title": att.title, "filename": att.filename, "size": att.size,
                "sha256": att.sha256, "sm3": att.sm3, "kind": att.kind, "uploader": names.user(att.uploader),
                "created": fmt(att.created)}
        if att.mimetype.startswith("image/") and att.kind in ("photo", "signed_report"):
            with att.open() as f:
                data = f.read()
            url = asset_url(f"img-{att.__name__}")
            assets[url] = (data, att.mimetype)
            downscale.add(url)
            info["url"] = url
            (photos if att.kind == "photo" else signed).append(info)
        elif att.kind == "signed_report" and att.mimetype == "application/pdf":
            with att.open() as f:
                data = f.read()
            try:
                count = pdf_page_count(data)
            except Exception as exc:  # noqa: BLE001 - pikepdf raises several kinds
                from .render import RenderFailed

                raise RenderFailed(f"盖章扫描件“{att.filename}”无法解析为 PDF：{exc}") from exc
            ids = [f"pdf-{att.__name__}-{i}" for i in range(count)]
            inserts.append(Inserted(data=data, pages=list(enumerate(ids)), before="remarks"))
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
    inserted_pages = sum(len(ins.pages) for ins in inserts)
    htmls = [render_template(TEMPLATE, d=d, blocks=blocks)
             for blocks in plan_parts(d, parts or workers(), inserted_pages=inserted_pages)]
    return RenderJob(html=htmls[0], parts=htmls[1:], title=item.title, assets=assets,
                     stylesheets=[base_css(), dossier_css()], embedded=embedded, inserts=inserts,
                     downscale=downscale, folio=Folio())


def workers() -> int:
    """Cores this process may use: the number of parts a dossier is laid out in (at most 4)."""
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, min(4, os.cpu_count() or 1))


# Estimated CPU milliseconds of laying out and writing each piece in a worker, fitted on the bench
# fixtures (bench/bench_dossier.py): enough to balance the parts, not a promise.
COST_PART = 120.0  # each part: a forked worker, styles, two font subsets, PDF writing
COST_MERGE_PAGE = 1.5  # the first part's worker also assembles: per page of the dossier
COST_PAGE = 10.0  # per page
COST_LINE = 1.6  # per line of text (shaped for layout, then again for drawing)
COST_ROW = 2.0  # per table row or timeline entry
COST_PHOTO = 25.0  # decode, downscale, place and write a photo (on a page of its own, about)
COST_FIXED = {"cover": 70.0, "toc": 20.0, "remarks": 13.0}
COST_CUT = 20.0  # a cut inside a section: a page half empty, and a dossier that reads less well
LINE_CHARS = 35  # CJK characters on a line of the text block at 12 pt
PAGE_LINES = 26


def _lines(*texts: str) -> int:
    """Lines a text takes (``white-space: pre-line``: every line break starts one)."""
    return sum(max(1, -(-len(line) // LINE_CHARS)) for text in texts for line in (text or "").split("\n"))


@dataclass
class _Piece:
    kind: str
    start: int  # entries [start, stop) of a long section (history, feedback, photos); 0, 1 for a section
    stop: int
    cost: float
    pages: float
    starts_section: bool


#: a long section is cut into at most this many pieces (the planner is quadratic in pieces)
MAX_PIECES = 40


def _pieces(d: dict[str, Any]) -> list[_Piece]:
    """The dossier in order, as sections and runs of entries of long sections, each with an estimated cost."""

    def section(kind: str, lines: int = 0, rows: int = 0) -> _Piece:
        pages = max(1.0, lines / PAGE_LINES)
        return _Piece(kind, 0, 1, COST_FIXED.get(kind, 0.0) + COST_LINE * lines + COST_ROW * rows + COST_PAGE * pages,
                      pages, True)

    def runs(kind: str, entries: list[Any], lines: Callable[[Any], int], rows: int = 1,
             extra: float = 0.0) -> list[_Piece]:
        if not entries:
            return [section(kind)]
        step = -(-len(entries) // MAX_PIECES)
        out = []
        for a in range(0, len(entries), step):
            chunk = entries[a:a + step]
            n = sum(map(lines, chunk))
            pages = n / PAGE_LINES + (1.0 if extra else 0.0) * len(chunk)
            out.append(_Piece(kind, a, a + len(chunk), COST_LINE * n + (COST_ROW * rows + extra) * len(chunk)
                              + COST_PAGE * pages, pages, a == 0))
        return out

    pieces = [
        section("cover"),
        section("toc", rows=len(d["toc"])),
        section("record", _lines(*(v for _, v in d["fields"])), len(d["fields"])),
        *runs("history", d["history"], lambda h: 1 + _lines(h["comment"], h["fields"]), rows=2),
        section("instructions", _lines(*(i["text"] for i in d["instructions"])), len(d["instructions"])),
        *runs("feedback", d["feedback"], lambda f: 2 + _lines(f["done"], f["progress"], f["next_steps"]), rows=3),
        section("evaluation", rows=len(d["stages"])),
        *runs("attachments", d["photos"], lambda p: 1, rows=0, extra=COST_PHOTO),
        section("remarks"),
    ]
    last = max(n for n, p in enumerate(pieces) if p.kind == "attachments")  # the tables after the photos
    pieces[last].cost += COST_ROW * (len(d["signed"]) + len(d["others"]))
    pieces[last].cost += (COST_PHOTO + COST_PAGE) * sum(1 for s in d["signed"] if s.get("url"))
    return pieces


def plan_parts(d: dict[str, Any], parts: int, *, inserted_pages: int = 0) -> list[list[dict[str, Any]]]:
    """The dossier cut into at most ``parts`` documents of about equal cost; each a list of blocks.

    The first part's worker also assembles the PDF, so it gets less to lay out.  Cuts fall between
    sections, or — only when that balances the parts much better — between two entries of a long
    section.  One part when the whole is small: a part costs a worker, styles and font subsets.
    """
    pieces = _pieces(d)
    costs = [p.cost for p in pieces]
    merge = COST_MERGE_PAGE * (sum(p.pages for p in pieces) + inserted_pages)
    prefix = [0.0]
    for c in costs:
        prefix.append(prefix[-1] + c)

    def span(i: int, j: int) -> float:  # cost of pieces[i:j] as one part
        return prefix[j] - prefix[i] + COST_PART

    def cut_penalty(j: int) -> float:
        return 0.0 if pieces[j].starts_section else COST_CUT

    n = len(pieces)
    best_plan: list[int] = []
    best = span(0, n) + merge
    # table[g][j]: the least possible cost of the dearest part when pieces[:j] make g parts (start[g][j]:
    # where the last of them starts); a plan of k parts is kept if it beats every plan of fewer
    for k in range(2, max(1, parts) + 1):
        table = [[float("inf")] * (n + 1) for _ in range(k + 1)]
        start = [[0] * (n + 1) for _ in range(k + 1)]
        for j in range(1, n + 1):
            table[1][j] = span(0, j) + merge
        for g in range(2, k + 1):
            for j in range(g, n + 1):
                for i in range(g - 1, j):
                    value = max(table[g - 1][i], span(i, j)) + cut_penalty(i)
                    if value < table[g][j]:
                        table[g][j], start[g][j] = value, i
        if table[k][n] < best:
            best, cuts, j = table[k][n], [], n
            for g in range(k, 1, -1):
                j = start[g][j]
                cuts.append(j)
            best_plan = sorted(cuts)
    bounds = [0, *best_plan, n]
    return [_blocks(pieces[a:b], d) for a, b in zip(bounds, bounds[1:], strict=False)]


def _blocks(pieces: list[_Piece], d: dict[str, Any]) -> list[dict[str, Any]]:
    """Consecutive pieces of one section make one block: ``{kind, start, stop, first, last}``."""
    sizes = {"history": len(d["history"]), "feedback": len(d["feedback"]), "attachments": len(d["photos"])}
    blocks: list[dict[str, Any]] = []
    for p in pieces:
        if blocks and blocks[-1]["kind"] == p.kind:
            blocks[-1]["stop"] = p.stop
        else:
            blocks.append({"kind": p.kind, "start": p.start, "stop": p.stop, "first": p.start == 0})
    for b in blocks:
        b["last"] = b["stop"] >= sizes.get(b["kind"], 0)
    return blocks


def dossier_css() -> str:
    return package_css("dossier.css")


def render_dossier(site, item, registry, filing: Filing | None = None, *, timeout: float = 120.0,
                   parts: int | None = None) -> bytes:
    """The dossier PDF bytes; raises :class:`~.render.RenderFailed` with the reason."""
    return render_job(build_job(site, item, registry, filing, parts=parts), timeout=timeout)
