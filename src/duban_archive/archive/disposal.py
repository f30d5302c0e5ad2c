"""销毁 (disposal) of archived records: request, approval by a second person, purge, 销毁清册.

DA/T 22 and the customers' procedures want destruction decided by two people: the records
officer (档案员) asks, with a reason and the appraisal opinion (鉴定意见), once the 保管期限 ran out
(``filing.disposal_refusal``: never under legal hold, never 永久); an approver (档案鉴定审批人,
role :data:`APPROVER_ROLE`) who is *not* the requester approves or rejects it.  The approver is
an account, never a typed-in name.

Approval purges the record for real (:func:`purge`): the item with its feedback, 批示 and
attachments leaves the tree and every index (``item_index``, ``attachment_index``, the listing
and worklists, the full-text queue, the outbox and inboxes), every package version and dossier
blob is dropped from the record, and after commit the extracted-text cache files of the
originals go and the full-text index is compacted.  The blobs and old object revisions leave
``Data.fs`` and ``blobs/`` at the next pack (``storage/maintenance.pack``; the daily one by
default).  What remains is the record's tombstone (档号, 保管期限, the 销毁清册 entry, so URLs of the
record answer 410) and the append-only audit entry ``dispose`` carrying the same entry: 档号, 题名,
保管期限, 件数/页数, the SHA-256 and SM3 of every destroyed file, package and dossier, who asked
and who approved, when, and why.

Two approvals of one request at once both write the record: ZODB lets one commit, the retry of
the other finds the request decided and is refused (409).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import colander
from persistent.list import PersistentList

from ..audit.log import record
from ..errors import Refusal
from ..timeutil import now, today
from ..validation import validate
from .filing import REASON_MAX, disposal_refusal, forget_sealed, pending, record_for
from .model import ArchiveRecord, archive_root
from .rules import RETENTIONS

#: the role that approves 销毁 (security/roles.py ROLES)
APPROVER_ROLE = "disposal_approver"
REQUESTER_ROLE = "records_officer"
#: request states
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
log = logging.getLogger(__name__)
STATES = {PENDING: "待审批", APPROVED: "已批准并销毁", REJECTED: "已驳回"}


# -- schemas -------------------------------------------------------------------------------------

def _text(name: str, title: str, missing_msg: str) -> colander.SchemaNode:
    return colander.SchemaNode(
        colander.String(), name=name, title=title, multiline=True,
        missing_msg=missing_msg,
        validator=colander.All(colander.Length(min=1, max=REASON_MAX, min_err=missing_msg,
                                               max_err=f"不能超过 {REASON_MAX} 个字符")),
        preparer=lambda v: v.strip() if isinstance(v, str) else v)


def request_schema() -> colander.SchemaNode:
    """销毁申请: 销毁理由 and 鉴定意见, both required."""
    schema = colander.SchemaNode(colander.Mapping(), name="disposal_request")
    schema.add(_text("reason", "销毁理由", "请填写销毁理由"))
    schema.add(_text("opinion", "鉴定意见", "请填写鉴定意见"))
    return schema


def rejection_schema() -> colander.SchemaNode:
    """驳回: the reason is required, so the records officer knows what to do next."""
    schema = colander.SchemaNode(colander.Mapping(), name="disposal_rejection")
    schema.add(_text("reason", "驳回理由", "请填写驳回理由"))
    return schema


# -- reading -------------------------------------------------------------------------------------

def current_request(rec: ArchiveRecord) -> dict[str, Any] | None:
    """The latest 销毁申请 of ``rec`` (any state), or None."""
    requests = getattr(rec, "disposal_requests", ())
    return dict(requests[-1]) if requests else None


def pending_request(rec: ArchiveRecord) -> dict[str, Any] | None:
    req = current_request(rec)
    return req if req is not None and req["state"] == PENDING else None


def pending_requests(site) -> list[tuple[ArchiveRecord, dict[str, Any]]]:
    """The approver's worklist: records with a request waiting for a decision, oldest first."""
    root = site.get("archive")
    index = getattr(root, "disposal_pending", None) if root is not None else None
    out = []
    for item_id in index or ():
        rec = root.get(item_id)
        req = pending_request(rec) if rec is not None else None
        if req is not None:
            out.append((rec, req))
    return sorted(out, key=lambda pair: pair[1]["requested_at"])


