"""移交与接收: the records officer hands filed records over to an archives (e.g. 县档案馆).

What a transfer is (《电子档案移交与接收办法》 and its 登记表, DA/T 93-2022):

* a choice of filed records (by 年度 / 保管期限 / 版块, or named one by one), each with the
  package version it carries;
* the 电子档案移交与接收登记表 (PDF/A through the safe renderer, and Excel): 交接工作名称,
  内容描述, 数量 (件/卷), 数据量 (bytes, MB), 载体起止顺序号, 载体类型、规格, the 检验 rows
  (准确性、完整性、可用性、安全性、载体外观) for the 移交单位 and the 接收单位, 填表人, 审核人,
  单位（印章）, 日期 — followed by the 归档/移交目录 of the records included;
* a transfer package (zip): every record's BagIt package, the register (PDF + xlsx), a manifest
  of every file with SHA-256 and SM3, and a manifest of the manifest's own digests.

Why the 检验 column of the 移交单位 comes from the stored 四性检测: that is what the records
office checked, sealed into each package at filing.  A section with a check that did not run
says 「未检测」 with the count — never 「通过」.  Before the register is made every package is
re-hashed (SHA-256 and SM3) against its sealed digests: a package that rotted is refused, not
handed over.  The 接收单位 column is the receiver's: it is left for them to fill in by hand.

Each record transferred also carries ``rec.transfer = (transfer id, date, 接收单位)`` (None once
cancelled; absent on records never transferred), which the 档案室's list shows.

Why a record is claimed in ``TransferRegistry.by_item`` (item id -> transfer id): two transfers
of the same record insert the same key into one BTree, which ZODB refuses to merge, so one of
them is retried and then refused — a record is never transferred twice, however the requests
interleave.  Cancelling a transfer (with a reason) releases its records.

Why the package zip is not stored: it would double the archive's bytes.  The transfer keeps the
register files and the manifest; :func:`write_package` lays the zip out again from the package
versions the transfer pinned, every entry dated with the transfer's time, so each download is
byte-identical and its manifest still recomputes.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import zipfile
from datetime import date, datetime
from typing import IO, Any

import colander
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from ZODB.blob import Blob

from ..audit.log import record
from ..errors import Refusal
from ..timeutil import as_cst, now, today
from ..validation import ValidationFailed, text_node, validate
from .checks import SECTIONS
from .dossier import closed_on
from .package import ascii_code
from .render import DEFAULT_TIMEOUT, RenderFailed, render_pdf, render_template
from .rules import RETENTIONS

#: 移交载体类型 (value -> title)
CARRIERS = {"online": "在线", "optical": "光盘", "hdd": "移动硬盘"}
#: the register's 检验 rows and the 四性检测 section each one reports (the 办法's 准确性检验 — content and
#: digests as captured, signatures intact — is what DA/T 70 calls 真实性)
INSPECTIONS = (("准确性检验", "authenticity"), ("完整性检验", "integrity"), ("可用性检验", "usability"),
               ("安全性检验", "security"))
ACTIVE, RECEIVED, CANCELLED = "transferred", "received", "cancelled"
STATES = {ACTIVE: "已移交", RECEIVED: "已接收", CANCELLED: "已撤销"}
#: what the 接收单位 may write in a 检验 row
RECEIPT_RESULTS = ("通过", "不通过", "未检测", "不适用")
#: the 检验 rows by key: the four 四性 sections and the carrier's appearance
ROW_KEYS = (*(section for _title, section in INSPECTIONS), "carrier")
REGISTER = "电子档案移交与接收登记表"
MANIFEST = "manifest-sha256-sm3.txt"
MANIFEST_DIGESTS = "manifest-digests.txt"
CHUNK = 1 << 20
TEXT_MAX, LONG_MAX = 100, 1000
#: 档号 named in a 检验 row's note before "等 N 件"
NAMED = 10


# -- stored objects -----------------------------------------------------------------------------

class Transfer(Persistent):
    """One 移交: the form as filled in, the records with the package version and digests each
    carried, the 检验 rows, the register files; plain data only."""

    type_name = "archive_transfer"

    def __init__(self, transfer_id: str, created: datetime, actor: str, form: dict[str, Any],
                 entries: tuple[dict[str, Any], ...], inspection: tuple[dict[str, Any], ...]) -> None:
        self.transfer_id = transfer_id
        self.created = created
        self.actor = actor
        #: 交接工作名称 … 日期, validated (:func:`transfer_schema`)
        self.form = form
        #: one plain dict per record (:func:`_entry`), in 保管期限 then 档号 order
        self.entries = entries
        #: one plain dict per 检验 row (:func:`inspect`)
        self.inspection = inspection
        self.state = ACTIVE
        #: {time, actor, reason} once cancelled
        self.cancelled: dict[str, Any] | None = None
        self.register_pdf = Blob()
        self.register_xlsx = Blob()
        #: (path in the package, bytes, SHA-256, SM3) of the register files
        self.files: tuple[tuple[str, int, str, str], ...] = ()
        self.manifest = ""
        self.manifest_sha256 = ""
        self.manifest_sm3 = ""

    #: the 接收单位's 接收登记 {received_on, reviewer, results: ((key, result, note), …), time, actor};
    #: class defaults, so transfers made before receipts existed read as not received
    receipt: dict[str, Any] | None = None
    #: the register re-made with the 接收单位's column (the package keeps the register as transferred)
    received_pdf: Blob | None = None
    received_xlsx: Blob | None = None
    received_files: tuple[tuple[str, int, str, str], ...] = ()

    @property
    def count(self) -> int:
        return len(self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(int(e["bytes"]) for e in self.entries)


class TransferRegistry(Persistent):
    """``site["archive"].transfers``: every transfer, and which transfer holds each record."""

    def __init__(self) -> None:
        self.transfers = OOBTree()  # transfer id -> Transfer
        self.by_item = OOBTree()  # item id -> transfer id, active transfers only (the claim)
        self.by_token = OOBTree()  # the form's submission token -> transfer id (a resubmission finds it)


def registry_of(site, *, create: bool = False) -> TransferRegistry | None:
    """The transfer registry at ``site["archive"]`` (made on first use when ``create``)."""
    root = site.get("archive")
    if root is None:
        if not create:
            return None
        from .model import archive_root

        root = archive_root(site)
    reg = getattr(root, "transfers", None)
    if reg is None and create:
        reg = root.transfers = TransferRegistry()
    return reg


def transfer_of(site, item_id: str) -> Transfer | None:
    """The active transfer holding ``item_id`` (None: not transferred, or its transfer was cancelled)."""
    reg = registry_of(site)
    if reg is None:
        return None
    tid = reg.by_item.get(item_id)
    return reg.transfers.get(tid) if tid is not None else None


def get_transfer(site, transfer_id: str) -> Transfer:
    reg = registry_of(site)
    found = reg.transfers.get(transfer_id) if reg is not None else None
    if found is None:
        raise Refusal("没有这个移交批次", status=404)
    return found


def all_transfers(site) -> list[Transfer]:
    reg = registry_of(site)
    return list(reversed(list(reg.transfers.values()))) if reg is not None else []


# -- the form -----------------------------------------------------------------------------------

def _text(name: str, title: str, *, required: bool = True, max_len: int = TEXT_MAX, multiline: bool = False,
          description: str = "") -> colander.SchemaNode:
    node = colander.SchemaNode(
        colander.String(), name=name, title=title, description=description,
        missing=colander.required if required else "",
        preparer=lambda v: v.strip() if isinstance(v, str) else v,
        validator=colander.Length(min=1 if required else 0, max=max_len, min_err="必填",
                                  max_err=f"不能超过 {max_len} 个字符"))
    node.multiline = multiline
    return text_node(node, multiline=multiline, glyphs=True)  # printed on the register: every glyph drawable


def _cross_field(value: dict[str, Any]) -> dict[str, str]:
    """Rules across fields: an offline carrier is numbered; 审核人 and 接收人 are not the 移交人."""
    def get(name: str) -> str:
        v = value.get(name)
        return v.strip() if isinstance(v, str) else ""

    out = {}
    carrier = get("carrier")
    if carrier in ("optical", "hdd") and not get("carrier_numbers"):
        out["carrier_numbers"] = f"{CARRIERS[carrier]}移交须填写载体起止顺序号"
    if get("reviewer") and get("reviewer") == get("transferor"):
        out["reviewer"] = "审核人不能与移交人为同一人"
    if get("receiver") and get("receiver") == get("transferor"):
        out["receiver"] = "接收人不能与移交人为同一人"
    if get("receiver_unit") and get("receiver_unit") == get("transferor_unit"):
        out["receiver_unit"] = "接收单位不能与移交单位相同"
    return out


def _whole(node, value: dict[str, Any]) -> None:
    problems = _cross_field(value)
    if problems:
        exc = colander.Invalid(node, "")
        for name, msg in problems.items():
            exc[name] = msg
        raise exc


def transfer_schema(*, transferor_unit: str = "") -> colander.SchemaNode:
    """The transfer form (HTML and JSON alike); ``items`` names the records to transfer."""
    schema = colander.SchemaNode(colander.Mapping(), name="transfer", validator=_whole)
    schema.add(_text("title", "交接工作名称", description="如：2026 年度督查督办电子档案移交"))
    schema.add(_text("description", "内容描述", max_len=LONG_MAX, multiline=True,
                     description="移交档案的年度、门类、保管期限、件数等"))
    schema.add(_text("transferor_unit", "移交单位"))
    schema.children[-1].default = transferor_unit
    schema.add(_text("receiver_unit", "接收单位", description="如：县档案馆"))
    schema.add(colander.SchemaNode(
        colander.String(), name="carrier", title="移交载体类型",
        validator=colander.OneOf(list(CARRIERS), msg_err="应为 在线、光盘 或 移动硬盘")))
    schema.add(_text("carrier_spec", "载体规格", required=False,
                     description="如：DVD-R 4.7GB；移动硬盘 1TB USB 3.0；在线移交可不填"))
    schema.add(_text("carrier_numbers", "载体起止顺序号", required=False,
                     description="如：GP-2026-001～GP-2026-003；光盘、移动硬盘移交必填"))
    schema.add(_text("transferor", "移交人"))
    schema.add(_text("receiver", "接收人"))
    schema.add(_text("reviewer", "审核人", description="移交单位的审核人，不能与移交人相同"))
    schema.add(colander.SchemaNode(colander.Date(), name="transfer_date", title="日期",
                                   missing=colander.required))
    schema.add(colander.SchemaNode(
        colander.Sequence(), colander.SchemaNode(colander.String(), name="item"), name="items",
        title="移交档案", validator=colander.Length(min=1, min_err="请至少选择一件档案")))
    return schema


def validate_form(data: Any) -> dict[str, Any]:
    """The form's appstruct, or one :class:`ValidationFailed` naming every field at once (colander
    skips the cross-field rules while a field is invalid; they are added here)."""
    try:
        return validate(transfer_schema(), data)
    except ValidationFailed as exc:
        fields = {**(_cross_field(data) if isinstance(data, dict) else {}), **exc.fields}
        raise ValidationFailed(fields) from None


# -- choosing records ---------------------------------------------------------------------------

RETENTION_ORDER = {code: n for n, code in enumerate(RETENTIONS)}


def ordered(recs) -> list[Any]:
    """Grouped by 保管期限 (永久, 定期30年, 定期10年), then by 档号."""
    return sorted(recs, key=lambda r: (RETENTION_ORDER.get(r.retention, 99), r.archival_code))


def candidates(site, *, year: int | None = None, retention: str | None = None,
               board: str | None = None) -> list[Any]:
    """Filed records that may be transferred now: a package, not destroyed, not already transferred."""
    root = site.get("archive")
    if root is None:
        return []
    reg = registry_of(site)
    taken = reg.by_item if reg is not None else {}
    out = []
    for rec in root.values():
        if rec.current is None or getattr(rec, "disposed", None) or rec.item_id in taken:
            continue
        if year is not None and rec.year != year:
            continue
        if retention and rec.retention != retention:
            continue
        if board:
            item = site.get_item(rec.item_id)
            if item is None or item.board_id != board:
                continue
        out.append(rec)
    return ordered(out)


def _selected(site, item_ids: list[str]) -> list[Any]:
    """The records named, or a refusal naming every one that cannot go (nothing written)."""
    root = site.get("archive")
    missing, disposed, taken, recs = [], [], [], []
    reg = registry_of(site)
    for item_id in dict.fromkeys(item_ids):
        rec = root.get(item_id) if root is not None else None
        if rec is None or rec.current is None:
            missing.append(item_id)
            continue
        if getattr(rec, "disposed", None):
            disposed.append(rec.archival_code)
            continue
        held = reg.by_item.get(item_id) if reg is not None else None
        if held is not None and reg is not None:
            t = reg.transfers[held]
            taken.append(f"{rec.archival_code}（已于 {t.form['transfer_date'].isoformat()} 移交"
                         f"{t.form['receiver_unit']}，批次 {held}）")
            continue
        recs.append(rec)
    if missing:
        raise Refusal("所选档案中有未归档或不存在的事项", {"items": "未归档或不存在：" + "、".join(missing)})
    if disposed:
        raise Refusal("已销毁的档案不能移交", {"items": "已销毁：" + "、".join(disposed)}, status=409)
    if taken:
        raise Refusal("以下档案已经移交，不能重复移交；如需重新移交，请先撤销原移交批次：" + "；".join(taken),
                      {"items": "已移交：" + "；".join(taken)}, status=409, code="already_transferred")
    return ordered(recs)


# -- 检验 ------------------------------------------------------------------------------------------

def _section_status(checks: dict[str, Any] | None, section: str) -> bool | None:
    """One record's result for one 四性 section: False if a check failed, None if any did not run
    (or the section was never checked), True only when every check ran and passed."""
    found = [c.get("passed") for c in ((checks or {}).get("sections") or {}).get(section) or []]
    if not found:
        return None
    if False in found:
        return False
    return None if None in found else True


def _codes(codes: list[str]) -> str:
    shown = "、".join(codes[:NAMED])
    return shown + (f" 等 {len(codes)} 件" if len(codes) > NAMED else "")


def inspect(recs: list[Any], *, carrier: str, fixity_checked: int) -> tuple[dict[str, Any], ...]:
    """The register's 检验 rows for the 移交单位, from each record's sealed 四性检测 report.

    A row reads 通过 only when the section passed for every record; a record whose checks in
    that section did not run makes the row say 未检测 with the count (and the 档号).
    """
    rows = []
    total = len(recs)
    for title, section in INSPECTIONS:
        passed: list[str] = []
        unchecked: list[str] = []
        failed: list[str] = []
        for rec in recs:
            status = _section_status(rec.current.checks, section)
            (passed if status is True else failed if status is False else unchecked).append(rec.archival_code)
        parts = []
        if failed:
            parts.append(f"不通过 {len(failed)} 件")
        if unchecked:
            parts.append(f"未检测 {len(unchecked)} 件")
        if passed:
            parts.append(f"通过 {len(passed)} 件" if parts else f"通过（{total} 件）")
        result = "不通过" if failed else "未检测" if unchecked else "通过"
        notes = []
        if failed:
            notes.append("不通过：" + _codes(failed))
        if unchecked:
            notes.append(f"{SECTIONS[section]}未检测：" + _codes(unchecked))
        if section == "integrity":
            notes.append(f"移交前复核 {fixity_checked} 个归档包的 SHA-256 与 SM3 摘要，均与封包时一致")
        rows.append({"title": title, "section": section, "result": result, "transferor": "，".join(parts),
                     "note": "；".join(notes), "passed": len(passed), "unchecked": len(unchecked),
                     "failed": len(failed)})
    rows.append({"title": "载体外观检验", "section": "carrier", "result": "不适用" if carrier == "online" else "",
                 "transferor": "不适用（在线移交）" if carrier == "online" else "",
                 "note": "" if carrier == "online" else "由移交单位查验载体外观后填写", "passed": 0,
                 "unchecked": 0, "failed": 0})
    return tuple(rows)


# -- digests ------------------------------------------------------------------------------------

def _hashers():
    from ..content_types.attachment import _sm3

    return hashlib.sha256(), _sm3()


def digests(data: bytes) -> tuple[str, str]:
    sha, sm3 = _hashers()
    sha.update(data)
    sm3.update(data)
    return sha.hexdigest(), sm3.hexdigest()


def _open_blob(blob) -> IO[bytes]:
    try:
        return open(blob.committed(), "rb")  # noqa: SIM115 - the caller closes it
    except Exception:  # noqa: BLE001 - not committed yet: through ZODB
        return blob.open("r")


def _recheck(recs: list[Any]) -> None:
    """Re-hash every package against the digests sealed at filing; refuse the transfer on any difference."""
    bad = []
    for rec in recs:
        v = rec.current
        sha, sm3 = _hashers()
        try:
            with _open_blob(v.blob) as f:
                while chunk := f.read(CHUNK):
                    sha.update(chunk)
                    sm3.update(chunk)
        except Exception as exc:  # noqa: BLE001 - a missing blob file is a finding, not a 500
            bad.append(f"{rec.archival_code}（归档包无法读取：{type(exc).__name__}）")
            continue
        if sha.hexdigest() != v.sha256 or (v.sm3 and sm3.hexdigest() != v.sm3):
            bad.append(f"{rec.archival_code}（第 {v.version} 版归档包摘要与封包时不符）")
    if bad:
        raise Refusal("归档包固定性校验不符，不能移交，请先查明原因：" + "；".join(bad),
                      {"items": "摘要不符：" + "；".join(bad)}, status=409, code="fixity_failed")


# -- creating and cancelling --------------------------------------------------------------------

def _entry(site, rec) -> dict[str, Any]:
    """What the transfer keeps of one record (plain data: the register and package are rebuilt from it)."""
    item = site.get_item(rec.item_id)
    v = rec.current
    closed = closed_on(item) if item is not None else None
    return {"item_id": rec.item_id, "archival_code": rec.archival_code, "retention": rec.retention,
            "year": rec.year, "title": getattr(item, "title", "") or "", "number": getattr(item, "number", "") or "",
            "responsible": site["units"].title_of(getattr(item, "lead_unit", None)),
            "date": (closed or rec.filed).strftime("%Y%m%d"), "pages": int(v.pages or 0), "version": v.version,
            "bytes": int(v.size), "sha256": v.sha256, "sm3": v.sm3,
            "path": f"packages/{ascii_code(rec.archival_code)}-v{v.version}.zip"}


def _next_id(reg: TransferRegistry, year: int) -> str:
    prefix = f"YJ-{year}-"
    last = reg.transfers.maxKey(prefix + "9999") if len(reg.transfers) else None
    n = int(last[len(prefix):]) + 1 if last and last.startswith(prefix) else 1
    return f"{prefix}{n:04d}"


def _write_register(site, transfer: Transfer, pdf_blob: Blob, xlsx_blob: Blob, name: str) -> tuple:
    """Render the 登记表 as it stands now into the two blobs; ``(file name, size, sha256, sm3)`` of each."""
    ctx = register_context(site, transfer)
    files = []
    for blob, filename, payload in ((pdf_blob, f"{name}.pdf", register_pdf(ctx)),
                                    (xlsx_blob, f"{name}.xlsx", register_xlsx(ctx))):
        with blob.open("w") as f:
            f.write(payload)
        files.append((filename, len(payload), *digests(payload)))
    return tuple(files)


def create_transfer(site, data: dict[str, Any], *, actor: str, token: str = "") -> Transfer:
    """Record a 移交 of the records ``data["items"]`` names, with its register; nothing is written
    before every record is known to be transferable and every package re-hashed.

    ``data`` is the appstruct of :func:`transfer_schema`.  ``token`` (the form's submission
    token) makes a resubmitted form answer with the transfer it already made.
    """
    reg = registry_of(site)
    if token and reg is not None and token in reg.by_token:
        return reg.transfers[reg.by_token[token]]
    recs = _selected(site, list(data["items"]))
    _recheck(recs)
    created = now()
    form = {k: v for k, v in data.items() if k != "items"}
    entries = tuple(_entry(site, rec) for rec in recs)
    inspection = inspect(recs, carrier=form["carrier"], fixity_checked=len(recs))
    reg = registry_of(site, create=True)
    assert reg is not None
    tid = _next_id(reg, created.year)
    transfer = Transfer(tid, created, actor, form, entries, inspection)
    transfer.files = _write_register(site, transfer, transfer.register_pdf, transfer.register_xlsx, REGISTER)
    transfer.manifest = manifest_text(transfer)
    transfer.manifest_sha256, transfer.manifest_sm3 = digests(transfer.manifest.encode("utf-8"))
    reg.transfers[tid] = transfer
    for e in entries:
        reg.by_item[e["item_id"]] = tid  # the claim: a concurrent transfer of the same record conflicts here
    for rec in recs:  # what the 档案室's list shows beside the record (plain tuple)
        rec.transfer = (tid, form["transfer_date"].isoformat(), form["receiver_unit"])
    if token:
        reg.by_token[token] = tid
    record(site, "transfer", actor, "", transfer=tid, receiver_unit=form["receiver_unit"],
           transferor_unit=form["transferor_unit"], count=len(entries), bytes=transfer.total_bytes,
           carrier=CARRIERS[form["carrier"]], items=tuple(e["item_id"] for e in entries),
           manifest_sha256=transfer.manifest_sha256, manifest_sm3=transfer.manifest_sm3)
    return transfer


def cancel_transfer(site, transfer_id: str, *, actor: str, reason: str) -> Transfer:
    """撤销 a transfer (e.g. the archives refused the carrier): its records may be transferred again."""
    transfer = get_transfer(site, transfer_id)
    if transfer.state == CANCELLED:
        raise Refusal(f"移交批次 {transfer_id} 已撤销", status=409)
    if transfer.state == RECEIVED:
        raise Refusal(f"移交批次 {transfer_id} 已由接收单位登记接收，不能撤销", status=409)
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("请填写撤销原因", {"reason": "必填"})
    if len(reason) > LONG_MAX:
        raise Refusal("撤销原因过长", {"reason": f"不能超过 {LONG_MAX} 个字符"})
    reg = registry_of(site)
    assert reg is not None
    root = site["archive"]
    for e in transfer.entries:
        if reg.by_item.get(e["item_id"]) == transfer_id:
            del reg.by_item[e["item_id"]]
        rec = root.get(e["item_id"])
        if rec is not None and (getattr(rec, "transfer", None) or ("",))[0] == transfer_id:
            rec.transfer = None
    transfer.state = CANCELLED
    transfer.cancelled = {"time": now(), "actor": actor, "reason": reason}
    record(site, "transfer_cancel", actor, "", transfer=transfer_id, reason=reason,
           items=tuple(e["item_id"] for e in transfer.entries))
    return transfer


def receipt_schema() -> colander.SchemaNode:
    """The 接收登记: the 接收单位's result for each 检验 row, its 审核人 and the date."""
    schema = colander.SchemaNode(colander.Mapping(), name="receipt")
    schema.add(colander.SchemaNode(colander.Date(), name="received_on", title="接收日期", missing=colander.required))
    schema.add(_text("reviewer", "接收单位审核人"))
    titles = dict((section, title) for title, section in INSPECTIONS) | {"carrier": "载体外观检验"}
    for key in ROW_KEYS:
        schema.add(colander.SchemaNode(
            colander.String(), name=key, title=titles[key],
            validator=colander.OneOf(RECEIPT_RESULTS, msg_err="应为 通过、不通过、未检测 或 不适用")))
        schema.add(_text(f"{key}_note", f"{titles[key]}说明", required=False, max_len=200))
    return schema


