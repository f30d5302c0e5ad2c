"""The listing index: a small transactional ZODB catalog for listings and worklists.

Board pages, ``GET /api/v1/items`` and 我的待办 must answer in milliseconds
over 100k items, filtered by state/unit/year and by what the caller may view.
A hypatia catalog kept *in* ZODB does that and, unlike the whoosh full-text
index, changes in the same transaction as the item, so a listing never lags
behind a commit.  (Full-text search lives in the whoosh catalog.)

Indexes read plain attributes of an :class:`_Document` built per item, so only
attribute names are pickled — never callables (pickles outlive code).
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from typing import Any

import BTrees
from hypatia.catalog import Catalog
from hypatia.field import FieldIndex
from hypatia.keyword import KeywordIndex
from hypatia.query import And, Eq, InRange, Lt, Not
from hypatia.query import Any as AnyOf
from persistent import Persistent
from pyramid.authorization import Allow

from ..timeutil import CST, now

FAMILY = BTrees.family64
NUMBER_RE = re.compile(r"^([A-Z0-9]+)-(\d{4})-(\d+)$")
UNORDERED_BASE = 9 * 10**18
NO_DATE = date(9999, 12, 31)  # sorts last; keeps every item sortable
NO_TIME = datetime(9999, 12, 31, tzinfo=CST)

#: sort name -> field index; "number" needs none (docids sort like 事项编号)
SORTS = {"number": None, "deadline": "deadline", "registered_on": "registered_on",
         "modified": "modified", "due": "due"}


class _Document:
    """The indexed view of one item (plain values only)."""

    def __init__(self, item: Any, registry: Any) -> None:
        self.board = item.board_id
        self.state = item.state
        self.units = list(item.units)
        registered = getattr(item, "registered_on", None)
        self.registered_on = registered or NO_DATE
        self.deadline = getattr(item, "deadline", None) or NO_DATE
        modified = getattr(item, "modified", None)
        # to the hour: "最近更新" needs no finer order (ties go by 事项编号), and a
        # unique value per item would make a 100k-item walk load 100k index sets
        self.modified = modified.replace(minute=0, second=0, microsecond=0) if modified else NO_TIME
        self.due = getattr(item, "next_due", None) or NO_TIME
        self.allowed = sorted({p for action, p, perm in item.__acl__
                               if action == Allow and _grants_view(perm)})
        state = _state(item, registry)
        self.open = not (state.final if state is not None else False) and item.state not in ("closed", "archived")
        self.worklist = []
        if state is not None and state.worklist:
            from ..security.roles import principals_for_token

            lead = getattr(item, "lead_unit", None)
            assist = getattr(item, "assist_units", ()) or ()
            for token in state.worklist_roles:
                for p in principals_for_token(token, lead, assist):
                    self.worklist += [f"{state.worklist}|{p}", f"*|{p}"]


def _grants_view(perm: Any) -> bool:
    if isinstance(perm, str):
        return perm == "view"
    return "view" in perm if isinstance(perm, tuple | list) else False


def _state(item: Any, registry: Any):
    wf = getattr(registry, "duban_workflows", None) if registry is not None else None
    workflow = wf.get(getattr(item, "workflow", "")) if wf is not None else None
    return workflow.states.get(item.state) if workflow is not None else None


class Listing(Persistent):
    """The catalog plus the docid <-> item id maps."""

    __name__: str | None = None
    __parent__ = None

    def __init__(self) -> None:
        self.catalog = Catalog(family=FAMILY)
        for name in ("board", "state", "registered_on", "deadline",
                     "modified", "due", "open"):
            self.catalog[name] = FieldIndex(name, family=FAMILY)
        for name in ("units", "allowed", "worklist"):
            self.catalog[name] = KeywordIndex(name, family=FAMILY)
        self.docids = FAMILY.OI.BTree()  # item id -> docid
        self.item_ids = FAMILY.IO.BTree()  # docid -> item id
        self.prefix_ordinals = FAMILY.OI.BTree()  # 编号 prefix -> ordinal used in docids

    def docid_for(self, item_id: str, number: str | None = None, create: bool = False) -> int | None:
        docid = self.docids.get(item_id)
        if docid is None and create:
            docid = self._number_docid(number) if number else None
            while docid is None or docid in self.item_ids:
                # a number we cannot parse (legacy import): random docid above every ordered one
                docid = random.randrange(UNORDERED_BASE, FAMILY.maxint)
            self.docids[item_id] = docid
            self.item_ids[docid] = item_id
        return docid

    def _number_docid(self, number: str) -> int | None:
        """``PREFIX-YYYY-SEQ`` -> an int that sorts like the number (board, year, sequence).

        Result sets are kept sorted by docid, so the default listing order
        (by 事项编号) is a slice of the result set: O(page), not O(items).
        """
        match = NUMBER_RE.match(number)
        if match is None:
            return None
        prefix, year, seq = match.group(1), int(match.group(2)), int(match.group(3))
        ordinal = self.prefix_ordinals.get(prefix)
        if ordinal is None:
            ordinal = len(self.prefix_ordinals) + 1
            self.prefix_ordinals[prefix] = ordinal
        if seq >= 10**8 or ordinal >= 900_000:
            return None
        return ordinal * 10**13 + year * 10**8 + seq

    def index(self, item: Any, registry: Any = None) -> None:
        from pyramid.threadlocal import get_current_registry

        registry = registry or get_current_registry()
        docid = self.docid_for(item.item_id, item.number, create=True)
        self.catalog.reindex_doc(docid, _Document(item, registry))

    def unindex(self, item_id: str) -> None:
        docid = self.docids.pop(item_id, None)
        if docid is not None:
            del self.item_ids[docid]
            self.catalog.unindex_doc(docid)


def get_listing(site: Any) -> Listing:
    listing = site.get("listing")
    if listing is None:
        listing = site.add("listing", Listing())
    return listing


def reindex_item(site: Any, item: Any, registry: Any = None) -> None:
    get_listing(site).index(item, registry)


def query_items(site: Any, principals, *, board: str | None = None, state: str | None = None,
                states=None, unit: str | None = None, year: int | None = None,
                overdue: bool | None = None, due_before: datetime | None = None,
                worklist: str | None = None, sort: str = "number", reverse: bool = False,
                start: int = 0, limit: int = 50) -> tuple[int, list[Any]]:
    """Items the principals may view, filtered, sorted and paged: ``(total, items)``."""
    listing = get_listing(site)
    cat = listing.catalog
    terms = [AnyOf(cat["allowed"], list(principals))]
    if board:
        terms.append(Eq(cat["board"], board))
    if state:
        terms.append(Eq(cat["state"], state))
    if states:
        terms.append(AnyOf(cat["state"], list(states)))
    if unit:
        terms.append(AnyOf(cat["units"], [unit]))
    if year:
        terms.append(InRange(cat["registered_on"], date(int(year), 1, 1), date(int(year), 12, 31)))
    if overdue is not None:
        late = And(Lt(cat["due"], now()), Eq(cat["open"], True))
        if overdue:
            terms.append(late)
        else:
            # not overdue = open items due later or without a due date, and closed items
            terms.append(Not(late))
    if due_before is not None:
        terms.append(And(Lt(cat["due"], due_before), Eq(cat["open"], True)))
    if worklist:
        terms.append(AnyOf(cat["worklist"], [f"{worklist}|{p}" for p in principals]))
    query = terms[0] if len(terms) == 1 else And(*terms)
    docids = query._apply(None)
    total = len(docids)
    if not total or limit <= 0 or start >= total:
        return total, []
    if SORTS.get(sort) is None:
        page = _page_by_docid(docids, start, limit, reverse)
    else:
        page = _page_by_index(cat[SORTS[sort]], docids, start, limit, reverse)
    items = []
    for docid in page:
        item = site.item_index.get(listing.item_ids.get(docid))
        if item is not None:
            items.append(item)
    return total, items


def _page_by_docid(docids, start: int, limit: int, reverse: bool) -> list[int]:
    """Docids sort like 事项编号, and result sets are sorted: slice them."""
    if not hasattr(docids, "__getitem__"):
        docids = FAMILY.IF.Set(docids)
    total = len(docids)
    if reverse:
        hi = total - start
        return [docids[i] for i in range(hi - 1, max(hi - limit, 0) - 1, -1)]
    return [docids[i] for i in range(start, min(start + limit, total))]


def _page_by_index(index, docids, start: int, limit: int, reverse: bool) -> list[int]:
    """Walk the sort index's values in order, keeping the docids that are in the result.

    Ties keep 事项编号 order.  Every item has a value (missing dates index as a
    far-future sentinel), so nothing is dropped.  Small value buckets are
    probed against the result set (binary search) instead of merged with it,
    which is what keeps a 100k-item board fast.
    """
    fwd = index._fwd_index
    total = len(docids)
    page: list[int] = []
    skip = start
    for bucket in (_reverse_buckets(fwd) if reverse else fwd.values()):
        if len(bucket) * 16 < total:
            hits = [d for d in bucket if d in docids]
        else:
            hits = list(FAMILY.IF.intersection(docids, bucket))
        n = len(hits)
        if not n:
            continue
        if skip >= n:
            skip -= n
            continue
        if reverse:
            hits.reverse()
        page.extend(hits[skip:skip + limit - len(page)])
        skip = 0
        if len(page) >= limit:
            break
    return page


def _reverse_buckets(fwd, lazy_steps: int = 300):
    """Value buckets from the largest value down.

    BTrees iterate forwards only: step back key by key for the first pages
    (the usual "newest first" view), then materialise the rest in one go.
    """
    try:
        key = fwd.maxKey()
    except ValueError:
        return
    for _ in range(lazy_steps):
        yield fwd[key]
        try:
            key = fwd.keys(max=key, excludemax=True)[-1]
        except IndexError:
            return
    rest = list(fwd.values(max=key))
    rest.reverse()
    yield from rest


def items_in_states(site: Any, states) -> list[Any]:
    """Every item in one of ``states``, regardless of who may view it (for system jobs)."""
    listing = get_listing(site)
    docids = AnyOf(listing.catalog["state"], list(states))._apply(None)
    items = (site.item_index.get(listing.item_ids.get(d)) for d in docids)
    return [item for item in items if item is not None]
