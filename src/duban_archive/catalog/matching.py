"""Query evaluation: a parsed query run set-at-a-time with numpy over the array postings.

This is the catalog's only evaluator (whoosh parses the query string; its own
matchers, a Python step per posting, are not used).  Every query node yields a
boolean mask over a segment's documents and (for relevance order) a float score
per document; ``And`` is ``&``, ``Or`` is ``|``, ``Not`` is ``~``, the result is
restricted to live (not deleted) documents.  Only the page shown reads stored
fields, afterwards.

Semantics, which the tests check against whoosh 2.7.4's own matchers where whoosh
has the node:

* BM25F (``B`` 0.75, ``K1`` 1.2, whoosh's defaults) with the searcher-wide idf and
  average field length, the per-document field length byte, the posting weight
  ``freq × field_boost`` and the query boosts; ``And``/``Or``/``AndMaybe`` add their
  children's scores, ``DisjunctionMax`` takes the highest, ``AndNot`` and ``Require``
  keep the first child's; a compound's boost multiplies (not for a single child);
* a ``Not`` adds 1.0 to a document it lets through, ``Every()`` and
  ``ConstantScoreQuery`` add their constant, ``Unscored`` (permission and facet
  filters) adds nothing;
* a phrase with slop ``s`` matches where each word stands 1…s positions after the
  previous one (whoosh's ``SpanNear2(ordered=True, mindist=1)``; ``s = 1``: consecutive),
  scored as the sum of its words' own BM25 scores, times its boost;
* a :class:`~.queries.Fragment` matches where the text field's characters contain it:
  its bigrams at consecutive character positions (one character: any term of the
  fragment field beginning with it).  Scored as the sum of the BM25 scores of the
  bigrams used, with the text field's length and boost;
* a multi-term query (``TermRange``, ``Prefix``, ``Wildcard``…) expands to its terms per
  segment (``expanded_terms``); with ``constantscore`` (whoosh's default) it scores its
  boost per document whatever the segment size (whoosh does so only where it preloads:
  segments of ≤ 5000 documents), else as the ``Or`` of its terms with the boost (one
  term: that term without the boost); numeric and date ranges are expanded by whoosh
  (``simplify``).

Where whoosh 2.7.4 is wrong, this module is not (tests show each case): ``Require``
means "a, restricted to b, scored by a"; ``DisjunctionMax`` never takes a score of
another document; ``AndMaybe`` keeps its score inside an ``And``; an ``Or`` keeps a
document whose score is 0.  Sums are added in one fixed order, so scores may differ
from whoosh's in the last bits.

Facets are counted from the postings of the facet fields (every term of ``board`` is
a value; ``units`` holds several per item) and date sorting reads the full-precision
terms of the date field: no column, no per-document Python.  Nothing here is rebuilt
when the index changes except for the segments that changed: everything is derived
from a segment's postings file, parsed lazily and kept by segment id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh import fields as wfields
from whoosh import query as Q
from whoosh.query.compound import DefaultOr, PreloadedOr
from whoosh.util.numeric import byte_to_length

from .analysis import fragment_grams
from .codec import segment_deleted_docs, segment_id, terms_reader
from .postings import ArrayTermsReader
from .queries import Fragment, Unscored
from .schema import FRAGMENT_FIELDS

__all__ = ["FACETS", "Result", "search"]

_U32 = np.uint32
#: whoosh's BM25F defaults (the catalog's searchers use them)
B = 0.75
K1 = 1.2
#: whoosh's 1-byte field length code -> length
_LENGTH_OF_BYTE = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float64)
_MULTI_TERM = (Q.TermRange, Q.Prefix, Q.Wildcard, Q.Regex, Q.FuzzyTerm, Q.Variations)
#: the largest sort key: documents without a value (last ascending, first reversed)
_NO_VALUE = np.iinfo(np.uint64).max
#: a phrase's slop beyond this is treated as this (a window of 64 words)
MAX_SLOP = 64

#: facets :mod:`.search` shows: name -> indexed field whose terms are the values
FACETS: dict[str, str] = {"board": "board", "state": "state", "year": "year", "retention": "retention",
                          "unit": "units"}


@dataclass
class Result:
    """What :func:`search` found: the page asked for (global docnums), totals and facets."""

    total: int
    docnums: list[int]
    #: relevance scores of ``docnums`` (0.0 each when sorted by a field: nothing is scored then)
    scores: list[float]
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)
    #: the page returned (a page past the end gives the last one)
    page: int = 1


class Unsupported(Exception):
    """A query node (or an index) this module does not evaluate."""


# -- per-segment data that does not depend on the query ---------------------

class _SegmentData:
    """Query-independent arrays of one segment, kept by segment id: a segment's postings never
    change once written, so after an index change only new segments start cold."""

    def __init__(self) -> None:
        self.facets: dict[str, _Facet] = {}
        self.sortkeys: dict[str, np.ndarray] = {}
        self.live: tuple[int, np.ndarray] | None = None
        self.filters: OrderedDict[str, np.ndarray] = OrderedDict()


_CACHE: OrderedDict[Any, _SegmentData] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SEGMENTS = 96
#: filter masks kept per segment (n bytes each: 64 of a 100 000-item segment = 6.4 MB)
_FILTERS_KEPT = 64


def _segment_data(segreader) -> _SegmentData:
    key = (segment_id(segreader), segreader.doc_count_all())
    with _CACHE_LOCK:
        data = _CACHE.get(key)
        if data is None:
            data = _CACHE[key] = _SegmentData()
            while len(_CACHE) > _CACHE_SEGMENTS:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
    return data


def _live(segreader, data: _SegmentData, n: int) -> np.ndarray | None:
    """Mask of documents not deleted, or None when none is."""
    if not segreader.has_deletions():
        return None
    count = n - segreader.doc_count()
    if data.live is not None and data.live[0] == count:  # a segment's deletions only ever grow
        return data.live[1]
    live = np.ones(n, dtype=bool)
    deleted = np.fromiter(segment_deleted_docs(segreader), dtype=np.int64)
    live[deleted[deleted < n]] = False
    data.live = (count, live)
    return live


def _is_numeric(fobj) -> bool:
    return isinstance(fobj, wfields.NUMERIC)


def _numeric_terms(terms: ArrayTermsReader, fieldname: str) -> tuple[int, int]:
    """Term ids of a numeric field's full-precision terms (they sort first: shift byte 0)."""
    return terms.term_range(fieldname, b"\x00")