def validate_receipt(data: Any) -> dict[str, Any]:
    return validate(receipt_schema(), data)


def record_receipt(site, transfer_id: str, data: dict[str, Any], *, actor: str) -> Transfer:
    """登记接收: what the 接收单位 wrote in its column of the signed 登记表 (each 检验 row, 审核人, 日期).

    The register is made again with both columns; the transfer package keeps the register as it
    was handed over, so its manifest still recomputes.  A received transfer can no longer be cancelled.
    """
    transfer = get_transfer(site, transfer_id)
    if transfer.state == CANCELLED:
        raise Refusal(f"移交批次 {transfer_id} 已撤销，不能登记接收", status=409)
    if transfer.state == RECEIVED:
        raise Refusal(f"移交批次 {transfer_id} 已登记接收", status=409)
    if data["received_on"] < transfer.form["transfer_date"]:
        raise Refusal("接收日期不能早于移交日期", {"received_on": "不能早于移交日期 "
                                                  + transfer.form["transfer_date"].isoformat()})
    transfer.receipt = {"received_on": data["received_on"], "reviewer": data["reviewer"], "time": now(),
                        "actor": actor, "results": tuple((k, data[k], data.get(f"{k}_note") or "") for k in ROW_KEYS)}
    transfer.state = RECEIVED
    transfer.received_pdf, transfer.received_xlsx = Blob(), Blob()
    transfer.received_files = _write_register(site, transfer, transfer.received_pdf, transfer.received_xlsx,
                                              f"{REGISTER}（接收）")
    record(site, "transfer_receipt", actor, "", transfer=transfer_id, received_on=data["received_on"],
           reviewer=data["reviewer"], results=tuple(f"{k}:{r}" for k, r, _n in transfer.receipt["results"]),
           items=tuple(e["item_id"] for e in transfer.entries))
    return transfer


