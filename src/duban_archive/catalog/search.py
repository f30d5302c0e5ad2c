"""Querying the full-text catalog: the only module views call (never whoosh directly).

The caller's effective principals are part of the query itself (an ``allowed``
term filter with no effect on scores), so totals, facets and pages only ever
count what the caller may view; views re-check ``view`` on each item shown.

The parsed query is evaluated set-at-a-time over the posting arrays
(:mod:`.matching`); whoosh's own matchers run only the rare query that
module leaves to them.  Either way only the page shown reads stored fields.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from whoosh import qparser, sorting
from whoosh import query as Q
from whoosh.matching import NullMatcherClass, WrappingMatcher

from . import matching
from .analysis import normalize

log = logging.getLogger(__name__)
TEXT_FIELDS = ("title", "body", "files")
SORTS = {
    "relevance": None,
    "registered_on": ("registered_on", True),
    "modified": ("modified", True),
    "deadline": ("deadline", False),
}
FACETS = ("board", "state", "unit", "year", "retention")
#: field names users may type in Chinese (``状态:assigned``, ``年度:2025``)
ALIASES = {
    "title": ["标题"], "body": ["内容", "正文"], "files": ["附件"], "state": ["状态"],
    "board": ["版块"], "units": ["单位", "unit"], "lead_unit": ["牵头单位", "主办单位"],
    "year": ["年度"], "retention": ["保管期限"], "archival_code": ["档号"], "number": ["编号"],
    "registered_on": ["立项日期"], "deadline": ["办结时限", "期限"], "grade": ["评价"],
    "type": ["类型"],
}
MAX_PER_PAGE = 100


class QueryError(ValueError):
    """The query string could not be understood (message in Chinese)."""


@dataclass
class Hit:
    id: str
    number: str
    title: str
    state: str
    board: str
    score: float
    snippet: str  # HTML: escaped text with <mark> around matched words
    registered_on: datetime | None = None
    units: tuple[str, ...] = ()
    retention: str = ""
    archival_code: str = ""
    #: attachments whose text could not be read (no OCR here), by name
    unextracted: tuple[str, ...] = ()


@dataclass
class SearchResults:
    total: int
    hits: list[Hit]
    facets: dict[str, list[tuple[Any, int]]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 20
    terms: tuple[str, ...] = ()

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class _UnscoredMatcher(WrappingMatcher):
    """Matches what its child matches and adds nothing to the score."""

    def _replacement(self, newchild):
        return self.__class__(newchild)

    def next(self):
        return self.child.next()

    def score(self) -> float:
        return 0.0

    def weight(self) -> float:
        return 0.0

    def supports_block_quality(self) -> bool:
        return False

    def max_quality(self) -> float:
        return 0.0

    def block_quality(self) -> float:
        return 0.0


class Unscored(Q.WrappingQuery):
    """A filter branch of an ``And``: it restricts, it does not score.

    whoosh's ``ConstantScoreQuery`` does the same by first reading *every*
    document id its child matches into an array — for the permission filter
    of a supervisor that is the whole index, on every query.  This matcher
    is driven by the text query instead (skipping ahead), so a filter costs
    in proportion to the hits, not to the index.
    """

    def _rewrap(self, child):
        return self.__class__(child)

    def matcher(self, searcher, context=None):
        m = self.child.matcher(searcher, context)
        return m if isinstance(m, NullMatcherClass) else _UnscoredMatcher(m)


class LazyOr(Q.Or):
    """An Or that never preloads its postings into an array (whoosh does so below 5000
    documents): the permission filter is a union over the caller's principals, and the
    text query should drive it, skipping ahead, instead of it reading every id."""

    matcher_type = Q.Or.DEFAULT_MATCHER


def _column(reader, fieldname: str):
    """A segment's column reader, kept on the (reused, immutable) segment reader.

    whoosh builds a new column reader per query, and a bytes column reader
    decodes the offsets of *every* document when built: O(index) per query.
    """
    cache = reader.__dict__.setdefault("_duban_columns", {})
    if fieldname not in cache:
        cache[fieldname] = (reader.column_reader(fieldname, translate=True)
                            if reader.has_column(fieldname) else None)
    return cache[fieldname]


class ColumnFacet(sorting.FacetType):
    """Count by a column's value; ``split=True`` for comma-joined multi-values (units)."""

    def __init__(self, fieldname: str, split: bool = False) -> None:
        self.fieldname = fieldname
        self.split = split

    def categorizer(self, global_searcher):
        return _ColumnCategorizer(self.fieldname, self.split)