class _Facet:
    """A facet field in one segment: its values, and which documents hold which.

    Single-valued fields (board, state, year…) keep one value code per document (-1: none),
    so counting reads only the matched documents; multi-valued ones (units) the postings.
    """

    def __init__(self, terms: ArrayTermsReader, schema, fieldname: str, n: int) -> None:
        fobj = schema[fieldname]
        numeric = _is_numeric(fobj)
        lo, hi = _numeric_terms(terms, fieldname) if numeric else terms.term_range(fieldname)
        docs, _freqs, tids = terms.postings_of_range(lo, hi)
        self.values: list[Any] = []
        for t in range(lo, hi):
            raw = terms.term_bytes(t)
            self.values.append(fobj.from_bytes(raw) if numeric else raw.decode("utf-8"))
        vidx = tids - lo
        self.codes: np.ndarray | None = None
        self.vidx = vidx
        self.starts: np.ndarray | None = None
        if len(docs) and int(np.bincount(docs.astype(np.int64), minlength=n).max()) <= 1:
            self.codes = np.full(n, -1, np.int64)
            self.codes[docs] = vidx
        elif len(docs):  # by document: each document's values at starts[d]:starts[d + 1]
            order = np.argsort(docs, kind="stable")
            self.vidx = vidx[order]
            self.starts = np.searchsorted(docs[order], np.arange(n + 1))

    def count(self, mask: np.ndarray, idx: np.ndarray, into: dict[Any, int]) -> None:
        if not self.values:
            return
        if self.codes is not None:
            per_value = np.bincount(self.codes[idx] + 1, minlength=len(self.values) + 1)[1:]
        elif self.starts is not None:
            first, lens = self.starts[idx], self.starts[idx + 1] - self.starts[idx]
            at = np.repeat(first - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
            per_value = np.bincount(self.vidx[at], minlength=len(self.values))
        else:
            return
        for i in np.flatnonzero(per_value).tolist():
            key = self.values[i]
            into[key] = into.get(key, 0) + int(per_value[i])


def _facet(terms: ArrayTermsReader, schema, data: _SegmentData, fieldname: str, n: int) -> _Facet:
    got = data.facets.get(fieldname)
    if got is None:
        got = data.facets[fieldname] = _Facet(terms, schema, fieldname, n)
    return got


def _sort_keys(terms: ArrayTermsReader, schema, data: _SegmentData, fieldname: str, n: int) -> np.ndarray:
    """Each document's sortable value of a numeric/date field (``_NO_VALUE`` without one)."""
    keys = data.sortkeys.get(fieldname)
    if keys is None:
        lo, hi = _numeric_terms(terms, fieldname)
        keys = np.full(n, _NO_VALUE, dtype=np.uint64)
        if hi > lo:
            docs, _freqs, tids = terms.postings_of_range(lo, hi)
            width = len(terms.term_bytes(lo))
            blob = terms.term_bytes_range(lo, hi)  # fixed-width terms, contiguous: decoded at once
            if len(blob) != width * (hi - lo):
                raise Unsupported(f"terms of {fieldname} are not of one width")
            raw = np.frombuffer(blob, np.uint8).reshape(hi - lo, width)[:, 1:]
            vals = np.zeros(hi - lo, np.uint64)
            for j in range(width - 1):  # big-endian
                vals = (vals << np.uint64(8)) | raw[:, j].astype(np.uint64)
            keys[docs] = vals[tids - lo]
        data.sortkeys[fieldname] = keys
    return keys


# -- the query plan -----------------------------------------------------------

def _compile(q, reader, schema) -> tuple:
    """The query as nested tuples (what each segment evaluates); raises :class:`Unsupported`."""
    t = type(q)
    if q is Q.NullQuery or isinstance(q, type(Q.NullQuery)):
        return ("null",)
    if t is Unscored:
        return ("unscored", _compile(q.child, reader, schema))
    if t is Q.ConstantScoreQuery:
        return ("const", _compile(q.child, reader, schema), q.score or 1.0)
    if t is Q.WrappingQuery:
        return _compile(q.child, reader, schema)
    if t is Q.Term:
        if q.fieldname not in schema:
            return ("null",)
        try:
            btext = schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return ("null",)
        return ("term", q.fieldname, btext, q.boost)
    if t is Fragment:
        return _compile_fragment(q, reader, schema)
    if t is Q.Phrase:
        if not q.words or q.fieldname not in schema:
            return ("null",)
        fobj = schema[q.fieldname]
        if not fobj.format or not fobj.format.supports("positions"):
            return ("null",)  # 编号, 档号: no positions, no phrase
        try:
            words = [fobj.to_bytes(w) for w in q.words]
        except ValueError:
            return ("null",)
        return ("phrase", q.fieldname, words, max(1, min(int(q.slop), MAX_SLOP)), q.boost)
    if t in (Q.NumericRange, Q.DateRange):
        try:
            simple = q.simplify(reader)
        except Exception as exc:  # whoosh raises plain exceptions (not a numeric field…)
            raise Unsupported(str(exc)) from exc
        return _compile(simple, reader, schema)
    if t in _MULTI_TERM:
        if q.field() not in schema:
            return ("null",)
        if (t is Q.Prefix and not q.text) or (t is Q.Wildcard and q.text == "*") or (t is Q.Regex and q.text == ".*"):
            return ("field", q.field(), q.boost)
        return ("multi", q)
    if t is Q.Every:
        if q.fieldname not in (None, "", "*"):
            return ("field", q.fieldname, q.boost or 1.0)
        return ("every", q.boost or 1.0)
    if t is Q.And:
        return ("and", [_compile(s, reader, schema) for s in q.subqueries], q.boost)
    if t in (Q.Or, DefaultOr, PreloadedOr):
        if getattr(q, "scale", None):
            raise Unsupported("Or with a coordination scale")
        return ("or", [_compile(s, reader, schema) for s in q.subqueries], q.boost)
    if t is Q.DisjunctionMax:
        return ("dismax", [_compile(s, reader, schema) for s in q.subqueries], q.boost)
    if t is Q.Not:
        return ("not", _compile(q.query, reader, schema))
    if t is Q.AndNot:
        return ("andnot", _compile(q.a, reader, schema), _compile(q.b, reader, schema))
    if t is Q.AndMaybe:
        return ("andmaybe", _compile(q.a, reader, schema), _compile(q.b, reader, schema))
    if t is Q.Require:
        return ("require", _compile(q.a, reader, schema), _compile(q.b, reader, schema))
    raise Unsupported(t.__name__)


def _compile_fragment(q: Fragment, reader, schema) -> tuple:
    text = q.text
    if not text or q.fieldname not in schema:
        return ("null",)
    gramfield = FRAGMENT_FIELDS.get(q.fieldname)
    if gramfield is None or gramfield not in schema:
        # not a text field (编号, 档号, an ID): the fragment is that field's value
        fobj = schema[q.fieldname]
        words = list(fobj.process_text(text, mode="query")) if fobj.analyzer else [text]
        if not words:
            return ("null",)
        terms = [_compile(Q.Term(q.fieldname, w, boost=q.boost), reader, schema) for w in words]
        return terms[0] if len(terms) == 1 else ("and", terms, 1.0)
    if len(text) == 1:
        return ("prefix", gramfield, q.fieldname, text.encode("utf-8"), q.boost)
    grams = fragment_grams(text)
    return ("grams", gramfield, q.fieldname, [o for o, _ in grams], [g.encode("utf-8") for _, g in grams],
            q.boost)


# -- evaluation ---------------------------------------------------------------

_Eval = tuple[np.ndarray, np.ndarray | None]


class _Scoring:
    """The searcher-wide statistics BM25F reads (idf, average field length), remembered per query."""

    def __init__(self, searcher) -> None:
        self.searcher = searcher
        self.avgfl: dict[str, float] = {}

    def avg_length(self, fieldname: str) -> float:
        v = self.avgfl.get(fieldname)
        if v is None:
            v = self.avgfl[fieldname] = self.searcher.avg_field_length(fieldname) or 1
        return v

    def idf(self, fieldname: str, btext: bytes) -> float:
        return self.searcher.idf(fieldname, btext)


def _keys(docs: np.ndarray, freqs: np.ndarray, positions: np.ndarray, off: int,
          candidates: np.ndarray) -> np.ndarray:
    """``doc << 32 | (position - off)`` of a term's occurrences in the candidate documents,
    ascending (postings are in docnum order, positions ascending within one)."""
    sel = candidates[docs]
    if not sel.all():
        keep = np.repeat(sel, freqs.astype(np.int64))
        docs, freqs, positions = docs[sel], freqs[sel], positions[keep]
    owner = np.repeat(docs.astype(np.uint64), freqs.astype(np.int64))
    pos = positions.astype(np.int64) - off
    if off:
        ok = pos >= 0
        owner, pos = owner[ok], pos[ok]
    return (owner << np.uint64(32)) | pos.astype(np.uint64)


def _chain(got: list, offsets: Sequence[int], slop: int, candidates: np.ndarray) -> np.ndarray:
    """Keys ``doc << 32 | start`` of the occurrences: each term i at ``start + offsets[i]``
    (``slop`` 0), or 1…``slop`` positions after the previous term (``slop`` > 0).
    Only documents in ``candidates`` (holding every term) are looked at."""
    if not slop:  # anchored: intersect the starts, smallest first
        keys = [_keys(d, f, p, off, candidates) for (d, f, p), off in zip(got, offsets, strict=True)]
        keys.sort(key=len)
        cur = keys[0]
        for other in keys[1:]:
            if not len(cur) or not len(other):
                return cur[:0]
            j = np.searchsorted(other, cur)
            j[j == len(other)] = 0
            cur = cur[other[j] == cur]
        return cur
    # sloppy: carry each partial match's start and end (as whoosh's spans)
    docs0, freqs0, positions0 = got[0]
    starts = ends = _keys(docs0, freqs0, positions0, 0, candidates)
    for docs, freqs, positions in got[1:]:
        if not len(ends):
            break
        other = _keys(docs, freqs, positions, 0, candidates)
        lo = np.searchsorted(other, ends + np.uint64(1), "left")
        hi = np.searchsorted(other, ends + np.uint64(slop), "right")
        cnt = hi - lo
        total = int(cnt.sum())
        if not total:
            return ends[:0]
        first = np.repeat(lo, cnt)
        step = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pair = np.unique(np.stack([np.repeat(starts, cnt), other[first + step]]), axis=1)
        starts, ends = pair[0], pair[1]
    return starts


class _Segment:
    """Evaluates a compiled query over one segment."""

    def __init__(self, segreader, scoring: _Scoring | None) -> None:
        terms = terms_reader(segreader)
        if not isinstance(terms, ArrayTermsReader):
            raise Unsupported("a segment not written by postings.open_writer")
        self.reader = segreader
        self.terms = terms
        self.n = segreader.doc_count_all()
        self.data = _segment_data(segreader)
        self.scoring = scoring
        self.schema = segreader.schema

    def arrays(self, fieldname: str, btext: bytes):
        return self.terms.arrays(fieldname, btext)

    def filter_mask(self, node: tuple) -> np.ndarray:
        """A filter's mask (permissions, facet choices), remembered per segment: users repeat
        them query after query, and a segment's postings never change.  Read-only."""
        key = repr(node)
        filters = self.data.filters
        mask = filters.get(key)
        if mask is None:
            mask, _ = self.eval(node, False)
            mask = mask.copy() if not mask.flags.writeable else mask
            mask.flags.writeable = False
            filters[key] = mask
            while len(filters) > _FILTERS_KEPT:
                filters.popitem(last=False)
        else:
            filters.move_to_end(key)
        return mask

    def term_scores(self, fieldname: str, btext: bytes | None, docs: np.ndarray, freqs: np.ndarray,
                    length_field: str | None = None) -> np.ndarray:
        """BM25F score (or weight, for unscorable fields) of each posting, unboosted.

        ``length_field``: the field whose lengths, boost and average length count (a fragment
        field scores with its text field's); ``btext`` None: idf 1.
        """
        lfield = length_field or fieldname
        fobj = self.schema[lfield]
        tf = freqs.astype(np.float64) * (fobj.format.field_boost if fobj.format else 1.0)
        if not fobj.scorable:
            return tf
        sc = self.scoring
        assert sc is not None
        idf = sc.idf(fieldname, btext) if btext is not None else 1.0
        avgfl = sc.avg_length(lfield)
        table = self.terms.length_bytes(lfield)
        fl = _LENGTH_OF_BYTE[table[docs]] if table is not None else np.ones(len(docs))
        # the same operations in the same order as whoosh.scoring.bm25, so the same floats
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))

    def empty(self, scored: bool) -> _Eval:
        return np.zeros(self.n, bool), (np.zeros(self.n) if scored else None)

    def _mask(self, docs: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.n, bool)
        mask[docs] = True
        return mask

    def term(self, fieldname: str, btext: bytes, boost: float, scored: bool) -> _Eval:
        got = self.arrays(fieldname, btext)
        if got is None:
            return self.empty(scored)
        docs, freqs, _ = got
        mask = self._mask(docs)
        if not scored:
            return mask, None
        score = np.zeros(self.n)
        s = self.term_scores(fieldname, btext, docs, freqs)
        score[docs] = s * boost if boost != 1.0 else s
        return mask, score

    def _positional(self, fieldname: str, words: list[bytes], offsets: Sequence[int], slop: int,
                    boost: float, scored: bool, length_field: str | None = None) -> _Eval:
        got = [self.arrays(fieldname, w) for w in words]
        if any(g is None or g[2] is None for g in got):
            return self.empty(scored)
        candidates = self._mask(got[0][0])
        for docs, _f, _p in got[1:]:
            candidates &= self._mask(docs)
        if not candidates.any():
            return self.empty(scored)
        starts = _chain(got, offsets, slop, candidates)
        owners = (starts >> np.uint64(32)).astype(np.int64)  # ascending: distinct by neighbours
        matched = owners[np.concatenate(([True], owners[1:] != owners[:-1]))] if len(owners) else owners
        mask = self._mask(matched)
        if not scored:
            return mask, None
        parts = []
        for w, (docs, freqs, _) in zip(words, got, strict=True):
            at = np.searchsorted(docs, matched)
            parts.append(self.term_scores(fieldname, w, matched, freqs[at], length_field))
        total = _tree_sum(parts)  # whoosh's SpanNear2: a binary tree of its words' matchers
        score = np.zeros(self.n)
        score[matched] = total * boost if boost != 1.0 else total
        return mask, score

    def prefix(self, fieldname: str, length_field: str, prefix: bytes, boost: float, scored: bool) -> _Eval:
        """Documents with a term of ``fieldname`` beginning with ``prefix`` (a one-character fragment)."""
        lo, hi = self.terms.term_range(fieldname, prefix)
        docs, freqs, _ = self.terms.postings_of_range(lo, hi)
        mask = self._mask(docs)
        if not scored:
            return mask, None
        tf = np.bincount(docs.astype(np.int64), weights=freqs, minlength=self.n)
        matched = np.flatnonzero(mask)
        score = np.zeros(self.n)
        s = self.term_scores(fieldname, None, matched, tf[matched], length_field)
        score[matched] = s * boost if boost != 1.0 else s
        return mask, score

    def field(self, fieldname: str, boost: float, scored: bool) -> _Eval:
        """Documents with any term in the field (``field:*``), a constant score."""
        lo, hi = self.terms.term_range(fieldname)
        docs, _, _ = self.terms.postings_of_range(lo, hi)
        mask = self._mask(docs)
        return mask, (mask * float(boost) if scored else None)

    def multi(self, q, scored: bool) -> _Eval:
        fieldname = q.field()
        words = [w for _f, w in q.expanded_terms(self.reader) if w]
        if not words:
            return self.empty(scored)
        if q.constantscore:  # (whoosh's default for these) the boost per document
            mask = np.zeros(self.n, bool)
            for w in words:
                got = self.arrays(fieldname, w)
                if got is not None:
                    mask[got[0]] = True
            return mask, (mask * float(q.boost) if scored else None)
        if len(words) == 1:  # whoosh: the one Term, without the query's boost
            return self.term(fieldname, words[0], 1.0, scored)
        return self._or([("term", fieldname, w, 1.0) for w in words], q.boost, scored)

    # -- the tree ---------------------------------------------------------
    def eval(self, node: tuple, scored: bool) -> _Eval:
        kind = node[0]
        if kind == "term":
            return self.term(node[1], node[2], node[3], scored)
        if kind == "or":
            return self._or(node[1], node[2], scored)
        if kind == "and":
            return self._and(node[1], node[2], scored)
        if kind == "unscored":
            mask = self.filter_mask(node[1])
            return mask, (np.zeros(self.n) if scored else None)
        if kind == "const":
            mask, _ = self.eval(node[1], False)
            return mask, (mask * node[2] if scored else None)
        if kind == "phrase":
            _, fieldname, words, slop, boost = node
            exact = slop == 1
            return self._positional(fieldname, words, range(len(words)), 0 if exact else slop, boost, scored)
        if kind == "grams":
            _, gramfield, textfield, offsets, grams, boost = node
            return self._positional(gramfield, grams, offsets, 0, boost, scored, length_field=textfield)
        if kind == "prefix":
            return self.prefix(node[1], node[2], node[3], node[4], scored)
        if kind == "field":
            return self.field(node[1], node[2], scored)
        if kind == "multi":
            return self.multi(node[1], scored)
        if kind == "null":
            return self.empty(scored)
        if kind == "every":
            mask = np.ones(self.n, bool)
            return mask, (np.full(self.n, float(node[1])) if scored else None)
        if kind == "not":
            child, _ = self.eval(node[1], False)
            mask = ~child
            return mask, (mask.astype(np.float64) if scored else None)  # whoosh's InverseMatcher: 1.0
        if kind == "dismax":
            return self._dismax(node[1], node[2], scored)
        if kind in ("andnot", "require"):
            amask, ascore = self.eval(node[1], scored)
            if not amask.any():
                return amask, ascore
            bmask, _ = self.eval(node[2], False)
            mask = amask & ~bmask if kind == "andnot" else amask & bmask
            if ascore is not None:
                ascore = np.where(mask, ascore, 0.0)
            return mask, ascore
        if kind == "andmaybe":
            amask, ascore = self.eval(node[1], scored)
            if not scored or not amask.any():
                return amask, ascore
            _, bscore = self.eval(node[2], True)
            assert ascore is not None and bscore is not None
            return amask, np.where(amask, ascore + bscore, 0.0)
        raise Unsupported(kind)

    def _or(self, subs: list, boost: float, scored: bool) -> _Eval:
        if not subs:
            return self.empty(scored)
        if len(subs) == 1:  # whoosh: the child's matcher as it is, boost ignored
            return self.eval(subs[0], scored)
        mask = np.zeros(self.n, bool)
        score = np.zeros(self.n) if scored else None
        for sub in subs:
            if sub[0] == "term":  # add straight into the union (no mask/score arrays per term)
                got = self.arrays(sub[1], sub[2])
                if got is None:
                    continue
                docs, freqs, _ = got
                mask[docs] = True
                if score is not None:
                    s = self.term_scores(sub[1], sub[2], docs, freqs)
                    score[docs] += s * sub[3] if sub[3] != 1.0 else s
                continue
            m, s2 = self.eval(sub, scored)
            mask |= m
            if score is not None and s2 is not None:
                score += s2
        if score is not None and boost != 1.0:
            score *= boost
        return mask, score

    def _and(self, subs: list, boost: float, scored: bool) -> _Eval:
        if not subs:
            return self.empty(scored)
        if len(subs) == 1:
            return self.eval(subs[0], scored)
        mask: np.ndarray | None = None
        score = np.zeros(self.n) if scored else None
        for sub in sorted(subs, key=_cost):  # cheap, selective children first; stop when nothing is left
            m, s = self.eval(sub, scored)
            mask = m if mask is None else mask & m
            if score is not None and s is not None:
                score += s
            if not mask.any():
                return mask, (np.zeros(self.n) if scored else None)
        assert mask is not None
        if score is not None:
            score = np.where(mask, score * boost if boost != 1.0 else score, 0.0)
        return mask, score

    def _dismax(self, subs: list, boost: float, scored: bool) -> _Eval:
        if not subs:
            return self.empty(scored)
        if len(subs) == 1:
            return self.eval(subs[0], scored)
        mask = np.zeros(self.n, bool)
        best = np.full(self.n, -np.inf)
        for sub in subs:
            m, s = self.eval(sub, scored)
            mask |= m
            if scored and s is not None:
                best = np.where(m, np.maximum(best, s), best)
        if not scored:
            return mask, None
        score = np.where(mask, best, 0.0)
        return mask, (score * boost if boost != 1.0 else score)


