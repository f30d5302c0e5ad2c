"""An auditor's every look goes on the record (DESIGN.md: 审计员 — "every look is audit-logged").

Every view that shows an auditor item content calls :func:`log_read` — item pages and API
detail, listings and lists, search results, worklists, thumbnails, previews, exports.  Other
roles' reads are not logged here (downloads are logged for everyone, as before, by the views
themselves).  Entries are plain data, action ``view``:

* one item (the page, ``GET /api/v1/items/{id}``, a thumbnail, the attachments list, a dossier
  preview, the audit trail …): ``target`` is the item id, so the entry shows in that item's own
  audit trail; ``via`` names the path, other details what exactly was seen (``attachment=``);
* a listing (a board page, the worklist, search results, ``GET /api/v1/items``, an export …):
  ONE entry per request, ``target`` empty, ``items`` = the ids shown in their order (a tuple of
  strings), ``count`` and the listing's scope (``board=``, ``q=``, ``page=`` …).  A supervisor
  reads "who saw item X in a list" by scanning these entries' ``items`` (site-wide log); the
  item's own trail keeps the direct looks.  A listing that showed nothing writes nothing.

Only :func:`duban_archive.audit.log.record` writes: the entry joins the request's transaction,
so a refused or failed request leaves no trace, and nothing read is unrecorded (a commit that
fails — a full disk — refuses the answer too).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .log import record

AUDITOR_ROLE = "auditor"


def is_auditor(request) -> bool:
    """Whether the caller (session or bearer token) holds the ``auditor`` role."""
    ident = getattr(request, "identity", None)
    return ident is not None and AUDITOR_ROLE in (getattr(ident, "roles", None) or ())


def item_id_of(obj: Any) -> str:
    """An item id from an id, an item, or a search row (``row.item``)."""
    if isinstance(obj, str):
        return obj
    item = getattr(obj, "item", obj)
    return str(getattr(item, "item_id", "") or "")


def log_read(request, item_ids: str | Any | Iterable[Any], via: str, **detail: Any) -> str | None:
    """Record that an auditor read ``item_ids``; returns the entry key, or None (not an auditor,
    nothing shown).

    ``item_ids`` is one item (an id or the item itself: a single-item read with ``target``) or an
    iterable of ids / items / search rows (a listing: one entry with ``items``).  ``detail``
    values must be plain data (str, int, bool, date, tuples of those); None values are dropped.
    """
    if not is_auditor(request):
        return None
    from ..content_types.site_access import get_site

    site = get_site(request)
    actor = request.identity.username
    detail = {k: (tuple(v) if isinstance(v, list) else v) for k, v in detail.items() if v is not None}
    if isinstance(item_ids, str) or hasattr(item_ids, "item_id"):
        target = item_id_of(item_ids)
        if not target:
            return None
        return record(site, "view", actor, target, via=via, **detail)
    ids = tuple(dict.fromkeys(i for i in (item_id_of(x) for x in item_ids) if i))
    if not ids:
        return None
    return record(site, "view", actor, "", via=via, items=ids, count=len(ids), **detail)
