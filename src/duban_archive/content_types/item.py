"""督办事项 — the supervision item, the unit of work and of filing."""

from __future__ import annotations

from typing import Any

from persistent.list import PersistentList

from .folder import Folder


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
    ``history`` is the append-only workflow history (list of plain dicts);
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
        self.history = PersistentList()
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
