"""立卷归档: the 待归档 queue, filing, corrections, legal hold and when disposal may happen.

The order inside :func:`file_item` is deliberate: the 件号 is drawn, the
dossier rendered and the package bagged and checked *before* anything on the
item changes; only when every check passed does the ``file`` transition fire
and the item freeze.  Any refusal raises :class:`FilingRefused` and the
caller aborts the transaction.

The 件号 is drawn by :func:`reserve_piece` in a short transaction of its own
(a connection of the same database with its own transaction manager, retried
on conflicts), not in the filing transaction: that one renders the dossier
for most of a second, and a counter held that long made concurrent filings
conflict and re-render.  The draw is recorded as a reservation (item id ->
series, 件号), so a retried request, or a later attempt after a failure, gets
the same number again; a refusal hands the number back when it is still the
last one drawn (:func:`release_piece`).  N items filed at once get exactly
the N next numbers.  The filing transaction never writes what the draw
writes, and the number is passed to it as a value (its snapshot may predate
the draw).  Uniqueness does not rest on the reservations alone: a 档号
already in ``by_code`` is never handed out, and two filings inserting the
same 档号 conflict.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import colander
from BTrees.OOBTree import OOBTree
from ZODB.POSException import ConflictError

from ..audit.log import record
from ..timeutil import isoformat, now, today
from ..txn import in_own_transaction
from ..validation import ValidationFailed, validate
from .dossier import Filing, closed_on, render_dossier
from .metadata import VersionInfo
from .model import ArchiveRecord, PackageVersion, archive_root
from .package import PackageRefused, build_package
from .render import RenderFailed
from .rules import RETENTIONS, get_rules

FILE_TRANSITION = "file"
CLOSED_STATE = "closed"
#: item fields a records officer may correct after filing (著录更正)
CORRECTABLE = ("title", "source", "content", "requirement", "standard", "leader", "responsible", "overseer",
               "contact", "classification")
#: 定期 retentions in years; 永久 (Y) is never destroyed
RETENTION_YEARS = {"D30": 30, "D10": 10}
REASON_MAX = 500
#: attempts of the short 件号 transaction before the conflict goes to the request's own retry
DRAW_ATTEMPTS = 8

log = logging.getLogger(__name__)


class FilingRefused(Exception):
    """Filing or a correction was refused; ``status`` 400/403/404/409, Chinese ``message``."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code  # e.g. "checks_failed": not a conflict to retry


# -- the queue ---------------------------------------------------------------

def pending(site) -> OOBTree:
    """item id -> time it joined the 待归档 queue; on first use, filled from items already closed.

    Filing does not delete its item here (deletions from one bucket by concurrent filings
    conflict); the next 件号 draw prunes the items filed meanwhile, and :func:`queue` skips
    filed items anyway.
    """
    root = archive_root(site)
    q = getattr(root, "pending", None)
    if q is None:
        q = root.pending = OOBTree()
        for item_id, item in site.item_index.items():
            if item.state == CLOSED_STATE and not item.archived:
                q[item_id] = closed_on(item) or now()
    return q


def on_state_changed(event) -> None:
    """Subscriber: an item entering ``closed`` joins the 待归档 queue."""
    item = event.object
    if event.new_state != CLOSED_STATE or getattr(item, "archived", False):
        return
    from ..content_types.site import find_site

    try:
        site = find_site(item)
    except LookupError:
        return
    pending(site)[item.item_id] = now()


def queue(site) -> list[Any]:
    """Items waiting to be filed, oldest closure first."""
    q = pending(site)
    items = []
    for item_id in list(q.keys()):
        item = site.get_item(item_id)
        if item is not None and item.state == CLOSED_STATE and not item.archived:
            items.append(item)
    return sorted(items, key=lambda i: (closed_on(i) or now(), i.item_id))


def default_retention(item, registry) -> str:
    return get_rules(registry).retention_for(item.board_id)


