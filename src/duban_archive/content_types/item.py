"""督办事项 — the supervision item, the unit of work and of filing."""

from __future__ import annotations

from typing import Any

from persistent import Persistent
from persistent.list import PersistentList
from pyramid.authorization import ALL_PERMISSIONS, Deny, Everyone
from pyramid.threadlocal import get_current_registry

from .folder import Folder


class History(Persistent):
    """The append-only workflow history, list-like (iterate, ``len``, ``[i]``, ``[-1]``, slices,
    ``reversed``, ``append``, ``[i] = entry``), entries plain dicts.

    A PersistentList is rewritten whole on every append, so a transition wrote the item's entire
    history again (issue 16).  Here the newest entries (fewer than :attr:`PAGE`) live in this
    object and full pages are sealed into PersistentLists of their own that later appends never
    touch: an append writes this small object (and, every PAGE entries, one new page).  Items
    pickled before keep their PersistentList, which offers the same operations.
    """

    #: entries per sealed page of histories made before pages of 2 (the class default they read)
    PAGE = 4

    def __init__(self) -> None:
        self.pages: tuple = ()
        self.recent: list = []
        self.count = 0
        # an append writes this object with its unsealed entries (each ~300 bytes with its deadline
        # snapshot) and, once they fill a page, that page: pages of 2 write half of what pages of 4 did
        self.PAGE = 2

    def append(self, entry: Any) -> None:
        recent = self.recent + [entry]
        if len(recent) >= self.PAGE:
            self.pages = self.pages + (PersistentList(recent),)
            recent = []
        self.recent = recent
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def __iter__(self):
        for page in self.pages:
            yield from page
        yield from self.recent

    def __reversed__(self):
        return reversed(list(self))

    def _locate(self, index: int) -> tuple[Any, int]:
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("history index out of range")
        sealed = len(self.pages) * self.PAGE
        if index < sealed:
            return self.pages[index // self.PAGE], index % self.PAGE
        return None, index - sealed

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        page, i = self._locate(index)
        return page[i] if page is not None else self.recent[i]

    def __setitem__(self, index: int, entry: Any) -> None:
        page, i = self._locate(index)
        if page is not None:
            page[i] = entry
        else:
            recent = list(self.recent)
            recent[i] = entry
            self.recent = recent

    def __repr__(self) -> str:
        return f"History({list(self)!r})"


#: what transitions change, kept in the item's :class:`ItemStatus` (see there)
STATUS_FIELDS = ("state", "modified", "_listing_doc", "deadlines", "next_due", "reminder_plan")
_UNSET = object()


class ItemStatus(Persistent):
    """An item's workflow status: state, 最近更新, open deadlines and the earliest, the listing keys it
    is under, its reminder plan (plain attributes, :data:`STATUS_FIELDS`).

    Every transition changes these and, mostly, nothing else of the item: kept apart they are what a
    transition rewrites (a few hundred bytes), not the item with all its fields (issue 16).  Read and
    written as attributes of the item (``item.state = …``); items pickled before keep them in their
    own dict until their first change moves them here (or evolve step 9 does).
    """


def _status_attribute(name: str, default: Any = _UNSET) -> property:
    def get(self: SupervisionItem) -> Any:
        status = self._status
        value = getattr(status, name, _UNSET) if status is not None else self.__dict__.get(name, _UNSET)
        if value is _UNSET:
            if default is _UNSET:
                raise AttributeError(name)
            return default
        return value

    return property(get, doc=f"``{name}`` of the item's :class:`ItemStatus`")


def _workflows() -> Any:
    """The running app's workflows: the current registry's, else (a worker or command that opened
    the database without pushing a registry, e.g. ``duban-archive indexer``) the app this process
    made last (Pyramid's ``global_registries``)."""
    workflows = getattr(get_current_registry(), "duban_workflows", None)
    if workflows is None:
        from pyramid.config import global_registries

        workflows = getattr(global_registries.last, "duban_workflows", None)
    return workflows


#: the ACL of an item whose workflow is unknown here
DENY_ALL = ((Deny, Everyone, ALL_PERMISSIONS),)


class _Empty(Folder):
    """What an item shows for a child folder it has not needed yet: empty, read-only."""

    def add(self, name: str, obj: Any) -> Any:
        raise TypeError("use SupervisionItem.container(name) to add to an item's folder")

    __setitem__ = add


EMPTY = _Empty()


class SupervisionItem(Folder):
    """An item.  Field values are attributes named by its type definition.

    Children: ``feedback``, ``attachments``, ``instructions`` folders, made on
    first use (an item without attachments stores no empty BTrees: creating
    items is mostly commit cost, and most items never get instructions).
    ``history`` is the append-only workflow history (:class:`History`, list-like, of plain dicts;
    a PersistentList on items stored before issue 16);
    ``__acl__`` is *derived*, never stored: the item's workflow maps its state and units to an ACL
    (``Workflow.acl_for``).  A stored ACL was a quarter of the item's pickle, rewritten by every
    transition (issue 16); the inputs (workflow, state, lead and assisting units) are stored anyway.
    ``Workflow.apply_acl`` is still the one place that sets it, by caching the derived ACL in a
    volatile attribute (``_v_acl``), which is recomputed whenever those inputs change.
    What transitions change (:data:`STATUS_FIELDS`: ``state``, ``modified``, ``deadlines``,
    ``next_due``, ``_listing_doc``, ``reminder_plan``) lives in the item's :class:`ItemStatus`:
    read and set as item attributes, written without rewriting the item.
    """

    #: the workflow's name; set by ``Workflow.initialize`` (an item without one inherits its board's ACL)
    workflow = ""
    #: ``(workflow, (state, lead, assist), acl)`` cached by ``Workflow.apply_acl`` or the first read
    _v_acl: tuple | None = None
    #: the :class:`ItemStatus` (None on items pickled before it: their status is in their own dict)
    _status: ItemStatus | None = None
    state = _status_attribute("state", "")
    modified = _status_attribute("modified")
    _listing_doc = _status_attribute("_listing_doc")
    deadlines = _status_attribute("deadlines")
    next_due = _status_attribute("next_due")
    #: ``(next fire epoch or -1, checked epoch)`` of the reminder plan (``notifications.outbox``); None: none
    reminder_plan = _status_attribute("reminder_plan", None)

    type_name = "supervision_item"  # overwritten per instance by the type definition
    archived = False  # set when filed (立卷归档); frozen from then on
    #: set by the full-text indexer when the item cannot be indexed: ``{"message": 中文说明, "at": datetime}``;
    #: cleared when it indexes again (class default: items stored before it load fine)
    index_problem = None

    def __init__(self, item_id: str, number: str, board_id: str, type_name: str) -> None:
        super().__init__()
        self.item_id = item_id
        self.number = number
        self.board_id = board_id
        self.type_name = type_name
        self.history = History()
        self._status = ItemStatus()

    def __setattr__(self, name: str, value: Any) -> None:
        if name in STATUS_FIELDS:  # the status object is written, not the item
            setattr(self.status(), name, value)
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in STATUS_FIELDS:
            delattr(self.status(), name)
        else:
            super().__delattr__(name)

    def status(self) -> ItemStatus:
        """The item's :class:`ItemStatus`; an item pickled before gets one (its values moved there)."""
        status = self._status
        if status is None:
            status = ItemStatus()
            for name in STATUS_FIELDS:
                if name in self.__dict__:
                    setattr(status, name, self.__dict__.pop(name))
            super().__setattr__("_status", status)
        return status

    def serials(self) -> tuple:
        """The committed versions of the item, its status and its history: changes whenever anything
        a dossier prints from the item changed (its status and history are objects of their own, so
        the item's ``_p_serial`` alone no longer says that)."""
        status = self._status  # (loads the item)
        history = self.__dict__.get("history")
        return (self._p_serial, getattr(status, "_p_serial", None), getattr(history, "_p_serial", None))

    def acl_key(self) -> tuple:
        """What the ACL depends on besides the workflow definition."""
        return (self.state, getattr(self, "lead_unit", None), tuple(getattr(self, "assist_units", ()) or ()))

    @property
    def __acl__(self) -> tuple:
        """The ACL of the item's workflow for its state and units (see the class docstring).

        Fails closed: an item whose workflow the running site does not define grants nothing.
        """
        if not self.workflow:
            return ()
        cached = self._v_acl
        key = self.acl_key()
        current = getattr(get_current_registry(), "duban_workflows", None)
        if current is None and cached is not None and getattr(cached[0], "name", None) == self.workflow:
            wf = cached[0]  # no app pushed: the workflow ``apply_acl`` was given (by a command, or a test)
        else:
            workflows = current if current is not None else _workflows()
            wf = workflows.get(self.workflow) if workflows is not None else None
            if wf is None:
                return DENY_ALL
        if cached is not None and cached[0] is wf and cached[1] == key:
            return cached[2]
        acl = wf.acl_for(self)
        self._v_acl = (wf, key, acl)
        return acl

    def container(self, name: str) -> Folder:
        """The child folder ``name`` (feedback, attachments, instructions), created if missing."""
        folder = self.data.get(name)
        if folder is None:
            folder = self.add(name, Folder())
        return folder

    @property
    def feedback(self) -> Folder:
        return self.data.get("feedback", EMPTY)

    @property
    def attachments(self) -> Folder:
        return self.data.get("attachments", EMPTY)

    @property
    def instructions(self) -> Folder:
        return self.data.get("instructions", EMPTY)

    def field(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    @property
    def units(self) -> tuple[str, ...]:
        """Lead unit first, then assisting units."""
        lead = getattr(self, "lead_unit", "") or ""
        assist = tuple(sorted(getattr(self, "assist_units", ()) or ()))
        return ((lead,) if lead else ()) + tuple(u for u in assist if u != lead)
