"""The archive's own records, at ``site["archive"]``.

An :class:`ArchiveRecord` per filed item keeps the 档号 and every package
version as a blob with its digests; versions are appended, never replaced
(a correction makes version 2 and keeps version 1).

件号 counters are plain Persistent objects, one per 全宗·年度·保管期限·机构, so
two transactions drawing from one counter conflict and one is retried: a
number is never handed out twice.  Filing draws its 件号 in a short
transaction of its own (``filing.reserve_piece``) and records the draw in
``reservations`` (item id -> (series, 件号)), so the filing transaction, which
renders the dossier for most of a second, holds no counter, and a retried or
failed filing of the same item gets the same number back: the numbers
handed out stay consecutive.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from ZODB.blob import Blob

from ..content_types.folder import Folder
from ..content_types.numbering import Counter


class PackageVersion(Persistent):
    """One sealed BagIt package (zip) and the dossier it contains."""

    type_name = "archive_package"
    #: the version that replaced this one (被替代), set by a 著录更正; a class default, so
    #: versions pickled before it existed need no evolve step
    superseded_by: int | None = None

    def __init__(self, version: int, created, actor: str, reason: str) -> None:
        self.version = version
        self.created = created
        self.actor = actor
        self.reason = reason
        self.blob = Blob()
        self.dossier = Blob()
        self.size = 0
        self.sha256 = ""
        self.sm3 = ""
        self.dossier_size = 0
        self.dossier_sha256 = ""
        self.pages = 0
        #: the 四性检测 report (plain dict) made when the package was sealed
        self.checks: dict[str, Any] = {}


class ArchiveRecord(Persistent):
    """What filing (立卷归档) decided about one item."""

    type_name = "archive_record"
    __name__: str | None = None
    __parent__ = None
    #: date of destruction (销毁) and its 销毁清册 entry {date, time, actor, reason, approver};
    #: class defaults, so records pickled before disposal existed need no evolve step
    disposed: date | None = None
    disposal: dict[str, Any] | None = None

    def __init__(self, item_id: str, archival_code: str, retention: str, year: int,
                 unit_code: str, piece: int, filed, filed_by: str) -> None:
        self.item_id = item_id
        self.archival_code = archival_code
        self.retention = retention
        self.year = year
        self.unit_code = unit_code
        self.piece = piece
        self.filed = filed
        self.filed_by = filed_by
        self.versions = PersistentList()
        self.legal_hold = False
        self.legal_hold_reason = ""
        #: corrections: plain dicts {time, actor, field, old, new, reason, version}
        self.corrections = PersistentList()
        #: 备考表 notes; each correction adds one
        self.notes = PersistentList()

    @property
    def current(self) -> PackageVersion | None:
        return self.versions[-1] if self.versions else None


class ArchiveRecords(Folder):
    """``site["archive"]``: item id -> ArchiveRecord, plus the 件号 counters and reservations."""

    type_name = "archive"
    title = "档案室"
    #: item id -> (series, 件号) drawn for an item not filed yet (``filing.reserve_piece``);
    #: class defaults, so archives pickled before reservations existed need no evolve step
    reservations = None
    #: series -> tuple of 件号 handed back (an item filed in another series), handed out first
    released = None

    def __init__(self) -> None:
        super().__init__()
        self.counters = OOBTree()
        #: 档号 -> item id: uniqueness is checked here, inside the transaction
        self.by_code = OOBTree()
        self.reservations = OOBTree()
        self.released = OOBTree()

    def counter(self, key: str) -> Counter:
        c = self.counters.get(key)
        if c is None:
            c = self.counters[key] = Counter()  # conflicts on purpose: 件号 are never shared
        return c

    def handed_out(self, series: str) -> list[int]:
        """The 件号 of ``series`` held by a record or a reservation: 1..counter without the handed-back ones."""
        c = self.counters.get(series)
        top = c.value if c is not None else 0
        free = set(self.released.get(series, ())) if self.released is not None else set()
        return [n for n in range(1, top + 1) if n not in free]


def archive_root(site) -> ArchiveRecords:
    """``site["archive"]``, created on first use (older sites lack it)."""
    root = site.get("archive")
    if root is None:
        root = site.add("archive", ArchiveRecords())
    return root