def fonds_code(site, registry) -> str:
    return str(site.settings.get("fonds_code") or get_rules(registry).fonds_code)


def fonds_name(site, registry) -> str:
    """The 立档单位名称 (DA/T 46 来源, the bag's Source-Organization, the EEP's 封装包创建单位).

    The site setting ``fonds_name``, else ini ``duban.fonds_name`` (``duban.source_organization``
    of older configurations), else the site's title.
    """
    settings = registry.settings or {}
    return str(site.settings.get("fonds_name") or settings.get("duban.fonds_name")
               or settings.get("duban.source_organization") or getattr(site, "title", "") or "督查督办")


source_organization = fonds_name


def unit_code_of(site, item) -> str:
    unit = site["units"].get(getattr(item, "lead_unit", None) or "")
    if unit is None:
        raise FilingRefused(409, "主办单位不存在，无法确定档号中的机构代码", {"lead_unit": "主办单位不存在"})
    return unit.code


# -- filing ------------------------------------------------------------------

def _check_fileable(item, registry, principals) -> None:
    if item.archived:
        raise FilingRefused(409, "事项已归档，不能重复归档")
    if item.state != CLOSED_STATE:
        raise FilingRefused(409, "只有已办结的事项才能归档")
    wf = registry.duban_workflows[item.workflow]
    transition = wf.transitions.get(FILE_TRANSITION)
    if transition is None:
        raise FilingRefused(409, f"流程“{wf.title}”没有“立卷归档”流转")
    reason = wf.refusal(item, transition, principals)
    if reason:
        raise FilingRefused(403, reason)


def file_item(site, item, registry, *, retention: str | None, actor: str, principals) -> ArchiveRecord:
    """File ``item``: assign the 档号, seal package version 1, freeze the item."""
    _check_fileable(item, registry, principals)
    retention = retention or default_retention(item, registry)
    if retention not in RETENTIONS:
        raise FilingRefused(400, "保管期限无效", {"retention": "应为 Y（永久）、D30（定期30年）或 D10（定期10年）"})
    rules = get_rules(registry)
    root = archive_root(site)
    if item.item_id in root:
        raise FilingRefused(409, "事项已有归档记录")
    fonds = fonds_code(site, registry)
    closed = closed_on(item)
    year = (closed or now()).year
    unit_code = unit_code_of(site, item)
    series = f"{fonds}|{year}|{retention}|{unit_code}"

    def code_for(piece: int) -> str:
        return rules.archival_code(fonds=fonds, year=year, retention=retention, unit_code=unit_code, piece=piece)

    piece, handed_out = reserve_piece(root, item.item_id, series, code_for)
    code = code_for(piece)
    try:
        if code in root.by_code:
            raise FilingRefused(409, f"档号 {code} 已被占用，请重试")
        filed_at = now()
        filing = Filing(archival_code=code, fonds=fonds, year=year, retention=retention, piece=piece,
                        unit_code=unit_code, filed_by=actor, filed_on=filed_at.date().isoformat())
        rec = ArchiveRecord(item.item_id, code, retention, year, unit_code, piece, filed_at, actor)
        rec.series = series
        version = _seal(site, item, registry, rec, filing, actor, "归档", 1, handed_out,
                        filed={"time": isoformat(filed_at), "actor": actor, "code": code})
    except FilingRefused:
        # the filing transaction is aborted: give the number back if nobody drew after it
        release_piece(root, item.item_id, series, piece, taken=code in root.by_code)
        raise
    wf = registry.duban_workflows[item.workflow]
    wf.fire(item, FILE_TRANSITION, actor, principals, {"comment": f"立卷归档，档号 {code}"}, site=site)
    item.archived = True
    item.archival_code = code
    item.retention = retention
    root.add(item.item_id, rec)
    root.by_code[code] = item.item_id
    record(site, "file", actor, item.item_id, archival_code=code, retention=retention, piece=piece,
           package_sha256=version.sha256, package_sm3=version.sm3, pages=version.pages)
    return rec