def _cost(node: tuple) -> int:
    """Evaluation order inside an And: terms before filters before trees (results do not depend on it)."""
    return {"term": 0, "phrase": 1, "grams": 1, "unscored": 2, "const": 2}.get(node[0], 3)


def _tree_sum(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Add as whoosh's ``make_binary_tree`` nests its matchers (halves, recursively)."""
    if len(parts) == 1:
        return parts[0]
    half = len(parts) // 2
    return _tree_sum(parts[:half]) + _tree_sum(parts[half:])


def _top(primary: np.ndarray, secondary: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest ``(primary, secondary)`` pairs, in that order."""
    n = len(primary)
    if k <= 0 or n == 0:
        return np.empty(0, np.int64)
    if k < n:
        kth = np.partition(primary, k - 1)[k - 1]
        less = np.flatnonzero(primary < kth)
        tied = np.flatnonzero(primary == kth)
        need = k - len(less)
        if len(tied) > need:
            tied = tied[np.argsort(secondary[tied], kind="stable")[:need]]
        cand = np.concatenate([less, tied])
    else:
        cand = np.arange(n)
    return cand[np.lexsort((secondary[cand], primary[cand]))]


def search(searcher, query, *, sortedby: str | None = None, reverse: bool = False, page: int = 1,
           pagelen: int = 20, facets: dict[str, str] | None = None) -> Result:
    """Run ``query`` (a whoosh query tree) over the searcher's segments.

    Order: relevance (score descending, then docnum) unless ``sortedby`` names a
    numeric/date field (documents without a value last ascending, first with
    ``reverse``; ties by docnum, reversed with ``reverse``).  ``facets``:
    ``{name: indexed field}``, counted over every match.  Raises :class:`Unsupported`
    for a query node it does not know or an index not written by ``postings.open_writer``.
    """
    reader = searcher.reader()
    schema = searcher.schema
    scored = sortedby is None
    if not scored and (sortedby not in schema or not _is_numeric(schema[sortedby])):
        raise Unsupported(f"sorting by {sortedby}")
    plan = _compile(query, reader, schema)
    scoring = _Scoring(searcher) if scored else None

    docnums: list[np.ndarray] = []
    values: list[np.ndarray] = []
    counts: dict[str, dict[Any, int]] = {name: {} for name in facets or {}}
    for segreader, offset in reader.leaf_readers():
        if segreader.doc_count_all() == 0:
            continue
        seg = _Segment(segreader, scoring)
        mask, score = seg.eval(plan, scored)
        live = _live(segreader, seg.data, seg.n)
        if live is not None:
            mask = mask & live
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        docnums.append(idx + offset)
        if score is not None:
            values.append(score[idx])
        else:
            assert sortedby is not None
            values.append(_sort_keys(seg.terms, schema, seg.data, sortedby, seg.n)[idx])
        for name, fieldname in (facets or {}).items():
            _facet(seg.terms, schema, seg.data, fieldname, seg.n).count(mask, idx, counts[name])

    total = int(sum(len(d) for d in docnums))
    pagelen = max(1, int(pagelen))
    pages = -(-total // pagelen)
    page = max(1, min(int(page), pages or 1))
    result = Result(total=total, docnums=[], scores=[], facets=counts if facets else {}, page=page)
    if not total:
        return result
    alldocs = np.concatenate(docnums)
    allvals = np.concatenate(values)
    k = page * pagelen
    if scored:
        order = _top(-allvals, alldocs, k)
    elif reverse:  # (key, docnum) pairs in reverse
        order = _top(~allvals, -alldocs, k)
    else:
        order = _top(allvals, alldocs, k)
    chosen = order[(page - 1) * pagelen:k]
    result.docnums = alldocs[chosen].tolist()
    result.scores = allvals[chosen].tolist() if scored else [0.0] * len(chosen)
    return result
