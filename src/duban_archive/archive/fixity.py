"""Fixity (固定性校验): re-hash every stored blob and compare it with its digest.

Covers every blob the site keeps:

* every attachment of every item — archived or not — against the SHA-256
  taken when it was uploaded (walks ``site.item_index``, then any attachment
  in ``site.attachment_index`` that no item holds any more);
* every package version of every archive record: the BagIt zip and the
  dossier PDF, against the digests taken when the package was sealed.

Reading goes to the committed file on disk (``blob.committed()``) — that is
what rots — in 1 MiB chunks, never whole into memory.  A blob whose file is
gone or cannot be read is a finding of kind ``missing``; a file whose digest
differs is a finding of kind ``mismatch``.  One bad record never stops the
run: every other blob is still checked.

:func:`scan` only reads; :func:`record_report` writes the audit entries (one
summary entry, one entry per finding, targeted at the item); :func:`verify`
does both in the caller's transaction; :func:`run_fixity` opens its own
connection and transaction manager, commits the audit entries (retrying on
conflicts) and is what the CLI and the maintenance scheduler call.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass, field

import transaction
from transaction.interfaces import TransientError

from ..audit.log import record

CHUNK = 1 << 20
#: audit commits attempted before giving up (ZODB conflicts on the audit log are normal)
COMMIT_ATTEMPTS = 5
#: first back-off ceiling in seconds; doubles per attempt
BACKOFF = 0.05
#: items walked between connection cache trims (a large site must not end up in memory)
GC_EVERY = 200

MISSING = "missing"
MISMATCH = "mismatch"


@dataclass
class Finding:
    kind: str  # MISSING or MISMATCH
    item: str  # item id (the audit target)
    what: str  # e.g. "附件 zdgz-2026-0001-a1（现场照片1.jpg）", "归档包第 1 版"
    expected: str  # digest taken at capture / sealing
    actual: str  # digest now, or why the file could not be read

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "item": self.item, "what": self.what, "expected": self.expected,
                "actual": self.actual}


@dataclass
class FixityReport:
    checked: int = 0  # blobs examined (including the missing ones)
    bytes: int = 0  # bytes read and hashed
    findings: list[Finding] = field(default_factory=list)
    #: set by run_fixity: the audit entries were committed
    audited: bool = False

    @property
    def missing(self) -> int:
        return sum(1 for f in self.findings if f.kind == MISSING)

    @property
    def mismatched(self) -> int:
        return sum(1 for f in self.findings if f.kind == MISMATCH)

    @property
    def ok(self) -> bool:
        return not self.findings


def _describe(exc: BaseException) -> str:
    """Why a blob could not be read, for the report and the audit entry (names the file when known)."""
    name = type(exc).__name__
    path = getattr(exc, "filename", None)
    if name == "POSKeyError" and exc.args and str(exc.args[0]).startswith("No blob file at "):
        path = str(exc.args[0])[len("No blob file at "):]
    if name == "POSKeyError" or isinstance(exc, FileNotFoundError):
        return f"文件缺失（{name}）" + (f"：{path}" if path else "")
    return f"无法读取（{name}：{exc}）"[:500]


def _committed_path(blob) -> str | None:
    """The blob's committed file, as of this connection's snapshot (None: not committed).

    A ghost blob is not loaded through ``Connection.setstate``: that logs a traceback
    for a missing file before raising.  Asking the connection's (MVCC) storage for
    the record's serial and then for the blob file raises the same POSKeyError quietly
    and keeps the blob out of the object cache.
    """
    from ZODB.interfaces import BlobError

    jar, oid = blob._p_jar, blob._p_oid
    if jar is not None and oid is not None and blob._p_changed is None:
        storage = getattr(jar, "_storage", None)
        if storage is not None and hasattr(storage, "loadBlob"):
            _, serial = storage.load(oid)
            return storage.loadBlob(oid, serial)
    try:
        return blob.committed()
    except BlobError:  # new in this transaction
        return None


def _open(blob):
    """The committed file on disk, opened directly; ``blob.open('r')`` when there is none yet."""
    path = _committed_path(blob)
    if path is None:
        return blob.open("r")
    return open(path, "rb")


def _sha256(blob) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with _open(blob) as f:
        while chunk := f.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


class _Scanner:
    def __init__(self) -> None:
        self.report = FixityReport()

    def check(self, item_id: str, what: str, get_blob, expected: str) -> None:
        """Hash one blob; any failure to reach or read it is a ``missing`` finding, never an exception."""
        report = self.report
        report.checked += 1
        expected = str(expected or "")
        try:
            got, size = _sha256(get_blob())
        except Exception as exc:  # noqa: BLE001 — POSKeyError, OSError, BlobError, a broken record …
            report.findings.append(Finding(MISSING, item_id, what, expected, _describe(exc)))
            return
        report.bytes += size
        if got != expected:
            report.findings.append(Finding(MISMATCH, item_id, what, expected, got))

    def attachment(self, item_id: str, name: str, att) -> None:
        try:
            what = f"附件 {name}（{att.filename}）"
            expected = att.sha256
        except Exception as exc:  # noqa: BLE001 — the attachment record itself cannot be loaded
            self.report.checked += 1
            self.report.findings.append(Finding(MISSING, item_id, f"附件 {name}", "", _describe(exc)))
            return
        self.check(item_id, what, lambda: att.blob, expected)

    def package_versions(self, item_id: str, rec) -> None:
        try:
            versions = [(v.version, v, v.sha256, v.dossier_sha256) for v in rec.versions]
        except Exception as exc:  # noqa: BLE001 — the record or a version cannot be loaded
            self.report.checked += 1
            self.report.findings.append(Finding(MISSING, item_id, "归档记录", "", _describe(exc)))
            return
        for number, version, package_sha, dossier_sha in versions:
            self.check(item_id, f"归档包第 {number} 版", lambda v=version: v.blob, package_sha)
            self.check(item_id, f"档案 PDF 第 {number} 版", lambda v=version: v.dossier, dossier_sha)


def _gc(site) -> None:
    jar = getattr(site, "_p_jar", None)
    if jar is not None:
        jar.cacheGC()


def _item_id_of(att, name: str) -> str:
    try:
        item = att.__parent__.__parent__
        return str(item.item_id)
    except Exception:  # noqa: BLE001 — orphaned or broken: attachment ids start with the item id
        return name.rsplit("-a", 1)[0]


def scan(site) -> FixityReport:
    """Re-hash every stored blob of ``site``; writes nothing."""
    scanner = _Scanner()
    seen: set[str] = set()
    for n, (item_id, item) in enumerate(site.item_index.items(), 1):
        try:
            attachments = list(item.attachments.items())
        except Exception as exc:  # noqa: BLE001 — an item whose folder cannot be loaded
            scanner.report.checked += 1
            scanner.report.findings.append(Finding(MISSING, item_id, "附件目录", "", _describe(exc)))
            attachments = []
        for name, att in attachments:
            seen.add(name)
            scanner.attachment(item_id, name, att)
        if n % GC_EVERY == 0:
            _gc(site)
    index = getattr(site, "attachment_index", None)
    if index is not None:
        for name, att in index.items():
            if name not in seen:
                scanner.attachment(_item_id_of(att, name), name, att)
    root = site.get("archive")
    if root is not None:
        for n, (item_id, rec) in enumerate(root.items(), 1):
            scanner.package_versions(item_id, rec)
            if n % GC_EVERY == 0:
                _gc(site)
    return scanner.report


def record_report(site, report: FixityReport, actor: str = "system:fixity") -> None:
    """Audit-log one entry per finding (target: the item) and one summary entry."""
    for f in report.findings:
        record(site, "fixity", actor, f.item, result=f.kind, what=f.what, expected=f.expected,
               actual=f.actual)
    record(site, "fixity", actor, "", result="ok" if report.ok else "problems", checked=int(report.checked),
           bytes=int(report.bytes), missing=report.missing, mismatched=report.mismatched)


def verify(site, *, actor: str = "system:fixity") -> FixityReport:
    """Check every stored blob and audit-log the outcome in the caller's transaction (not committed)."""
    report = scan(site)
    record_report(site, report, actor)
    return report


def run_fixity(registry, actor: str = "system:fixity") -> FixityReport:
    """Run fixity on its own connection and transaction manager; commit the audit entries.

    For the CLI and scheduled maintenance.  Hashing happens once; committing the
    audit entries is retried on conflicts.  When every attempt conflicted the
    report comes back with ``audited = False``.  Nothing is logged: the caller
    reports (the CLI prints Chinese lines; a scheduler logs the report).
    """
    from ..content_types.site_access import open_site

    tm = transaction.TransactionManager()
    with open_site(registry, tm=tm) as site:
        report = scan(site)
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                record_report(site, report, actor)
                tm.commit()
            except TransientError:
                tm.abort()
                time.sleep(random.uniform(0, BACKOFF * (2 ** attempt)))
                tm.begin()
                continue
            report.audited = True
            break
    return report
