"""Fixity (固定性校验): re-hash every archived blob and compare with its digest.

Covers each package version (zip and dossier) and every attachment of an
archived item (against its capture-time SHA-256).  Reading goes through
``blob.open()``, i.e. the committed file on disk — which is what rots.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from ..audit.log import record


@dataclass
class FixityReport:
    checked: int = 0
    bytes: int = 0
    mismatches: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _sha256(blob) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with blob.open("r") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def verify(site, *, actor: str = "system:fixity") -> FixityReport:
    """Check everything archived; audit-log each mismatch and one summary entry."""
    report = FixityReport()
    root = site.get("archive")
    if root is None:
        return report

    def check(item_id: str, what: str, blob, expected: str) -> None:
        try:
            got, size = _sha256(blob)
        except OSError as exc:
            got, size = f"无法读取：{exc}", 0
        report.checked += 1
        report.bytes += size
        if got != expected:
            report.mismatches.append({"item": item_id, "what": what, "expected": expected, "actual": got})

    for item_id, rec in root.items():
        for version in rec.versions:
            check(item_id, f"归档包第 {version.version} 版", version.blob, version.sha256)
            check(item_id, f"档案 PDF 第 {version.version} 版", version.dossier, version.dossier_sha256)
        item = site.get_item(item_id)
        if item is not None:
            for att in item.attachments.values():
                check(item_id, f"附件 {att.__name__}（{att.filename}）", att.blob, att.sha256)
    for m in report.mismatches:
        record(site, "fixity", actor, m["item"], result="mismatch", what=m["what"], expected=m["expected"],
               actual=m["actual"])
    record(site, "fixity", actor, "", result="ok" if report.ok else "mismatch", checked=report.checked,
           bytes=report.bytes, mismatches=len(report.mismatches))
    return report
