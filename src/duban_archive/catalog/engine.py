"""The full-text engine interface: what the engine-independent catalog asks of an engine.

Engine-independent parts: analysis (:mod:`.analysis`), the queue (:mod:`.queue`), the
documents (:mod:`.documents`), the indexer's cycle (:mod:`.indexer`), result pages and
snippets (:mod:`.search`).  An engine indexes documents (plain dicts from
:func:`.documents.build_document`), deletes them by item id and answers a query string
with filters, facets and a page of stored documents.  whoosh (:mod:`.whoosh_engine`)
is the default and only engine today; a tantivy engine would implement the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


class QueryError(ValueError):
    """The query string could not be understood (message in Chinese)."""


class IndexUnavailable(QueryError):
    """The index cannot answer yet (e.g. being rebuilt in a new format); the message says so."""


class IndexProblem(ValueError):
    """An item whose document the index cannot take; the message is for people (Chinese)."""


class DocumentFailed(IndexProblem):
    """The engine's writer failed on one document (the writer is spoiled): rebuild without it."""

    def __init__(self, item_id: str, reason: str) -> None:
        super().__init__(reason)
        self.item_id = item_id


@dataclass(frozen=True)
class Filters:
    """Restrictions that do not score: facet choices, and whether overdue."""

    board: str | None = None
    state: str | None = None
    unit: str | None = None
    year: int | None = None
    retention: str | None = None
    overdue: bool | None = None


@dataclass
class EngineResult:
    total: int
    #: the page: each document's stored fields and its score (0.0 when sorted by a field)
    hits: list[tuple[dict[str, Any], float]]
    #: facet name -> value -> count, over every match the principals may view
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)
    page: int = 1
    #: what to mark in snippets (words and fragments of the query, normalised)
    terms: tuple[str, ...] = ()


class IndexWriter(Protocol):
    def update(self, doc: dict[str, Any]) -> None:
        """Add the document, replacing one with the same ``id``."""

    def delete(self, item_id: str) -> None: ...

    def commit(self) -> None: ...

    def cancel(self) -> None: ...


class Engine(Protocol):
    def writer(self) -> IndexWriter:
        """A writer of the live index (the caller holds the store's single-writer lock)."""

    def rebuild(self, documents: Iterable[dict[str, Any]], *, procs: int,
                progress: Any = None) -> int:
        """Index ``documents`` into a new index and switch to it when complete; returns how many.

        The caller holds the writer lock.  Raises :class:`DocumentFailed` for a document the
        writer failed on (nothing is switched; the caller starts over without that item).
        """

    def search(self, principals: list[str], q: str, filters: Filters, *, sort: str | None, reverse: bool,
               page: int, per_page: int, facets: bool) -> EngineResult:
        """Documents matching ``q`` that one of ``principals`` may view; raises :class:`QueryError`."""

    def stored(self, item_id: str) -> dict[str, Any] | None:
        """The stored fields of one item's document."""