# -- the register -------------------------------------------------------------------------------

def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.2f}"


def register_context(site, transfer: Transfer) -> dict[str, Any]:
    """Everything the register shows, as text (the PDF template and the workbook share it)."""
    form = transfer.form
    carrier = CARRIERS[form["carrier"]]
    size = transfer.total_bytes
    groups = []
    for code, title in RETENTIONS.items():
        rows = [e for e in transfer.entries if e["retention"] == code]
        if rows:
            groups.append({"retention": code, "title": title, "rows": rows})
    return {
        "id": transfer.transfer_id, "title": form["title"], "description": form["description"],
        "transferor_unit": form["transferor_unit"], "receiver_unit": form["receiver_unit"],
        "count": transfer.count, "volumes": 0, "bytes": size, "mb": _mb(size),
        "quantity": f"{transfer.count} 件，0 卷", "data_volume": f"{size} 字节（{_mb(size)} MB）",
        "carrier": carrier, "carrier_spec": form.get("carrier_spec") or "",
        "carrier_text": carrier + (f"，{form['carrier_spec']}" if form.get("carrier_spec") else ""),
        "carrier_numbers": form.get("carrier_numbers") or ("不适用（在线移交）" if form["carrier"] == "online" else ""),
        "inspection": _with_receipt(transfer), "received": transfer.receipt is not None,
        "receiver_reviewer": (transfer.receipt or {}).get("reviewer", ""),
        "received_on": _date_text(transfer.receipt["received_on"]) if transfer.receipt else "",
        "transferor": form["transferor"], "receiver": form["receiver"],
        "reviewer": form["reviewer"], "date": _date_text(form["transfer_date"]),
        "created": as_cst(transfer.created).strftime("%Y-%m-%d %H:%M"), "groups": groups,
        "retentions": RETENTIONS,
    }


