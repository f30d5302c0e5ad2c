"""The site root and the fixed tree below it.

``/boards/<board>/<item>`` is what users traverse; the other top-level
folders hold people, the audit log and the queues the subsystems own.
"""

from __future__ import annotations

from typing import Any

from BTrees.OOBTree import OOBTree
from persistent.mapping import PersistentMapping

from .folder import Folder

#: the site's key in the ZODB root (here, beside the class, so that both ``bootstrap`` which
#: creates the site and ``site_access`` which opens it can name it without importing each other)
ROOT_KEY = "duban_site"

#: Schema generation this code writes; see ``duban_archive.evolve``.
#: 2: text policy (evolve step repair_text), new sites hold clean text; 3: lean writes (lean_writes,
#: issue 16); 6: 12345 派单 facts (hotline_dispatch_facts, seed 003); 7: 持续推进 monthly report clock
#: (long_running_monthly_reports, seed 002) — issue 14; 8: 三员分立 (three_administrators, issue 15);
#: 9: lean transactions (lean_transactions, issue 16: derived ACLs, ItemStatus, plans on items, paged audit);
#: 11: 工单编号/线索编号 claimed, 来电号码 ACLs (board_forms, issue 15);
#: 12: capture-time checks queued for old uploads, replaced package versions marked 被替代
#: (capture_checks_and_superseded_versions, issue 13); 13: 移交 registry (transfer_registry, issue 13);
#: new sites need none of them.
SCHEMA_GENERATION = 13


class Site(Folder):
    type_name = "site"
    title = "督查督办"

    @property
    def __acl__(self) -> tuple:
        """Site-wide grants live in code (security/acl.py), never in the pickle."""
        from ..security.acl import SITE_ACL

        return SITE_ACL

    def __init__(self) -> None:
        super().__init__()
        self.__name__ = ""
        self.__parent__ = None
        self.generation = SCHEMA_GENERATION
        #: item id -> item, across boards (the API addresses items by id)
        self.item_index = OOBTree()
        #: attachment id -> attachment (downloads are addressed by id)
        self.attachment_index = OOBTree()
        #: per-board-per-year numbering counters (see numbering.py)
        self.counters = OOBTree()
        #: free-form settings an admin edits (calendar years, rules choice ...)
        self.settings = PersistentMapping()

    @property
    def boards(self) -> Folder:
        return self["boards"]

    def get_item(self, item_id: str) -> Any:
        return self.item_index.get(item_id)


def find_site(resource: Any) -> Site:
    while resource is not None and not isinstance(resource, Site):
        resource = resource.__parent__
    if resource is None:
        raise LookupError("resource is not inside a site")
    return resource


def resource_path(resource: Any) -> str:
    names = []
    while resource is not None and resource.__name__:
        names.append(resource.__name__)
        resource = resource.__parent__
    return "/" + "/".join(reversed(names))