def existing_pieces(root, series: str) -> list[int]:
    """The 件号 of ``series`` handed out (filed or reserved), as the 四性检测 checks them for gaps."""
    if root.counters.get(series) is not None:
        return root.handed_out(series)
    return sorted(r.piece for r in root.values() if getattr(r, "series", None) == series)


# -- drawing the 件号 -----------------------------------------------------------

def reserve_piece(root, item_id: str, series: str, code_for: Callable[[int], str]) -> tuple[int, list[int]]:
    """The 件号 for filing ``item_id`` in ``series``, and the series' 件号 handed out so far.

    Drawn and committed in a short transaction of its own (see the module docstring); when
    ``root`` is not committed yet (a site built in the caller's transaction) the draw happens
    in the caller's transaction instead, the old way.
    """
    return in_own_transaction(root, lambda other: _draw(other, item_id, series, code_for), attempts=DRAW_ATTEMPTS)


def release_piece(root, item_id: str, series: str, piece: int, *, taken: bool = False) -> None:
    """After a refused filing: hand ``piece`` back if it is still the last drawn in ``series``.

    Otherwise the item keeps it and gets it again when filed (other filings went on meanwhile;
    handing it out to another item could leave the series with a gap).  ``taken`` (its 档号 is
    in use: a race the reservation lost) drops the reservation without handing the number back.
    """
    try:
        in_own_transaction(root, lambda other: _release(other, item_id, series, piece, taken),
                           attempts=DRAW_ATTEMPTS)
    except ConflictError:  # the reservation stays with the item: no gap, the item reuses it
        log.info("could not hand back 件号 %s of %s after a refused filing", piece, series)


def _draw(root, item_id: str, series: str, code_for: Callable[[int], str]) -> tuple[int, list[int]]:
    if item_id in root:
        raise FilingRefused(409, "事项已有归档记录")
    if root.reservations is None:  # an archive from before reservations
        root.reservations = OOBTree()
    if root.released is None:
        root.released = OOBTree()
    _prune(root, item_id)

    def usable(piece: int) -> bool:
        holder = root.by_code.get(code_for(piece))
        return holder is None or holder == item_id

    held = root.reservations.get(item_id)
    if held is not None:
        held_series, held_piece = held
        if held_series == series and usable(held_piece):
            return held_piece, root.handed_out(series)  # a retry, or a new attempt after a failure
        del root.reservations[item_id]
        if usable(held_piece):  # filed in another series now: that number goes back
            _hand_back(root, held_series, held_piece)
    free = sorted(root.released.get(series, ()))
    counter = root.counter(series)
    while True:
        piece = free.pop(0) if free else counter.next()
        if usable(piece):
            break
        # a 档号 filed without this bookkeeping (or by a race this one lost): used, not a gap
    if series in root.released:
        if free:
            root.released[series] = tuple(free)
        else:
            del root.released[series]
    root.reservations[item_id] = (series, piece)
    return piece, root.handed_out(series)


def _release(root, item_id: str, series: str, piece: int, taken: bool) -> None:
    if root.reservations is None or root.reservations.get(item_id) != (series, piece) or item_id in root:
        return
    counter = root.counters.get(series)
    if taken:
        del root.reservations[item_id]
    elif counter is not None and counter.value == piece:
        del root.reservations[item_id]
        _hand_back(root, series, piece)


def _hand_back(root, series: str, piece: int) -> None:
    """Return ``piece`` to ``series``: the counter steps back over it (and over handed-back numbers
    below it); a number below the counter waits in ``released`` for the next draw."""
    free = set(root.released.get(series, ()))
    free.add(piece)
    counter = root.counter(series)
    while counter.value in free:
        free.discard(counter.value)
        counter.value -= 1
    free = {n for n in free if n <= counter.value}
    if free:
        root.released[series] = tuple(sorted(free))
    elif series in root.released:
        del root.released[series]