def register(site) -> list[dict[str, Any]]:
    """The 销毁清册: one entry per destroyed record, by date of destruction then 档号."""
    root = site.get("archive")
    entries = [dict(rec.disposal) for rec in (root.values() if root is not None else ()) if purged(rec)]
    return sorted(entries, key=lambda e: (e["date"], e["archival_code"]))


def purged(rec: ArchiveRecord) -> bool:
    """Destroyed by :func:`purge` (records marked 已销毁 before it existed kept their item and packages)."""
    return bool(getattr(rec, "disposed", None)) and "files" in (getattr(rec, "disposal", None) or {})


def is_destroyed(site, item_id: str) -> ArchiveRecord | None:
    """The tombstone of a purged item (for 410 answers), or None."""
    rec = record_for(site, item_id)
    return rec if rec is not None and purged(rec) else None


def destroyed_attachment(site, attachment_id: str) -> ArchiveRecord | None:
    root = site.get("archive")
    gone = getattr(root, "destroyed_attachments", None) if root is not None else None
    item_id = gone.get(attachment_id) if gone is not None else None
    return is_destroyed(site, item_id) if item_id else None


# -- writing -------------------------------------------------------------------------------------

def _roles(site, username: str) -> tuple[str, ...]:
    user = site["users"].get(username) if username else None
    return tuple(getattr(user, "roles", ()) or ())


def _record_or_refuse(site, item_id: str) -> ArchiveRecord:
    rec = record_for(site, item_id)
    if rec is None:
        raise Refusal("没有该事项的归档记录", status=404)
    return rec


def _append(rec: ArchiveRecord, req: dict[str, Any]) -> None:
    """Replace the latest request (same id) or append a new one; a tuple of plain dicts."""
    requests = list(getattr(rec, "disposal_requests", ()))
    if requests and requests[-1]["id"] == req["id"]:
        requests[-1] = req
    else:
        requests.append(req)
    rec.disposal_requests = tuple(requests)


def _pending_index(site):
    from BTrees.OOBTree import OOBTree

    root = archive_root(site)
    if getattr(root, "disposal_pending", None) is None:
        root.disposal_pending = OOBTree()
    return root.disposal_pending


def request_disposal(site, item_id: str, data: dict[str, Any], *, actor: str, on: date | None = None) -> dict[str, Any]:
    """档案员 asks for 销毁 of a record whose 保管期限 ran out; approvers are told in their inbox."""
    rec = _record_or_refuse(site, item_id)
    if REQUESTER_ROLE not in _roles(site, actor):
        raise Refusal("只有档案员可以提出销毁申请", status=403)
    refusal = disposal_refusal(rec, on)
    if refusal:
        raise Refusal(refusal, status=409)
    if pending_request(rec) is not None:
        raise Refusal("该档案已有待审批的销毁申请", status=409)
    appstruct = validate(request_schema(), data)
    req = {"id": len(getattr(rec, "disposal_requests", ())) + 1, "state": PENDING, "requested_by": actor,
           "requested_at": now(), "reason": appstruct["reason"], "opinion": appstruct["opinion"],
           "decided_by": "", "decided_at": None, "decision": ""}
    _append(rec, req)
    _pending_index(site)[item_id] = req["requested_at"].isoformat()
    record(site, "disposal_request", actor, item_id, archival_code=rec.archival_code, reason=req["reason"],
           opinion=req["opinion"])
    _tell_approvers(site, rec, actor)
    return req


def _decision(site, item_id: str, actor: str) -> tuple[ArchiveRecord, dict[str, Any]]:
    """The pending request an approver may decide: refused for the requester and for non-approvers."""
    rec = _record_or_refuse(site, item_id)
    if APPROVER_ROLE not in _roles(site, actor):
        raise Refusal("只有档案鉴定审批人可以审批销毁申请", status=403)
    req = pending_request(rec)
    if req is None:
        last = current_request(rec)
        if last is not None and last["state"] != PENDING:
            raise Refusal(f"该销毁申请已由 {last['decided_by']} {STATES[last['state']]}，无需再次审批", status=409,
                          code="already_decided")
        raise Refusal("该档案没有待审批的销毁申请", status=409)
    if req["requested_by"] == actor:
        raise Refusal("不能审批自己提出的销毁申请：销毁须由申请人以外的审批人批准", status=403,
                      code="same_person")
    return rec, req


