"""Containers on OOBTrees with a conflict-resolving ``Length`` counter.

A plain ``len()`` over a BTree loads every bucket; boards hold 100k items, so
the count lives in a ``BTrees.Length.Length`` that merges concurrent
increments instead of conflicting (as in Substance D's folders).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class Folder(Persistent):
    """An ordered-by-key container of named persistent children."""

    type_name = "folder"
    __name__: str | None = None
    __parent__: Any = None

    def __init__(self) -> None:
        self.data = OOBTree()
        self._num_objects = Length()

    def __len__(self) -> int:
        return self._num_objects()

    def __bool__(self) -> bool:  # an empty folder is still a folder
        return True

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def __getitem__(self, name: str) -> Any:
        return self.data[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def keys(self, min: str | None = None, max: str | None = None) -> Iterator[str]:
        return iter(self.data.keys(min, max))

    def values(self, min: str | None = None, max: str | None = None) -> Iterator[Any]:
        return iter(self.data.values(min, max))

    def items(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())

    __iter__ = keys

    def add(self, name: str, obj: Any) -> Any:
        """Add ``obj`` under ``name``; names are never reused silently."""
        if not name or "/" in name or name.startswith("@@") or name in ("..", "."):
            raise ValueError(f"invalid name {name!r}")
        if name in self.data:
            raise KeyError(f"{name!r} already exists")
        obj.__name__ = name
        obj.__parent__ = self
        self.data[name] = obj
        self._num_objects.change(1)
        return obj

    __setitem__ = add

    def remove(self, name: str) -> Any:
        obj = self.data.pop(name)
        self._num_objects.change(-1)
        return obj