def _prune(root, keep: str) -> None:
    """Drop the reservations of items filed since (and their 待归档 entries)."""
    done = [item_id for item_id in root.reservations.keys() if item_id != keep and item_id in root]
    queue_ = getattr(root, "pending", None)
    for item_id in done:
        del root.reservations[item_id]
        if queue_ is not None:
            queue_.pop(item_id, None)


class SealedPackages:
    """Packages sealed by filings whose transaction has not committed yet.

    A filing renders for seconds; if its commit then conflicts (another item's
    transition touched the same listing-index bucket), pyramid_retry runs it
    again.  The retry — same process, same item state, same 档号 — takes the
    package built a moment ago instead of rendering it again, so it commits in
    milliseconds instead of conflicting once more.  An entry goes when its
    transaction commits, after :data:`TTL` seconds, or when more than
    :data:`KEEP` are held; a package over :data:`MAX_BYTES` is never kept.
    """

    KEEP = 2
    TTL = 120.0
    MAX_BYTES = 100 * 1024 * 1024

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._held: dict[tuple, tuple[float, Any]] = {}

    def get_or_build(self, key: tuple, build: Callable[[], Any], item) -> Any:
        if key[0] is None or key[1] is None:  # an item not committed yet: nothing to key on
            return build()
        with self._lock:
            self._expire()
            held = self._held.get(key)
        if held is not None:
            pkg = held[1]
        else:
            pkg = build()
            if len(pkg.data) + len(pkg.dossier) <= self.MAX_BYTES:
                with self._lock:
                    self._held[key] = (time.monotonic(), pkg)
                    while len(self._held) > self.KEEP:
                        self._held.pop(min(self._held, key=lambda k: self._held[k][0]))
        from ..txn import after_commit

        after_commit(lambda: self.forget(key), obj=item)
        return pkg

    def forget(self, key: tuple) -> None:
        with self._lock:
            self._held.pop(key, None)

    def _expire(self) -> None:
        cutoff = time.monotonic() - self.TTL
        for k in [k for k, (t, _) in self._held.items() if t < cutoff]:
            del self._held[k]


_sealed = SealedPackages()


def forget_sealed(item) -> None:
    """Drop the packages of ``item`` held for a retry (销毁: nothing of it may stay in memory either)."""
    oid = getattr(item, "_p_oid", None)
    if oid is not None:
        with _sealed._lock:
            for key in [k for k in _sealed._held if k[0] == oid]:
                del _sealed._held[key]


def _seal(site, item, registry, rec: ArchiveRecord, filing: Filing, actor: str, reason: str, number: int,
          pieces: list[int], *, filed: dict[str, Any]) -> PackageVersion:
    """Render, bag, check and store one package version on ``rec``.

    The package copies and digests the originals while the dossier renders in its workers.
    Version N > 1 names the version it replaces (替代) in its metadata, which is marked
    ``superseded_by`` (被替代) on the record: the old package itself never changes.
    """
    from .package import ascii_code

    previous = rec.versions[-1] if rec.versions else None
    info = VersionInfo(version=number, package_name=f"{ascii_code(rec.archival_code)}-v{number}.zip",
                       corrections=[c for c in rec.corrections if c.get("version") == number])
    if previous is not None:
        info.replaces = {"version": previous.version, "sha256": previous.sha256, "sm3": previous.sm3,
                         "package_name": f"{ascii_code(rec.archival_code)}-v{previous.version}.zip"}
    expected = {att.filename: att.sha256 for att in item.attachments.values()
                if att.kind == "signed_report" and att.mimetype == "application/pdf"}
    def build():
        return build_package(site, item, registry, dossier=lambda: render_dossier(site, item, registry, filing),
                             archival_code=rec.archival_code, fonds=filing.fonds, year=rec.year,
                             retention=rec.retention, unit_code=rec.unit_code, piece=rec.piece, piece_series=pieces,
                             version=info, source_organization=fonds_name(site, registry),
                             embedded_expected=expected, filed=filed, corrections=list(rec.corrections))

    try:
        key = (item._p_oid, item.serials(), rec.archival_code, number, reason, tuple(pieces))
        pkg = _sealed.get_or_build(key, build, item)
    except RenderFailed as exc:
        raise FilingRefused(409, f"档案 PDF 生成失败：{exc.message}") from exc
    except PackageRefused as exc:  # a 四性 check failed: retrying will not help, fixing the original will
        raise FilingRefused(409, exc.message, code="checks_failed") from exc
    dossier = pkg.dossier
    version = PackageVersion(number, now(), actor, reason)
    with version.blob.open("w") as f:
        f.write(pkg.data)
    with version.dossier.open("w") as f:
        f.write(dossier)
    version.size, version.sha256, version.sm3 = len(pkg.data), pkg.sha256, pkg.sm3
    version.dossier_size, version.dossier_sha256 = len(dossier), hashlib.sha256(dossier).hexdigest()
    version.pages = pkg.pages
    version.checks = pkg.summary
    version.files = tuple((f.path, f.original_name, f.size, f.sha256, f.sm3) for f in pkg.files)
    if previous is not None:
        previous.superseded_by = number
    rec.versions.append(version)
    return version


