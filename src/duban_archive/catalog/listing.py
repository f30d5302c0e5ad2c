"""The listing index: a small transactional ZODB catalog for listings and worklists.

Board pages, ``GET /api/v1/items`` and 我的待办 must answer in milliseconds
over 100k items, filtered by state/unit/year and by what the caller may view.
The index lives *in* ZODB, so it changes in the same transaction as the item
and a listing never lags behind a commit.  (Full-text search is whoosh.)

Layout (issue 16: cost bounded by the answer, lean writes).  One OOBTree,
``postings``, maps string keys to small-bucket sets (:class:`ListingSet`):

``s|<board>|<state>``      docids of a board's items in a state
``v|<board>|<principal>``  docids a unit/user principal may view (board by board)
``r|<board>|<r1,r2,..>``   docids whose role principals with view are exactly r1, r2 … (one
                           set per ACL shape instead of one insert per role and item)
``u|<board>|<unit>``       docids of items a unit leads or assists
``c|<board>``              docids of items no longer open (办结, 归档, final states)
``o|<board>|<sort>``       sort composites ``code << 35 | docid`` (deadline, registered_on,
                           modified, due): the set *is* the sort order, ties by 事项编号
``w|<principal>|<bucket>`` due composites of the worklist bucket the principal works and may
                           view (``…|c`` for items no longer open, ``x|…`` when the principal
                           works it without view: those are checked against the view sets)

A docid is ``ordinal(8 bits) << 27 | (year - 2000) << 20 | seq``: it sorts like the
事项编号 and gives the item id back without a map.  Numbers it cannot encode get
a counted docid above all others (and a map).  What an item is indexed under is
kept on the item itself (``_listing_doc``, plain data, written with the item it
describes), so there are no reverse indexes to rewrite: a transition writes the
few set buckets that change (buckets hold at most :data:`LEAF` entries).

A query unions the caller's view sets for the boards in scope *once* (a multiunion
of a handful of sets), intersects the filters and pages: by 事项编号 a slice of
that set, by another order a slice of the board's sort set when the caller sees
the whole board, else one vectorised pass (numpy) over it.  A worklist bucket is
a union of due-sorted sets: the page is a slice.

Listings pickled before this layout (hypatia ``catalog``) are still read and kept
up to date by the legacy code at the end of this module until evolve step 3
(``lean_writes``) rebuilds them.  Only attribute values and plain tuples are
pickled — never callables (pickles outlive code).
"""

from __future__ import annotations

import random
import re
import secrets
from datetime import date, datetime
from typing import Any

import BTrees
from BTrees import LLBTree as LL
from BTrees.LLBTree import LLTreeSet
from persistent import Persistent
from pyramid.authorization import Allow

from ..timeutil import CST, now

FAMILY = BTrees.family64
NUMBER_RE = re.compile(r"^([A-Z0-9]+)-(\d{4})-(\d+)$")
#: sort name -> indexed field; "number" needs none (docids sort like 事项编号)
SORTS = {"number": None, "deadline": "deadline", "registered_on": "registered_on",
         "modified": "modified", "due": "due"}
SORT_FIELDS = ("deadline", "registered_on", "modified", "due")

#: at most this many entries per set bucket: a change rewrites one bucket of this size
LEAF = 24
SEQ_BITS, YEAR_BITS, ORD_BITS = 20, 7, 8
LOCAL_BITS = SEQ_BITS + YEAR_BITS
DOC_BITS = LOCAL_BITS + ORD_BITS  # 35
DOC_MASK = (1 << DOC_BITS) - 1
ODD_ORDINAL = (1 << ORD_BITS) - 1  # numbers a docid cannot encode: counted, after every other
CODE_MAX = (1 << (63 - DOC_BITS)) - 1  # 28-bit sort codes; "no value" sorts last
YEAR0 = 2000
_DAY0 = date(1900, 1, 1)
_TIME0 = datetime(YEAR0, 1, 1, tzinfo=CST)