def _with_receipt(transfer: Transfer) -> tuple[dict[str, Any], ...]:
    """The 检验 rows, each with the 接收单位's ``receiver`` text (empty until the receipt is registered)."""
    found = {k: (result, note) for k, result, note in (transfer.receipt or {}).get("results", ())}
    rows = []
    for row in transfer.inspection:
        result, note = found.get(row["section"], ("", ""))
        rows.append({**row, "receiver": result + (f"（{note}）" if note else "")})
    return tuple(rows)


def _date_text(d: date) -> str:
    return f"{d.year} 年 {d.month} 月 {d.day} 日"


class _RenderCache:
    """The last few register PDFs by their HTML: a request retried after a write conflict takes the
    PDF it rendered a moment ago instead of laying it out again."""

    KEEP, TTL = 4, 120.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, bytes]] = {}

    def get_or_render(self, html: str, render) -> bytes:
        key = hashlib.sha256(html.encode("utf-8")).hexdigest()
        with self._lock:
            cutoff = time.monotonic() - self.TTL
            for k in [k for k, (t, _) in self._held.items() if t < cutoff]:
                del self._held[k]
            held = self._held.get(key)
        if held is not None:
            return held[1]
        pdf = render()
        with self._lock:
            self._held[key] = (time.monotonic(), pdf)
            while len(self._held) > self.KEEP:
                self._held.pop(min(self._held, key=lambda k: self._held[k][0]))
        return pdf


