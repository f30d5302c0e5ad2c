"""The whoosh engine: query parsing, permission filter, evaluation (:mod:`.matching`), stored fields.

Query syntax is whoosh's (AND/OR/NOT, ``field:value``, ranges, Chinese field names)
with one change: a quoted string is a :class:`~.queries.Fragment` — the text contains
it, whatever the word boundaries, and every character inside the quotes is literal
(``"*"``, ``"a:b"``, ``"("``).  A quoted string with a slop (``"老旧 改造"~3``) is a
word phrase: its words in order, each 1…3 words after the previous.  A ``*`` outside
quotes is not a wildcard (there is none): it is punctuation and drops out of the words
(``*燃气`` is ``燃气``); a query of stars only is every item the caller may view.

The caller's principals are part of the query (an ``allowed`` filter that does not
score), so totals, facets and pages only ever count what the caller may view.
"""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Callable, Iterable
from typing import Any

from whoosh import index as windex
from whoosh import qparser
from whoosh import query as Q
from whoosh.qparser import syntax
from whoosh.qparser.plugins import PhrasePlugin

from . import matching, parallel
from .analysis import chars, normalize
from .documents import problem_reason
from .engine import DocumentFailed, EngineResult, Filters, IndexUnavailable, QueryError
from .postings import open_writer
from .queries import Fragment, Unscored
from .schema import SCHEMA_VERSION, TEXT_FIELDS, make_schema, unpack_text
from .store import IndexStore

#: the index format this engine writes and reads (the store's generation names carry it)
FORMAT_VERSION = SCHEMA_VERSION

#: field names users may type in Chinese (``状态:assigned``, ``年度:2025``)
ALIASES = {
    "title": ["标题"], "body": ["内容", "正文"], "files": ["附件"], "state": ["状态"],
    "board": ["版块"], "units": ["单位", "unit"], "lead_unit": ["牵头单位", "主办单位"],
    "year": ["年度"], "retention": ["保管期限"], "archival_code": ["档号"], "number": ["编号"],
    "registered_on": ["立项日期"], "deadline": ["办结时限", "期限"], "grade": ["评价"],
    "type": ["类型"],
}
DEFAULT_FIELDS = list(TEXT_FIELDS) + ["number", "archival_code"]
BOOSTS = {"title": 3.0, "number": 5.0, "archival_code": 5.0}


class _FragmentNode(PhrasePlugin.PhraseNode):
    """A quoted string: a fragment (no slop) or a word phrase (with a slop)."""

    def query(self, parser):
        if self.slop > 1:
            return super().query(parser)
        fieldname = self.fieldname or parser.fieldname
        return syntax.attach(Fragment(fieldname, chars(self.text), boost=self.boost), self)


class _FragmentTagger(PhrasePlugin.PhraseTagger):
    def create(self, parser, match):
        slop = match.group("slop")
        return _FragmentNode(match.group("text"), match.start("text"), int(slop) if slop else 1)


class FragmentPlugin(PhrasePlugin):
    """Whoosh's phrase syntax (``"…"``, ``"…"~N``) making :class:`_FragmentNode` s."""

    def __init__(self) -> None:
        super().__init__(expr=r'(?s)"(?P<text>.*?)"(~(?P<slop>[1-9][0-9]*))?')  # line breaks inside too

    def taggers(self, parser):
        return [(_FragmentTagger(self.expr), 0)]


def _parser(schema):
    parser = qparser.MultifieldParser(DEFAULT_FIELDS, schema, fieldboosts=BOOSTS, group=qparser.AndGroup)
    parser.remove_plugin_class(qparser.PhrasePlugin)
    parser.add_plugin(FragmentPlugin())
    parser.add_plugin(qparser.GtLtPlugin())
    parser.add_plugin(qparser.FieldAliasPlugin(ALIASES))
    parser.remove_plugin_class(qparser.WildcardPlugin)
    return parser


_PARSERS: dict[int, Any] = {}


def parse(schema, q: str):
    """Parse user query syntax (fragments in quotes, AND/OR/NOT, field:value, ranges)."""
    text = normalize(q).strip()
    # curly quotes typed as quotes (outside ASCII-quoted strings, where they are text)
    text = "".join(part if part.startswith('"') else re.sub(r"[“”]", '"', part)
                   for part in re.split(r'("[^"]*")', text))
    if not text or not text.strip('"'):
        return Q.Every() if not text else Q.NullQuery
    if not text.strip("* "):  # only stars: what a user typing a wildcard expects, everything
        return Q.Every()
    parser = _PARSERS.get(id(schema))
    if parser is None:
        parser = _PARSERS[id(schema)] = _parser(schema)
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # whoosh raises plain exceptions for malformed ranges
        raise QueryError(f"无法理解的检索式：{exc}") from exc
    return parsed.accept(_no_punctuation_terms).normalize()


def _no_punctuation_terms(node):
    """A bare word of punctuation only (``*``, ``-``) is no condition: the text fields' analysis
    drops it, and 编号/档号 (kept whole) must not turn it into a required literal term."""
    if type(node) is Q.Term and isinstance(node.text, str) and not any(c.isalnum() for c in node.text):
        return Q.NullQuery
    return node


def overdue_query():
    """Open items whose next deadline has passed (computed at query time, never stale)."""
    from ..timeutil import now

    moment = now().replace(tzinfo=None)
    return Q.And([Q.DateRange("next_due", None, moment), Q.Not(Q.Term("final", True))])