def record_for(site, item_id: str) -> ArchiveRecord | None:
    root = site.get("archive")
    return root.get(item_id) if root is not None else None


def filing_of(rec: ArchiveRecord) -> Filing:
    return Filing(archival_code=rec.archival_code, fonds=rec.archival_code.split("-")[0], year=rec.year,
                  retention=rec.retention, piece=rec.piece, unit_code=rec.unit_code, filed_by=rec.filed_by,
                  filed_on=rec.filed.date().isoformat(), notes=list(rec.notes))


# -- corrections ---------------------------------------------------------------

def correction_schema(typedef, names: set[str] | None = None) -> colander.SchemaNode:
    """The correctable fields of an item type, validated as when the item was edited.

    ``names`` limits the schema to the fields a correction names (the API sends only what
    changes; the form sends them all).  The UI's form and :func:`plan_correction` both use it,
    so the form and the API refuse the same values with the same Chinese messages.
    """
    schema = colander.SchemaNode(colander.Mapping(unknown="raise"), name="correction")
    for fdef in typedef.fields:
        if fdef.name in CORRECTABLE and (names is None or fdef.name in names):
            schema.add(fdef.node())
    return schema


def plan_correction(site, item, registry, changes: dict[str, Any], *,
                    reason: str) -> tuple[ArchiveRecord, dict[str, tuple[Any, Any]]]:
    """Check a 著录更正 without applying it: the record and ``{field: (old, new)}`` that would change.

    Raises :class:`FilingRefused` (every field's problem at once) when it cannot be made.
    """
    rec = record_for(site, item.item_id)
    if rec is None or not item.archived:
        raise FilingRefused(409, "事项尚未归档，请直接修改事项")
    if getattr(rec, "disposed", None):
        raise FilingRefused(409, "档案已销毁，不能更正")
    typedef = registry.duban_types[item.type_name]
    errors: dict[str, str] = {}
    for name in changes:
        if name not in CORRECTABLE:
            errors[name] = "归档后不可更正（档号、保管期限和办理过程不可改）"
        elif name not in typedef.field_map:
            errors[name] = "此类事项没有该项目"
    if not (reason or "").strip():
        errors["reason"] = "请填写更正原因"
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"不能超过 {REASON_MAX} 个字符"
    wanted = {k: v for k, v in changes.items() if k not in errors}
    appstruct: dict[str, Any] = {}
    try:
        appstruct = validate(correction_schema(typedef, set(wanted)), wanted)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise FilingRefused(400, "更正内容有误，请按提示修改", errors)
    applied = {name: (getattr(item, name, None), new) for name, new in appstruct.items()
               if (getattr(item, name, None) or "") != (new or "")}
    if not applied:
        raise FilingRefused(400, "没有需要更正的内容：与现有著录相同")
    return rec, applied