def reject_disposal(site, item_id: str, data: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """驳回 a request with a reason; the record stays as it is and may be asked for again."""
    rec, req = _decision(site, item_id, actor)
    appstruct = validate(rejection_schema(), data)
    req.update(state=REJECTED, decided_by=actor, decided_at=now(), decision=appstruct["reason"])
    _append(rec, req)
    _pending_index(site).pop(item_id, None)
    record(site, "disposal_reject", actor, item_id, archival_code=rec.archival_code, reason=appstruct["reason"],
           requested_by=req["requested_by"])
    _tell(site, req["requested_by"], f"销毁申请被驳回：{rec.archival_code}",
          f"档案鉴定审批人 {actor} 驳回了档案 {rec.archival_code} 的销毁申请：{appstruct['reason']}", rec.item_id)
    return req


def approve_disposal(site, item_id: str, *, actor: str, registry=None, on: date | None = None) -> dict[str, Any]:
    """批准 a request: the record is purged at once and the 销毁清册 entry written; returns the entry."""
    rec, req = _decision(site, item_id, actor)
    on = on or today()
    refusal = disposal_refusal(rec, on)  # a legal hold set after the request still blocks
    if refusal:
        raise Refusal(refusal, status=409)
    req.update(state=APPROVED, decided_by=actor, decided_at=now(), decision="批准")
    _append(rec, req)
    _pending_index(site).pop(item_id, None)
    return purge(site, rec, req, on=on, registry=registry)


# -- the purge -----------------------------------------------------------------------------------

def _blob_digests(blob) -> tuple[int, str, str]:
    import hashlib

    from ..content_types.attachment import _sm3

    sha, sm3, size = hashlib.sha256(), _sm3(), 0
    with blob.open("r") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
            sm3.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest(), sm3.hexdigest()


def _inventory(item, rec: ArchiveRecord) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """Every destroyed file as a tuple of (key, value) pairs: originals, packages, dossiers."""
    files: list[tuple[tuple[str, Any], ...]] = []
    if item is not None:
        for att in item.attachments.values():
            files.append((("kind", "原件"), ("name", att.filename), ("size", att.size), ("sha256", att.sha256),
                          ("sm3", att.sm3)))
    for version in rec.versions:
        files.append((("kind", "归档包"), ("name", f"{rec.archival_code} 第{version.version}版归档包.zip"),
                      ("size", version.size), ("sha256", version.sha256), ("sm3", version.sm3)))
        size, sha, sm3 = _blob_digests(version.dossier)
        files.append((("kind", "档案PDF"), ("name", f"{rec.archival_code} 第{version.version}版.pdf"),
                      ("size", size), ("sha256", sha), ("sm3", sm3)))
    return tuple(files)


def purge(site, rec: ArchiveRecord, req: dict[str, Any], *, on: date, registry=None) -> dict[str, Any]:
    """Remove the item and everything made from it; keep the tombstone and write the 销毁清册 entry."""
    item = site.get_item(rec.item_id)
    files = _inventory(item, rec)
    current = rec.current
    entry = {
        "archival_code": rec.archival_code, "item_id": rec.item_id,
        "title": getattr(item, "title", "") or "", "number": getattr(item, "number", "") or "",
        "year": rec.year, "retention": rec.retention, "retention_title": RETENTIONS.get(rec.retention, rec.retention),
        "pieces": 1, "pages": current.pages if current is not None else 0, "versions": len(rec.versions),
        "files": files, "reason": req["reason"], "opinion": req["opinion"],
        "requested_by": req["requested_by"], "requested_at": req["requested_at"],
        "approved_by": req["decided_by"], "approved_at": req["decided_at"], "date": on,
    }
    digests = tuple(dict(f)["sha256"] for f in files)
    attachment_ids = _remove_item(site, item, registry) if item is not None else ()
    if attachment_ids:
        from BTrees.OOBTree import OOBTree

        root = archive_root(site)
        if getattr(root, "destroyed_attachments", None) is None:
            root.destroyed_attachments = OOBTree()
        for att_id in attachment_ids:
            root.destroyed_attachments[att_id] = rec.item_id
    forget_sealed(item)
    # the tombstone: no package, no dossier, no correction values (they held the item's text)
    rec.versions = PersistentList()
    rec.corrections = PersistentList()
    rec.notes = PersistentList([f"{on.isoformat()} 经鉴定销毁。鉴定意见：{req['opinion']}；销毁理由：{req['reason']}；"
                                f"申请人：{req['requested_by']}；批准人：{req['decided_by']}"])
    rec.disposed = on
    rec.disposal = entry
    entry["audit_key"] = record(site, "dispose", req["decided_by"], rec.item_id, **{
        k: v for k, v in entry.items() if k != "item_id"})
    rec.disposal = dict(entry)
    # told after the purge and tied to no item: it names the 档号 only, never the destroyed content
    _tell(site, req["requested_by"], f"档案已销毁：{rec.archival_code}",
          f"档案鉴定审批人 {req['decided_by']} 批准了档案 {rec.archival_code} 的销毁申请，已销毁并登记销毁清册。", "")
    _after_commit_cleanup(site, registry, digests)
    return entry


def _remove_item(site, item, registry) -> tuple[str, ...]:
    """Take ``item`` out of the tree and every index in ZODB; returns its attachment ids."""
    from ..catalog.listing import get_listing
    from ..catalog.queue import queue_item
    from ..notifications.outbox import get_outbox

    item_id = item.item_id
    attachment_ids = tuple(item.attachments.keys())
    for att_id in attachment_ids:
        site.attachment_index.pop(att_id, None)
    get_listing(site).unindex(item_id, item)
    _purge_messages(get_outbox(site), item_id)
    pending(site).pop(item_id, None)
    board = item.__parent__
    board.remove(item.__name__)
    site.item_index.pop(item_id, None)
    queue_item(site, item_id)  # the indexer finds no item and deletes its document
    return attachment_ids


def _purge_messages(box, item_id: str) -> None:
    """Notices and reminders about the item carry its title: they go, from the queue and the inboxes."""
    box.unschedule(item_id)
    for msg_id in list(box.by_item.pop(item_id, ())):
        msg = box.messages.pop(msg_id, None)
        if msg is None:
            continue
        box.unqueue(msg)
        inbox = box.inboxes.get(msg.recipient)
        if inbox is not None and msg_id in inbox.entries:
            if inbox.entries.pop(msg_id) is False:
                inbox.unread.change(-1)


def _after_commit_cleanup(site, registry, digests: Iterable[str]) -> None:
    """After commit: the originals' extracted text leaves ``var/cache/text``, the index is compacted."""
    from ..txn import after_commit

    if registry is None:
        return
    var = registry.settings.get("duban.var_dir")
    sha = tuple(d for d in digests if d)

    def cleanup() -> None:
        if var:
            for digest in sha:
                (Path(var) / "cache" / "text" / f"{digest}.json").unlink(missing_ok=True)
        catalog = getattr(registry, "duban_fulltext", None)
        if catalog is None or not (catalog.inline or (catalog.worker is not None and catalog.worker.is_alive())):
            return  # `duban-archive indexer` writes the index: it deletes the document; merges drop its terms
        catalog.indexer.apply_pending(lock_timeout=30)
        _compact(catalog)

    after_commit(cleanup, obj=site)


def _compact(catalog) -> None:
    """Merge the index segments: a deleted document's stored text stays in its segment until then."""
    from ..catalog.postings import open_writer

    try:
        with catalog.store.writer_lock(30):
            open_writer(catalog.engine.open(), timeout=30).commit(optimize=True)
    except Exception:  # noqa: BLE001 - the document is deleted already; the next merge drops its text
        log.warning("full-text index not compacted after a disposal", exc_info=True)


# -- notices -------------------------------------------------------------------------------------

def _tell(site, username: str, subject: str, body: str, item_id: str) -> None:
    """One in-app message (kind ``disposal``); tied to the item when ``item_id`` is given, so the purge removes it."""
    from ..notifications.outbox import Message, get_outbox, new_id

    get_outbox(site).add(Message(new_id(), kind="disposal", channel="inbox", recipient=username, address="",
                                 subject=subject, body=body, item_id=item_id))


def _tell_approvers(site, rec: ArchiveRecord, actor: str) -> None:
    """An inbox message to every 档案鉴定审批人 but the requester."""
    for user in site["users"].values():
        if APPROVER_ROLE in (getattr(user, "roles", ()) or ()) and user.__name__ != actor:
            _tell(site, user.__name__, f"销毁申请待审批：{rec.archival_code}",
                  f"档案员 {actor} 申请销毁档案 {rec.archival_code}，请在“销毁审批”中审批。", rec.item_id)


def as_json(entry: dict[str, Any]) -> dict[str, Any]:
    """A request or 销毁清册 entry as JSON (dates as ISO strings, files as objects)."""
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if key == "files":
            out[key] = [dict(f) for f in value]
        elif isinstance(value, (date, datetime)):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