def filters(principals: Iterable[str], f: Filters) -> list:
    """The non-scoring branches of the query: who may view, then the facet choices."""
    out: list = [Unscored(Q.Or([Q.Term("allowed", p) for p in principals]))]
    for fname, value in (("board", f.board), ("state", f.state), ("units", f.unit), ("retention", f.retention)):
        if value:
            out.append(Unscored(Q.Term(fname, str(value))))
    if f.year:
        y = int(f.year)
        out.append(Unscored(Q.NumericRange("year", y, y)))
    if f.overdue is not None:
        late = overdue_query()
        out.append(Unscored(late if f.overdue else Q.Not(late)))
    return out


def highlight_terms(q) -> tuple[str, ...]:
    """Words and fragments of the parsed query in text fields (what snippets mark)."""
    terms: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, Fragment):
            if node.fieldname in TEXT_FIELDS and node.text:
                terms.add(node.text)
            return
        if isinstance(node, (Q.Term, Q.Phrase)) and not isinstance(node, Unscored):
            if node.fieldname in TEXT_FIELDS:
                words = node.words if isinstance(node, Q.Phrase) else [node.text]
                terms.update(w for w in words if isinstance(w, str) and w)
            return
        if isinstance(node, Q.Not):
            return
        for child in node.children():
            walk(child)

    walk(q)
    return tuple(sorted(terms, key=len, reverse=True))


class _Writer:
    def __init__(self, ix) -> None:
        self._w = open_writer(ix, timeout=30)

    def update(self, doc: dict[str, Any]) -> None:
        self._w.update_document(**doc)

    def delete(self, item_id: str) -> None:
        self._w.delete_by_term("id", item_id)

    def commit(self) -> None:
        self._w.commit()

    def cancel(self) -> None:
        self._w.cancel()


def _write_all(ix, documents: Iterable[dict[str, Any]], progress: Callable[[int], None] | None) -> int:
    writer = open_writer(ix)
    n = 0
    try:
        for doc in documents:
            try:
                writer.add_document(**doc)
            except Exception as exc:  # noqa: BLE001 - this writer is spoiled: the caller starts over
                raise DocumentFailed(doc.get("id", ""), problem_reason(exc)) from exc
            n += 1
            if progress is not None and n % 100 == 0:
                progress(n)
    except BaseException:
        writer.cancel()
        raise
    writer.commit()
    if progress is not None:
        progress(n)
    return n


class WhooshEngine:
    """:class:`.engine.Engine` on a whoosh index with array postings (see module doc)."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self._opened: tuple[str, Any] | None = None
        self._mutex = threading.Lock()
        self._local = threading.local()

    def open(self):
        """The active whoosh index (an empty one is made when there is none)."""
        with self._mutex:
            name = self.store.current_name()
            if name is None:
                path = self._new_generation()
                self.store.activate(path)
                name = path.name
            if self._opened is None or self._opened[0] != name:
                self._opened = (name, windex.open_dir(str(self.store.root / name)))
            return self._opened[1]

    def _new_generation(self):
        path = self.store.new_generation()
        windex.create_in(str(path), make_schema())
        return path

    def searcher(self):
        """A per-thread searcher, refreshed when the index changed."""
        ix = self.open()
        cached = getattr(self._local, "searcher", None)
        if cached is not None and cached[0] is ix:
            s = cached[1].refresh()
        else:
            if cached is not None:
                cached[1].close()
            s = ix.searcher()
        self._local.searcher = (ix, s)
        return s

    def writer(self) -> _Writer:
        return _Writer(self.open())

    def rebuild(self, documents: Iterable[dict[str, Any]], *, procs: int,
                progress: Callable[[int], None] | None = None) -> int:
        """A new generation directory beside the live one, switched to atomically when complete."""
        path = self._new_generation()
        ix = windex.open_dir(str(path))
        try:
            if procs > 1:
                n = parallel.build(ix, documents, procs=procs, progress=progress)
            else:
                n = _write_all(ix, documents, progress)
        except BaseException:
            ix.close()
            shutil.rmtree(path, ignore_errors=True)
            raise
        self.store.activate(path)
        return n

    def stored(self, item_id: str) -> dict[str, Any] | None:
        if self.store.exists() and not self.store.up_to_date_schema():
            return None  # an older format: rebuilt before it is read
        searcher = self.searcher()
        docnum = searcher.document_number(id=item_id)
        return None if docnum is None else unpack_text(searcher.stored_fields(docnum))

    def search(self, principals: list[str], q: str, f: Filters, *, sort: str | None = None,
               reverse: bool = False, page: int = 1, per_page: int = 20, facets: bool = True) -> EngineResult:
        if self.store.exists() and not self.store.up_to_date_schema():
            # an index of an older format (after an upgrade): the indexer rebuilds it on its next
            # cycle (or `duban-archive reindex`); until then it cannot be read by this code
            raise IndexUnavailable("全文索引正在按新版本格式重建，请稍后再检索")
        searcher = self.searcher()
        parsed = parse(searcher.schema, q)
        full = Q.And([parsed] + filters(principals, f))
        try:
            got = matching.search(searcher, full, sortedby=sort, reverse=reverse, page=page, pagelen=per_page,
                                  facets=matching.FACETS if facets else None)
        except matching.Unsupported as exc:
            raise QueryError(f"不支持的检索式：{exc}") from exc
        hits = [(unpack_text(searcher.stored_fields(docnum)), score)
                for docnum, score in zip(got.docnums, got.scores, strict=True)]
        return EngineResult(total=got.total, hits=hits, facets=got.facets, page=got.page,
                            terms=highlight_terms(parsed))