def correct_metadata(site, item, registry, changes: dict[str, Any], *, reason: str, actor: str) -> PackageVersion:
    """A logged 著录更正 (old -> new) that seals a new package version; old ones stay.

    The one implementation behind the JSON API and the records officer's form.
    """
    rec, applied = plan_correction(site, item, registry, changes, reason=reason)
    typedef = registry.duban_types[item.type_name]
    reason = reason.strip()
    number = len(rec.versions) + 1
    when = now()
    for name, (old, new) in applied.items():
        setattr(item, name, new)
        rec.corrections.append({"time": when, "actor": actor, "field": name, "title": typedef.field_map[name].title,
                                "old": old, "new": new, "reason": reason, "version": number})
        rec.notes.append(f"{when.date().isoformat()} 著录更正（第 {number} 版）：{typedef.field_map[name].title}"
                         f"由“{old or ''}”更正为“{new}”。原因：{reason}")
        record(site, "correct", actor, item.item_id, field=name, old=old, new=new, reason=reason, version=number)
    pieces = existing_pieces(archive_root(site), getattr(rec, "series", ""))
    return _seal(site, item, registry, rec, filing_of(rec), actor, f"著录更正：{reason}", number, pieces,
                 filed={"time": isoformat(rec.filed), "actor": rec.filed_by, "code": rec.archival_code})


# -- legal hold and disposal ---------------------------------------------------

def set_legal_hold(site, item_id: str, *, hold: bool, reason: str, actor: str) -> ArchiveRecord:
    rec = record_for(site, item_id)
    if rec is None:
        raise FilingRefused(404, "没有该事项的归档记录")
    if getattr(rec, "disposed", None):
        raise FilingRefused(409, "档案已销毁，不能冻结或解除冻结")
    if hold and not (reason or "").strip():
        raise FilingRefused(400, "请填写冻结原因", {"reason": "必填"})
    rec.legal_hold = bool(hold)
    rec.legal_hold_reason = reason or ""
    record(site, "legal_hold", actor, item_id, hold=bool(hold), reason=reason or "")
    return rec


def disposable_from(rec: ArchiveRecord) -> date | None:
    """First day ``rec`` may be appraised for destruction; None for 永久.

    The 保管期限 is counted, as archives customarily count it, from 1 January of the year after
    the 年度 in which the documents were formed: D10 of 年度 2026 runs out at the end of 2036 and
    may be appraised for destruction from 2037-01-01.  A site needing another rule changes it here.
    """
    years = RETENTION_YEARS.get(rec.retention)
    return None if years is None else date(rec.year + years + 1, 1, 1)


def disposal_refusal(rec: ArchiveRecord, on: date | None = None) -> str:
    """Why ``rec`` may not be destroyed on ``on`` (today), in Chinese; empty when it may."""
    disposed = getattr(rec, "disposed", None)
    if disposed:
        return f"档案已于 {disposed.isoformat()} 销毁"
    if rec.legal_hold:
        return f"档案已冻结（{rec.legal_hold_reason}），冻结期间不得销毁；如需销毁请先解除冻结"
    moved = getattr(rec, "transfer", None)  # (batch, date, 接收单位) while a 移交 stands (archive/transfer.py)
    if moved:
        return (f"档案已于 {moved[1]} 移交{moved[2]}（移交批次 {moved[0]}），由接收单位保管和鉴定销毁；"
                "如需由本单位销毁，请先撤销该移交批次")
    start = disposable_from(rec)
    if start is None:
        return "永久保管的档案不得销毁"
    if (on or today()) < start:
        return (f"保管期限未满：{rec.year} 年度的{RETENTIONS[rec.retention]}档案，"
                f"{start.year} 年 1 月 1 日起方可鉴定销毁")
    return ""