class ListingSet(LLTreeSet):
    """A set of docids (or sort composites) with small buckets: a change rewrites ~200 bytes."""

    max_leaf_size = LEAF
    max_internal_size = 64


# -- sort codes -----------------------------------------------------------------------------------

def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=CST)


def day_code(value: Any) -> int:
    if not isinstance(value, date):
        return CODE_MAX
    if isinstance(value, datetime):
        value = _aware(value).astimezone(CST).date()
    return max(0, min(CODE_MAX - 1, (value - _DAY0).days))


def time_code(value: Any, unit: int) -> int:
    """Whole ``unit`` seconds since 2000 (CST); ``None`` sorts last."""
    if not isinstance(value, datetime):
        return CODE_MAX
    seconds = (_aware(value) - _TIME0).total_seconds()
    return max(0, min(CODE_MAX - 1, int(seconds // unit)))


def minute_code(value: Any) -> int:
    return time_code(value, 60)


def hour_code(value: Any) -> int:
    return time_code(value, 3600)


# -- what an item is indexed under ----------------------------------------------------------------

def _grants_view(perm: Any) -> bool:
    if isinstance(perm, str):
        return perm == "view"
    return "view" in perm if isinstance(perm, tuple | list) else False


def _state(item: Any, registry: Any):
    wf = getattr(registry, "duban_workflows", None) if registry is not None else None
    workflow = wf.get(getattr(item, "workflow", "")) if wf is not None else None
    return workflow.states.get(item.state) if workflow is not None else None


def _is_role(principal: str) -> bool:
    return principal.startswith(("role:", "system."))


def _viewers(item: Any) -> list[str]:
    return sorted({p for action, p, perm in getattr(item, "__acl__", ()) or ()
                   if action == Allow and _grants_view(perm)})


def _is_open(item: Any, state: Any) -> bool:
    return not (state.final if state is not None else False) and item.state not in ("closed", "archived")


def _implied(principal: str) -> tuple[str, ...]:
    """Principals every holder of ``principal`` holds too (``security.roles.user_principals``):
    a unit role ``unit:<u>:<r>`` comes with ``unit:<u>`` and ``role:<r>``."""
    parts = principal.split(":")
    if len(parts) == 3 and parts[0] == "unit":
        return (principal, f"unit:{parts[1]}", f"role:{parts[2]}")
    return (principal,)


def _worklist(item: Any, state: Any, viewers: list[str]) -> tuple:
    """``((principal, bucket, may_view), …)`` for the state's worklist roles; ``may_view``: whoever
    holds the principal may view the item (then no view check is needed at query time)."""
    if state is None or not state.worklist:
        return ()
    from ..security.roles import principals_for_token

    lead = getattr(item, "lead_unit", None)
    assist = getattr(item, "assist_units", ()) or ()
    seen = set(viewers)
    found = {(p, state.worklist, not seen.isdisjoint(_implied(p)))
             for token in state.worklist_roles for p in principals_for_token(token, lead, assist)}
    return tuple(sorted(found))


def _pairs(doc: tuple) -> set[tuple[str, int]]:
    """``(postings key, member)`` for a stored document (see :meth:`Listing.document`)."""
    _, docid, board, state, sig, viewers, units, is_open, codes, worklist = doc
    out = {(f"s|{board}|{state}", docid)}
    if sig:
        out.add((f"r|{board}|{sig}", docid))
    out.update((f"v|{board}|{p}", docid) for p in viewers)
    out.update((f"u|{board}|{u}", docid) for u in units)
    if not is_open:
        out.add((f"c|{board}", docid))
    out.update((f"o|{board}|{name}", code << DOC_BITS | docid) for name, code in zip(SORT_FIELDS, codes, strict=True))
    due = codes[3] << DOC_BITS | docid
    for principal, bucket, may_view in worklist:
        key = f"{'w' if may_view else 'x'}|{principal}|{bucket}"
        out.add((key if is_open else key + "|c", due))
    return out


class Listing(Persistent):
    """The listing postings (see the module docstring)."""

    __name__: str | None = None
    __parent__ = None
    #: None on a listing pickled before issue 16 (a hypatia ``catalog``): read by the legacy code
    postings: Any = None

    def __init__(self) -> None:
        self.token = secrets.token_hex(4)  # names this index in the items' _listing_doc
        self.postings = FAMILY.OO.BTree()
        self.prefix_ordinals = FAMILY.OI.BTree()  # 编号 prefix -> ordinal (1 … 254)
        self.ordinal_prefixes = FAMILY.IO.BTree()
        self.odd_docids = FAMILY.OI.BTree()  # item id -> docid, for numbers a docid cannot encode
        self.odd_ids = FAMILY.IO.BTree()
        self.odd_next = 0

    # -- docids ---------------------------------------------------------------------------------
    def _ordinal(self, prefix: str) -> int | None:
        ordinal = self.prefix_ordinals.get(prefix)
        if ordinal is None:
            ordinal = len(self.prefix_ordinals) + 1
            if ordinal >= ODD_ORDINAL:
                return None
            self.prefix_ordinals[prefix] = ordinal
            self.ordinal_prefixes[ordinal] = prefix
        return ordinal

    def docid_for(self, item_id: str, number: str | None = None, create: bool = False) -> int | None:
        """The docid of ``item_id`` (from its 事项编号), or None."""
        docid = self.odd_docids.get(item_id)
        if docid is not None:
            return docid
        match = NUMBER_RE.match(number or item_id.upper())
        if match is not None:
            prefix, year, seq = match.group(1), int(match.group(2)), int(match.group(3))
            if (0 <= year - YEAR0 < (1 << YEAR_BITS) and seq < (1 << SEQ_BITS)
                    and f"{prefix}-{year}-{seq:04d}" == match.group(0) and match.group(0).lower() == item_id):
                ordinal = self._ordinal(prefix) if create else self.prefix_ordinals.get(prefix)
                if ordinal is not None:
                    return ordinal << LOCAL_BITS | (year - YEAR0) << SEQ_BITS | seq
        if not create:
            return None
        self.odd_next += 1
        docid = ODD_ORDINAL << LOCAL_BITS | self.odd_next
        self.odd_docids[item_id] = docid
        self.odd_ids[docid] = item_id
        return docid

    def item_id_of(self, docid: int) -> str | None:
        ordinal = docid >> LOCAL_BITS
        if ordinal == ODD_ORDINAL:
            return self.odd_ids.get(docid)
        prefix = self.ordinal_prefixes.get(ordinal)
        if prefix is None:
            return None
        year = YEAR0 + ((docid >> SEQ_BITS) & ((1 << YEAR_BITS) - 1))
        return f"{prefix}-{year}-{docid & ((1 << SEQ_BITS) - 1):04d}".lower()

    # -- indexing -------------------------------------------------------------------------------
    def document(self, item: Any, registry: Any, docid: int) -> tuple:
        """What ``item`` is indexed under, as plain data (kept on the item as ``_listing_doc``)."""
        state = _state(item, registry)
        viewers = _viewers(item)
        modified = getattr(item, "modified", None)
        codes = (day_code(getattr(item, "deadline", None)), day_code(getattr(item, "registered_on", None)),
                 hour_code(modified), minute_code(getattr(item, "next_due", None)))
        # "最近更新" to the hour: ties go by 事项编号, and a transition within the hour writes nothing here
        return (self.token, docid, item.board_id, item.state,
                ",".join(p for p in viewers if _is_role(p)),
                tuple(p for p in viewers if not _is_role(p)),
                tuple(item.units), _is_open(item, state), codes, _worklist(item, state, viewers))

    def _old_doc(self, item: Any) -> tuple | None:
        doc = getattr(item, "_listing_doc", None)
        return doc if isinstance(doc, tuple) and len(doc) == 10 and doc[0] == self.token else None

    def index(self, item: Any, registry: Any = None) -> None:
        if self.postings is None:
            return _legacy_index(self, item, registry)
        from pyramid.threadlocal import get_current_registry

        registry = registry or get_current_registry()
        old = self._old_doc(item)
        docid = old[1] if old is not None else self.docid_for(item.item_id, item.number, create=True)
        assert docid is not None
        new = self.document(item, registry, docid)
        if new == old:
            return
        self._apply(_pairs(old) if old is not None else set(), _pairs(new))
        item._listing_doc = new

    def _apply(self, old: set, new: set) -> None:
        postings = self.postings
        for key, member in old - new:
            found = postings.get(key)
            if found is not None and member in found:
                found.remove(member)  # an emptied set stays: removing its key would rewrite a bucket
        for key, member in new - old:
            found = postings.get(key)
            if found is None:
                found = postings[key] = ListingSet()
            found.add(member)

    def prepare_board(self, board_id: str, prefix: str, states=()) -> None:
        """Create a new board's fixed keys (its 编号 ordinal, state, closed and sort sets) ahead of its items.

        The first items filed on a board would otherwise all insert these same new keys, and concurrent
        inserts of one key into a BTree never resolve: on a fresh site every simultaneous first creation
        conflicted. Idempotent; keys of principals and units still appear with their first item.
        """
        if self.postings is None:  # a legacy listing: evolve step 3 rebuilds it
            return
        self._ordinal(prefix)
        keys = [f"c|{board_id}", *(f"o|{board_id}|{name}" for name in SORT_FIELDS),
                *(f"s|{board_id}|{state}" for state in states)]
        for key in keys:
            if key not in self.postings:
                self.postings[key] = ListingSet()

    def unindex(self, item_id: str, item: Any = None) -> None:
        if self.postings is None:
            return _legacy_unindex(self, item_id)
        if item is None and self.__parent__ is not None:
            item = self.__parent__.item_index.get(item_id)
        old = self._old_doc(item) if item is not None else None
        if old is not None:
            self._apply(_pairs(old), set())
            del item._listing_doc
        docid = self.odd_docids.pop(item_id, None)
        if docid is not None:
            self.odd_ids.pop(docid, None)

    # -- reading --------------------------------------------------------------------------------
    def get(self, key: str):
        return self.postings.get(key)

    def keys_from(self, prefix: str) -> list[str]:
        return list(self.postings.keys(min=prefix, max=prefix + "\uffff"))

    def boards(self) -> list[str]:
        """Boards with indexed items (from their sort sets)."""
        return sorted({k.split("|")[1] for k in self.keys_from("o|") if k.endswith("|due")})

    def visible(self, principals, boards) -> Any:
        """Docids in ``boards`` that one of ``principals`` may view: one multiunion."""
        want = set(principals)
        sets: list[Any] = []
        for board in boards:
            sets.extend(s for p in want if not _is_role(p) and (s := self.postings.get(f"v|{board}|{p}")))
            prefix = f"r|{board}|"
            for key in self.keys_from(prefix):
                if want.intersection(key[len(prefix):].split(",")):
                    found = self.postings[key]
                    if found:
                        sets.append(found)
        return LL.multiunion(sets) if sets else LL.Set()

    def union(self, keys, view: bool = False) -> Any:
        """The union of the sets under ``keys`` (sorted).  ``view``: when only one set is non-empty,
        its sorted keys as they are (len, [i], slices, iteration; no copy of a 20k-entry set)."""
        sets = [s for k in keys if (s := self.postings.get(k))]
        if view and len(sets) == 1:
            return sets[0].keys()
        return LL.multiunion(sets) if sets else LL.Set()


def get_listing(site: Any) -> Listing:
    listing = site.get("listing")
    if listing is None:
        listing = site.add("listing", Listing())
    return listing


def reindex_item(site: Any, item: Any, registry: Any = None) -> None:
    get_listing(site).index(item, registry)


def rebuild(site: Any, registry: Any) -> int:
    """A new listing index from every item (evolve step 3, repairs); returns how many items."""
    listing = Listing()
    if "listing" in site:
        site.remove("listing")
    site.add("listing", listing)
    count = 0
    jar = getattr(site, "_p_jar", None)
    for item in site.item_index.values():
        listing.index(item, registry)
        count += 1
        if jar is not None and count % 2000 == 0:  # a 100k-item site: keep memory flat in one transaction
            jar.transaction_manager.get().savepoint(optimistic=True)
            jar.cacheGC()
    return count


# -- queries -------------------------------------------------------------------------------------

def _docids(composites) -> Any:
    """Docids of sort/due composites (sorted by docid)."""
    return LL.Set([c & DOC_MASK for c in composites])


def _range(sets, lo: int, hi: int) -> list[int]:
    """Composites with a code in ``[lo, hi)`` from sorted composite sets."""
    out: list[int] = []
    for found in sets:
        if found and lo < hi:
            out.extend(found.keys(min=lo << DOC_BITS, max=(hi << DOC_BITS) - 1))
    return out


def _late(listing: Listing, sets, moment: datetime, site: Any, exact) -> list[int]:
    """Composites due before ``moment`` (minute codes; the current minute is checked on the item)."""
    code = minute_code(moment)
    found = _range(sets, 0, code)
    for c in _range(sets, code, code + 1):
        item = site.item_index.get(listing.item_id_of(c & DOC_MASK))
        due = getattr(item, "next_due", None) if item is not None else None
        if isinstance(due, datetime) and exact(_aware(due), moment):
            found.append(c)
    return found


def query_items(site: Any, principals, *, board: str | None = None, state: str | None = None,
                states=None, unit: str | None = None, year: int | None = None,
                overdue: bool | None = None, due_before: datetime | None = None,
                worklist: str | None = None, sort: str = "number", reverse: bool = False,
                start: int = 0, limit: int = 50, memo: dict | None = None) -> tuple[int, list[Any]]:
    """Items the principals may view, filtered, sorted and paged: ``(total, items)``.

    ``memo``: a dict shared by the queries of one request (the worklist asks for every bucket):
    unions already made are reused.
    """
    listing = get_listing(site)
    if listing.postings is None:
        return _legacy_query_items(site, principals, board=board, state=state, states=states, unit=unit,
                                   year=year, overdue=overdue, due_before=due_before, worklist=worklist,
                                   sort=sort, reverse=reverse, start=start, limit=limit)
    principals = list(principals)
    boards = [board] if board else listing.boards()
    start = max(0, start)
    if worklist:
        open_only = overdue is True or due_before is not None
        # a due window is cut by bisection: that wants a flat set; a plain bucket is read in place
        in_place = overdue is None and due_before is None
        key = ("worklist", worklist, open_only, in_place, tuple(sorted(set(principals))))
        due_sorted = memo.get(key) if memo is not None else None
        if due_sorted is None:
            due_sorted = _worklist_composites(listing, site, principals, worklist, open_only, in_place)
            if memo is not None:
                memo[key] = due_sorted
        parts = _due_window(listing, site, due_sorted, overdue, due_before)
        narrowed = _filters(listing, boards, board, state, states, unit, year)
        if narrowed is not None:
            parts = [("l", [c for c in _members(due_sorted, parts) if (c & DOC_MASK) in narrowed])]
        total = sum(_part_len(p) for p in parts)
        if sort == "due":
            page = _parts_slice(due_sorted, parts, start, limit, reverse)
            return total, _load(site, listing, [c & DOC_MASK for c in page])
        result = _docids(_members(due_sorted, parts))
    else:
        result = listing.visible(principals, boards)
        narrowed = _filters(listing, boards, board, state, states, unit, year)
        if narrowed is not None:
            result = LL.intersection(result, narrowed)
        if overdue is not None or due_before is not None:
            result = _due_filter(listing, site, boards, result, overdue, due_before)
        total = len(result)
    if not total or limit <= 0 or start >= total:
        return total, []
    field = SORTS.get(sort)
    if field is None:
        page = _slice(result, start, limit, reverse)
    else:
        page = _page_sorted(listing, boards, result, field, start, limit, reverse)
    return total, _load(site, listing, page)


# -- windows of a due-sorted set (worklists): position ranges, never set copies --------------------

def _bisect(found, composite: int) -> int:
    """Index of the first member >= ``composite`` in a sorted LLSet (random access is O(1) there)."""
    lo, hi = 0, len(found)
    while lo < hi:
        mid = (lo + hi) // 2
        if found[mid] < composite:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _split_at(listing: Listing, site: Any, found, moment: datetime) -> tuple[int, list[int], list[int], int]:
    """Where ``moment`` cuts a due-sorted set: ``(end of the surely-earlier range, late members of
    moment's minute, the rest of that minute, start of the surely-later range)``."""
    code = minute_code(moment)
    lo, hi = _bisect(found, code << DOC_BITS), _bisect(found, (code + 1) << DOC_BITS)
    late: list[int] = []
    rest: list[int] = []
    for i in range(lo, hi):
        c = found[i]
        item = site.item_index.get(listing.item_id_of(c & DOC_MASK))
        due = getattr(item, "next_due", None) if item is not None else None
        (late if isinstance(due, datetime) and _aware(due) < moment else rest).append(c)
    return lo, late, rest, hi


def _due_window(listing: Listing, site: Any, found, overdue: bool | None, due_before: datetime | None) -> list:
    """The members of a due-sorted set the ``overdue`` / ``due_before`` filters keep, as parts:
    ``("r", lo, hi)`` index ranges and ``("l", [members])`` lists, in order."""
    n = len(found)
    if overdue is None and due_before is None:
        return [("r", 0, n)]
    parts: list = [("r", 0, n)]
    if overdue is not None:
        lo, late, rest, hi = _split_at(listing, site, found, now())
        parts = [("r", 0, lo), ("l", late)] if overdue else [("l", rest), ("r", hi, n)]
    if due_before is not None:
        lo, late, _, _ = _split_at(listing, site, found, due_before)
        kept = set(late)
        clipped: list = []
        for part in parts:
            if part[0] == "r":
                clipped.append(("r", part[1], min(part[2], lo)))
                clipped.append(("l", [c for c in late if part[1] <= _bisect(found, c) < part[2]]))
            else:
                before = due_before
                clipped.append(("l", [c for c in part[1] if c < (minute_code(before) << DOC_BITS) or c in kept]))
        parts = clipped
    return parts


def _part_len(part) -> int:
    return max(0, part[2] - part[1]) if part[0] == "r" else len(part[1])


def _members(found, parts) -> list[int]:
    out: list[int] = []
    for part in parts:
        out.extend(found[i] for i in range(part[1], part[2])) if part[0] == "r" else out.extend(part[1])
    return out


def _parts_slice(found, parts, start: int, limit: int, reverse: bool) -> list[int]:
    total = sum(_part_len(p) for p in parts)
    lo, hi = (max(total - start - limit, 0), max(total - start, 0)) if reverse else (start, min(start + limit, total))
    out: list[int] = []
    offset = 0
    for part in parts:
        n = _part_len(part)
        a, b = max(lo - offset, 0), min(hi - offset, n)
        if a < b:
            out.extend(found[part[1] + i] for i in range(a, b)) if part[0] == "r" else out.extend(part[1][a:b])
        offset += n
    if reverse:
        out.reverse()
    return out


def _worklist_composites(listing: Listing, site: Any, principals: list[str], bucket: str,
                         open_only: bool, in_place: bool = False) -> Any:
    """Due-sorted composites of the caller's worklist ``bucket`` (``*``: every bucket), viewable only."""
    keys: list[str] = []
    odd: list[str] = []
    for p in set(principals):
        for kind, into in (("w", keys), ("x", odd)):
            if bucket == "*":
                found = listing.keys_from(f"{kind}|{p}|")
            else:
                found = [f"{kind}|{p}|{bucket}", f"{kind}|{p}|{bucket}|c"]
            into.extend(k for k in found if not (open_only and k.endswith("|c")))
    result = listing.union(keys, view=in_place)
    extra = listing.union(odd)
    if extra:  # worked by a principal without view: shown when another of the caller's principals may view
        seen = listing.visible(principals, listing.boards())
        keep = [c for c in extra if (c & DOC_MASK) in seen]
        if keep:
            result = LL.union(LL.Set(result), LL.Set(keep))
    return result


def _filters(listing: Listing, boards, board, state, states, unit, year) -> Any:
    """Docids the state/unit/year filters allow (None: no filter)."""
    narrowed = None

    def meet(found):
        nonlocal narrowed
        narrowed = found if narrowed is None else LL.intersection(narrowed, found)

    wanted = ([state] if state else []) + list(states or [])
    if wanted:
        meet(listing.union(f"s|{b}|{s}" for b in boards for s in wanted))
    if unit:
        meet(listing.union(f"u|{b}|{unit}" for b in boards))
    if year:
        lo, hi = day_code(date(int(year), 1, 1)), day_code(date(int(year), 12, 31)) + 1
        meet(_docids(_range([listing.get(f"o|{b}|registered_on") for b in boards], lo, hi)))
    return narrowed


def _due_filter(listing: Listing, site: Any, boards, result, overdue, due_before) -> Any:
    """``overdue``: open items whose next deadline has passed (False: every other item); ``due_before``:
    open items due before that moment."""
    sets = [listing.get(f"o|{b}|due") for b in boards]
    closed = listing.union(f"c|{b}" for b in boards)
    if overdue is not None:
        late = LL.difference(_docids(_late(listing, sets, now(), site, lambda d, m: d < m)), closed)
        result = LL.intersection(result, late) if overdue else LL.difference(result, late)
    if due_before is not None:
        soon = LL.difference(_docids(_late(listing, sets, due_before, site, lambda d, m: d < m)), closed)
        result = LL.intersection(result, soon)
    return result


def _slice(found, start: int, limit: int, reverse: bool) -> list[int]:
    """Members ``start … start+limit`` of a sorted set (from the end when ``reverse``)."""
    total = len(found)
    if reverse:
        lo, hi = max(total - start - limit, 0), max(total - start, 0)
    else:
        lo, hi = min(start, total), min(start + limit, total)
    if hi <= lo:
        return []
    members = [found[i] for i in range(lo, hi)] if hasattr(found, "__getitem__") else list(found.keys()[lo:hi])
    if reverse:
        members.reverse()
    return members


def _page_sorted(listing: Listing, boards, result, field: str, start: int, limit: int,
                 reverse: bool) -> list[int]:
    """A page of ``result`` (docids) in the order of sort ``field``; ties by 事项编号."""
    sets = [s for b in boards if (s := listing.get(f"o|{b}|{field}"))]
    if len(sets) == 1 and len(sets[0]) == len(result):  # the caller sees the whole board: slice the order
        return [c & DOC_MASK for c in _slice(sets[0], start, limit, reverse)]
    import numpy as np

    chunks = [np.fromiter(s, dtype=np.int64, count=len(s)) for s in sets]
    composites = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    if len(composites) != len(result):  # not every item in scope: keep the result's
        wanted = np.fromiter(result, dtype=np.int64, count=len(result))
        composites = composites[np.isin(composites & DOC_MASK, wanted)]
    if len(sets) > 1:
        composites.sort()
    total = len(composites)
    if reverse:
        chosen = composites[max(total - start - limit, 0):max(total - start, 0)][::-1]
    else:
        chosen = composites[start:start + limit]
    return [int(c) & DOC_MASK for c in chosen]


def _load(site: Any, listing: Listing, docids) -> list[Any]:
    items = []
    for docid in docids:
        item = site.item_index.get(listing.item_id_of(docid))
        if item is not None:
            items.append(item)
    return items


def items_in_states(site: Any, states) -> list[Any]:
    """Every item in one of ``states``, regardless of who may view it (for system jobs)."""
    listing = get_listing(site)
    if listing.postings is None:
        return _legacy_items_in_states(site, states)
    docids = listing.union(f"s|{b}|{s}" for b in listing.boards() for s in states)
    return _load(site, listing, docids)


# -- listings pickled before issue 16 (hypatia), until evolve step 3 rebuilds them ----------------
# A legacy listing keeps its hypatia ``catalog`` (10 indexes) and ``docids`` / ``item_ids`` maps; the code
# below is the one that wrote them, so a site keeps working, and listing, until ``duban-archive evolve``.

UNORDERED_BASE = 9 * 10**18
NO_DATE = date(9999, 12, 31)  # sorts last; keeps every item sortable
NO_TIME = datetime(9999, 12, 31, tzinfo=CST)


class _Document:
    """The indexed view of one item for the legacy catalog (plain values only)."""

    def __init__(self, item: Any, registry: Any) -> None:
        self.board = item.board_id
        self.state = item.state
        self.units = list(item.units)
        self.registered_on = getattr(item, "registered_on", None) or NO_DATE
        self.deadline = getattr(item, "deadline", None) or NO_DATE
        modified = getattr(item, "modified", None)
        self.modified = modified.replace(minute=0, second=0, microsecond=0) if modified else NO_TIME
        self.due = getattr(item, "next_due", None) or NO_TIME
        viewers = _viewers(item)
        self.allowed = viewers
        state = _state(item, registry)
        self.open = _is_open(item, state)
        self.worklist = []
        for p, bucket, _ in _worklist(item, state, viewers):
            self.worklist += [f"{bucket}|{p}", f"*|{p}"]


def _legacy_docid(listing: Any, item_id: str, number: str | None) -> int:
    docid = listing.docids.get(item_id)
    if docid is None:
        match = NUMBER_RE.match(number or "")
        if match is not None:
            prefix, year, seq = match.group(1), int(match.group(2)), int(match.group(3))
            ordinal = listing.prefix_ordinals.get(prefix)
            if ordinal is None:
                ordinal = len(listing.prefix_ordinals) + 1
                listing.prefix_ordinals[prefix] = ordinal
            if seq < 10**8 and ordinal < 900_000:
                docid = ordinal * 10**13 + year * 10**8 + seq
        while docid is None or docid in listing.item_ids:
            docid = random.randrange(UNORDERED_BASE, FAMILY.maxint)
        listing.docids[item_id] = docid
        listing.item_ids[docid] = item_id
    return docid


def _legacy_index(listing: Any, item: Any, registry: Any = None) -> None:
    from pyramid.threadlocal import get_current_registry

    registry = registry or get_current_registry()
    docid = _legacy_docid(listing, item.item_id, item.number)
    listing.catalog.reindex_doc(docid, _Document(item, registry))


def _legacy_unindex(listing: Any, item_id: str) -> None:
    docid = listing.docids.pop(item_id, None)
    if docid is not None:
        del listing.item_ids[docid]
        listing.catalog.unindex_doc(docid)


def _legacy_items_in_states(site: Any, states) -> list[Any]:
    from hypatia.query import Any as AnyOf

    listing = get_listing(site)
    docids = AnyOf(listing.catalog["state"], list(states))._apply(None)
    items = (site.item_index.get(listing.item_ids.get(d)) for d in docids)
    return [item for item in items if item is not None]


def _legacy_query_items(site: Any, principals, *, board=None, state=None, states=None, unit=None, year=None,
                        overdue=None, due_before=None, worklist=None, sort="number", reverse=False,
                        start=0, limit=50) -> tuple[int, list[Any]]:
    from hypatia.query import And, Eq, InRange, Lt, Not
    from hypatia.query import Any as AnyOf

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
        terms.append(late if overdue else Not(late))
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


