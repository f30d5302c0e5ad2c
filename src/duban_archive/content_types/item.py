"""督办事项 — the supervision item, the unit of work and of filing."""

from __future__ import annotations

from typing import Any

from persistent import Persistent
from persistent.list import PersistentList

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

    PAGE = 4

    def __init__(self) -> None:
        self.pages: tuple = ()
        self.recent: list = []
        self.count = 0

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
    ``__acl__`` is set by the workflow engine on every state change and never
    by anything else.
    """

    type_name = "supervision_item"  # overwritten per instance by the type definition
    state = ""
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
        self.__acl__: tuple = ()

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