class _ColumnCategorizer(sorting.Categorizer):
    def __init__(self, fieldname: str, split: bool) -> None:
        self.fieldname = fieldname
        self.allow_overlap = split
        self._col = None

    def set_searcher(self, segment_searcher, docoffset):
        self._col = _column(segment_searcher.reader(), self.fieldname)

    def key_for(self, matcher, docid):
        if self._col is None:
            return ""
        value = self._col[docid]
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def keys_for(self, matcher, docid):
        raw = self._col[docid] if self._col is not None else b""
        return raw.decode("utf-8").split(",") if raw else []


def _parser(schema):
    parser = qparser.MultifieldParser(list(TEXT_FIELDS) + ["number", "archival_code"], schema,
                                      fieldboosts={"title": 3.0, "number": 5.0, "archival_code": 5.0},
                                      group=qparser.AndGroup)
    parser.add_plugin(qparser.GtLtPlugin())
    parser.add_plugin(qparser.FieldAliasPlugin(ALIASES))
    parser.remove_plugin_class(qparser.WildcardPlugin)
    return parser


_PARSERS: dict[int, Any] = {}


def parse(schema, q: str):
    """Parse user query syntax (phrases in quotes, AND/OR/NOT, field:value, ranges)."""
    text = normalize(q).strip()
    if not text:
        return Q.Every()
    # Chinese operators and full-width quotes typed by users
    text = re.sub(r"[“”]", '"', text)
    parser = _PARSERS.get(id(schema))
    if parser is None:
        parser = _PARSERS[id(schema)] = _parser(schema)
    try:
        parsed = parser.parse(text)
    except Exception as exc:  # whoosh raises plain exceptions for malformed ranges
        raise QueryError(f"无法理解的检索式：{exc}") from exc
    return parsed.accept(lambda node: _no_phrase_without_positions(schema, node)).normalize()


def _no_phrase_without_positions(schema, node):
    """The parser spreads a phrase over every default field, 编号 and 档号 included; those keep
    no positions, and whoosh refuses the whole query for it (a phrase with ``~3``)."""
    if isinstance(node, Q.Phrase) and node.fieldname in schema \
            and not schema[node.fieldname].format.supports("positions"):
        return Q.NullQuery
    return node


def overdue_query():
    """Open items whose next deadline has passed (computed at query time, never stale)."""
    from ..timeutil import now

    moment = now().replace(tzinfo=None)
    return Q.And([Q.DateRange("next_due", None, moment), Q.Not(Q.Term("final", True))])


def _filters(principals, board, state, unit, year, retention, overdue=None) -> list:
    out: list = [Unscored(LazyOr([Q.Term("allowed", p) for p in principals]))]
    for fname, value in (("board", board), ("state", state), ("units", unit), ("retention", retention)):
        if value:
            out.append(Unscored(Q.Term(fname, str(value))))
    if year:
        y = int(year)
        out.append(Unscored(Q.NumericRange("year", y, y)))
    if overdue is not None:
        late = overdue_query()
        out.append(Unscored(late if overdue else Q.Not(late)))
    return out


def query_terms(q) -> tuple[str, ...]:
    """Words of the parsed query in text fields (for highlighting)."""
    terms = set()
    for fname, text in q.iter_all_terms(phrases=True):
        if fname in TEXT_FIELDS and isinstance(text, str):
            terms.add(text)
    return tuple(sorted(terms, key=len, reverse=True))


def run(store, principals, q: str = "", *, board: str | None = None, state: str | None = None,
        unit: str | None = None, year: int | None = None, retention: str | None = None,
        overdue: bool | None = None, sort: str = "relevance", page: int = 1, per_page: int = 20, facets: bool = True,
        snippets: bool = True) -> SearchResults:
    """Search what ``principals`` may view; see module doc."""
    principals = [p for p in principals if p]
    page = max(1, int(page))
    per_page = max(1, min(MAX_PER_PAGE, int(per_page)))
    searcher = store.searcher()
    parsed = parse(searcher.schema, q)
    full = Q.And([parsed] + _filters(principals, board, state, unit, year, retention, overdue))
    kw: dict[str, Any] = {}
    sort_spec = SORTS.get(sort) or None
    if sort_spec:
        kw["sortedby"] = sort_spec[0]
        kw["reverse"] = sort_spec[1]
    terms = query_terms(parsed)
    try:
        fast = matching.search(searcher, full, sortedby=kw.get("sortedby"), reverse=kw.get("reverse", False),
                               page=page, pagelen=per_page, facets=matching.FACETS if facets else None)
    except Exception:  # a bug there must not cost the user the search: whoosh answers (slower)
        log.exception("array evaluation failed for %r; whoosh runs it", q)
        fast = None
    if fast is not None:
        hits = [_hit(searcher.stored_fields(docnum), score, terms, snippets)
                for docnum, score in zip(fast.docnums, fast.scores, strict=True)]
        out = SearchResults(total=fast.total, hits=hits, page=page, per_page=per_page, terms=terms)
        for name, counts in fast.facets.items():
            out.facets[name] = _facet_pairs(counts)
        return out
    # a query the array evaluation does not cover: whoosh's own matchers
    if facets:
        kw["groupedby"] = {
            "board": ColumnFacet("board"), "state": ColumnFacet("state"), "year": ColumnFacet("year"),
            "retention": ColumnFacet("retention"), "unit": ColumnFacet("units_col", split=True),
        }
        kw["maptype"] = sorting.Count
    results = searcher.search_page(full, page, pagelen=per_page, **kw)
    hits = [_hit(hit.fields(), float(hit.score or 0.0) if not sort_spec else 0.0, terms, snippets)
            for hit in results]
    out = SearchResults(total=results.total, hits=hits, page=page, per_page=per_page, terms=terms)
    if facets:
        for name in FACETS:
            out.facets[name] = _facet_pairs(results.results.groups(name))
    return out