_pdfs = _RenderCache()


def register_pdf(ctx: dict[str, Any]) -> bytes:
    """The register and the 归档/移交目录 as PDF/A (A4 portrait; the 目录 landscape)."""
    html = render_template("duban_archive.archive:templates/transfer_register.pt", r=ctx)
    try:
        # the 目录 grows with the records: about 25 rows a page, a few tenths of a second each
        timeout = DEFAULT_TIMEOUT + 0.2 * ctx["count"]
        return _pdfs.get_or_render(html, lambda: render_pdf(html, title=f"{REGISTER} {ctx['id']}", timeout=timeout))
    except RenderFailed as exc:
        raise Refusal(f"登记表 PDF 生成失败：{exc.message}", status=409, code="render_failed") from exc


def register_xlsx(ctx: dict[str, Any]) -> bytes:
    """The register (sheet 登记表, one field a row) and the 目录 (sheet 移交目录) for the receiver's tools."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="top")
    wb = Workbook()
    ws = wb.active
    ws.title = "登记表"
    ws.append([REGISTER])
    ws.merge_cells("A1:C1")
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.append(["移交批次", ctx["id"]])
    fields = [("交接工作名称", ctx["title"]), ("内容描述", ctx["description"]),
              ("移交电子档案数量（件）", ctx["count"]), ("移交电子档案数量（卷）", ctx["volumes"]),
              ("移交数据量（字节）", ctx["bytes"]), ("移交数据量（MB）", float(ctx["mb"])),
              ("载体起止顺序号", ctx["carrier_numbers"]), ("移交载体类型", ctx["carrier"]),
              ("移交载体规格", ctx["carrier_spec"])]
    for label, value in fields:
        ws.append([label, value])
    ws.append(["检验内容", f"移交单位：{ctx['transferor_unit']}", f"接收单位：{ctx['receiver_unit']}"])
    for row in ctx["inspection"]:
        text = row["transferor"] + (f"（{row['note']}）" if row["note"] else "")
        ws.append([row["title"], text, row["receiver"]])
    ws.append(["填表人（签名）", ctx["transferor"], ctx["receiver"]])
    ws.append(["审核人（签名）", ctx["reviewer"], ctx["receiver_reviewer"]])
    ws.append(["单位（印章）", ctx["transferor_unit"], ctx["receiver_unit"]])
    ws.append(["日期", ctx["date"], ctx["received_on"]])
    for r in ws.iter_rows(min_row=2, max_row=ws.max_row, max_col=3):
        for cell in r:
            cell.border = box
            cell.alignment = wrap
    for col, width in zip("ABC", (24, 60, 40), strict=True):
        ws.column_dimensions[col].width = width
    cat = wb.create_sheet("移交目录")
    columns = ("序号", "档号", "文号", "责任者", "题名", "日期", "保管期限", "页数", "归档包版本", "字节数",
               "SHA-256", "SM3", "包内路径")
    cat.append([f"归档/移交目录（移交批次 {ctx['id']}）"])
    cat.append(list(columns))
    for cell in cat[2]:
        cell.font = Font(bold=True)
    for group in ctx["groups"]:
        for n, e in enumerate(group["rows"], 1):
            cat.append([n, e["archival_code"], e["number"], e["responsible"], e["title"], e["date"], group["title"],
                        e["pages"], e["version"], e["bytes"], e["sha256"], e["sm3"], e["path"]])
            cat.cell(cat.max_row, 6).number_format = "@"
    for col, width in zip("ABCDEFGHIJKLM", (6, 26, 18, 16, 40, 10, 10, 6, 8, 12, 66, 66, 40), strict=True):
        cat.column_dimensions[col].width = width
    for sheet in (ws, cat):
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    cat.page_setup.orientation = "landscape"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# -- the package --------------------------------------------------------------------------------

def manifest_text(transfer: Transfer) -> str:
    """Every file of the package (records' packages, register files): path, bytes, SHA-256, SM3."""
    lines = ["# 路径\t字节数\tSHA-256\tSM3"]
    for name, size, sha, sm3 in transfer.files:
        lines.append(f"{name}\t{size}\t{sha}\t{sm3}")
    for e in transfer.entries:
        lines.append(f"{e['path']}\t{e['bytes']}\t{e['sha256']}\t{e['sm3']}")
    return "\n".join(lines) + "\n"


def manifest_digests_text(transfer: Transfer) -> str:
    return (f"# 清单文件自身的摘要\nSHA-256\t{transfer.manifest_sha256}\t{MANIFEST}\n"
            f"SM3\t{transfer.manifest_sm3}\t{MANIFEST}\n")


def _info(name: str, when: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=as_cst(when).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # zips, PDF, xlsx: compressed already
    info.external_attr = 0o644 << 16
    return info


def write_package(site, transfer: Transfer, out: IO[bytes]) -> None:
    """Write the transfer package to ``out``: the same bytes on every call."""
    root = site["archive"]
    when = transfer.created
    with zipfile.ZipFile(out, "w") as zf:
        for (name, *_rest), blob in zip(transfer.files, (transfer.register_pdf, transfer.register_xlsx),
                                        strict=True):
            with _open_blob(blob) as src, zf.open(_info(name, when), "w") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
        for e in transfer.entries:
            rec = root.get(e["item_id"])
            version = rec.versions[e["version"] - 1] if rec is not None and len(rec.versions) >= e["version"] else None
            if version is None:
                raise Refusal(f"档案 {e['archival_code']} 的第 {e['version']} 版归档包已不在系统中", status=409)
            with _open_blob(version.blob) as src, zf.open(_info(e["path"], when), "w") as dst:
                while chunk := src.read(CHUNK):
                    dst.write(chunk)
        zf.writestr(_info(MANIFEST, when), transfer.manifest.encode("utf-8"))
        zf.writestr(_info(MANIFEST_DIGESTS, when), manifest_digests_text(transfer).encode("utf-8"))


def package_name(transfer: Transfer) -> str:
    return f"移交-{transfer.transfer_id}.zip"


def as_json(transfer: Transfer, *, full: bool = True) -> dict[str, Any]:
    """The transfer as the API answers it."""
    form = transfer.form
    data: dict[str, Any] = {
        "id": transfer.transfer_id, "state": transfer.state, "state_title": STATES[transfer.state],
        "created": as_cst(transfer.created).isoformat(), "actor": transfer.actor, "title": form["title"],
        "transferor_unit": form["transferor_unit"], "receiver_unit": form["receiver_unit"],
        "transfer_date": form["transfer_date"].isoformat(), "count": transfer.count,
        "bytes": transfer.total_bytes, "carrier": form["carrier"],
    }
    if full:
        data.update({
            "description": form["description"], "carrier_spec": form.get("carrier_spec") or "",
            "carrier_numbers": form.get("carrier_numbers") or "", "transferor": form["transferor"],
            "receiver": form["receiver"], "reviewer": form["reviewer"],
            "inspection": [{k: row[k] for k in ("title", "result", "transferor", "note", "passed", "unchecked",
                                                 "failed")} for row in transfer.inspection],
            "items": [dict(e) for e in transfer.entries],
            "files": [{"path": n, "bytes": s, "sha256": h, "sm3": m} for n, s, h, m in transfer.files],
            "manifest_sha256": transfer.manifest_sha256, "manifest_sm3": transfer.manifest_sm3,
            "receipt": ({"received_on": transfer.receipt["received_on"].isoformat(),
                         "reviewer": transfer.receipt["reviewer"], "actor": transfer.receipt["actor"],
                         "results": [{"row": k, "result": r, "note": n} for k, r, n in transfer.receipt["results"]]}
                        if transfer.receipt else None),
            "cancelled": ({"time": as_cst(transfer.cancelled["time"]).isoformat(),
                           "actor": transfer.cancelled["actor"], "reason": transfer.cancelled["reason"]}
                          if transfer.cancelled else None),
        })
    return data


def default_form(site, registry) -> dict[str, Any]:
    """What the form starts with: the 立档单位 as 移交单位, today's date, 在线."""
    from .filing import source_organization

    return {"transferor_unit": source_organization(site, registry), "transfer_date": today(), "carrier": "online"}