#: a year column's value for items without a year (whoosh's unsigned 32-bit default)
_NO_YEAR = 2**32 - 1


def _facet_pairs(counts: dict) -> list[tuple[Any, int]]:
    pairs = [(k, v) for k, v in counts.items() if k not in ("", None, b"", _NO_YEAR)]
    pairs.sort(key=lambda kv: (-kv[1], str(kv[0])))
    return pairs


def _hit(stored: dict[str, Any], score: float, terms, snippets: bool) -> Hit:
    return Hit(
        id=stored["id"], number=stored.get("number", ""), title=stored.get("title", ""),
        state=stored.get("state", ""), board=stored.get("board", ""),
        score=round(score, 4),
        snippet=make_snippet(stored, terms) if snippets else "",
        registered_on=stored.get("registered_on"),
        units=tuple(u for u in stored.get("units", "").split(",") if u),
        retention=stored.get("retention", ""), archival_code=stored.get("archival_code", ""),
        unextracted=tuple(a for a in stored.get("unextracted", "").split(",") if a),
    )


# -- snippets --------------------------------------------------------------
_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+|\n|$)")


def sentences(text: str) -> list[str]:
    """Split on Chinese sentence ends (。！？), keeping the punctuation."""
    return [s.strip() for s in _SENTENCE.findall(text or "") if s.strip()]


def make_snippet(stored: dict[str, Any], terms, max_sentences: int = 2, width: int = 160) -> str:
    """Up to two sentences with the most matched words, matches in ``<mark>``."""
    scored: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    order = 0
    for fname in ("body", "files", "title"):
        for sentence in sentences(stored.get(fname, "")):
            order += 1
            norm = normalize(sentence)
            low = norm.lower()
            if not any(t in low for t in terms):
                continue
            if len(norm) != len(sentence):  # NFKC changed the length: mark the normalised text
                sentence = norm
            spans = _find_all(low, terms)
            if spans:
                scored.append((len({sentence[s:e].lower() for s, e in spans}), -order, sentence, spans))
    if not scored:
        first = sentences(stored.get("body", "")) or [stored.get("title", "")]
        text = first[0]
        return html.escape(text[:width] + ("…" if len(text) > width else ""))
    scored.sort(reverse=True)
    chosen = sorted(scored[:max_sentences], key=lambda s: -s[1])
    return " … ".join(_mark(sentence, spans, width) for _, _, sentence, spans in chosen)


def _find_all(text: str, terms) -> list[tuple[int, int]]:
    """Spans of every occurrence of the query words (no re-analysis: snippets stay cheap)."""
    spans = []
    for term in terms:
        start = text.find(term)
        while start >= 0:
            spans.append((start, start + len(term)))
            start = text.find(term, start + len(term))
    return spans


def _mark(sentence: str, spans: list[tuple[int, int]], width: int) -> str:
    spans = sorted(spans)
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    start = 0
    if len(sentence) > width and merged and merged[0][0] > width // 3:
        start = merged[0][0] - width // 3
    end = min(len(sentence), start + width)
    out = ["…" if start else ""]
    pos = start
    for s, e in merged:
        if s >= end:
            break
        s = max(s, pos)
        out.append(html.escape(sentence[pos:s]))
        out.append(f"<mark>{html.escape(sentence[s:min(e, end)])}</mark>")
        pos = min(e, end)
    out.append(html.escape(sentence[pos:end]))
    if end < len(sentence):
        out.append("…")
    return "".join(out)


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value)
