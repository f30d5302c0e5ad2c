"""Set-at-a-time query evaluation: a parsed whoosh query run with numpy over posting arrays.

whoosh's matchers walk postings one at a time in Python (~10 µs per hit), and a
common word hits 5–30 % of the index.  :func:`search` evaluates the same query
tree per segment with whole-array operations instead: every node yields a
boolean mask over the segment's documents and (for relevance order) a float
score per document; ``And`` is ``&``, ``Or`` is ``|``, ``Not`` is ``~``, and the
result is always restricted to live (not deleted) documents.  Totals, the page,
its scores and the facet counts equal whoosh's for the same query (the tests
compare them); only stored fields of the page shown are read afterwards.

What whoosh 2.7.4 does, and so this module does too:

* BM25F (``B``, ``K1``, per-field ``B``) with the searcher-wide idf and average field
  length, the per-document field length from the length byte, the posting weight
  ``freq × field_boost`` and the query boosts; ``And``/``Or``/``AndMaybe`` add their
  children's scores, ``DisjunctionMax`` takes the highest, ``AndNot`` and ``Require``
  keep the first child's; a compound's boost multiplies (not for a single child);
* a ``Not`` adds 1.0 to a document it lets through (whoosh's ``InverseMatcher``),
  ``Every()`` and ``ConstantScoreQuery`` (hence a date range) add their constant,
  ``Unscored`` (the permission and facet filters of :mod:`.search`) adds nothing;
* a phrase (``slop=1``) matches where its words stand at consecutive positions; it
  scores, as whoosh's ``SpanNear2`` does, the sum of its words' own BM25 scores in
  the document (their whole term frequency, not the phrase frequency), times its boost;
* a multi-term query (``TermRange``, ``Prefix``, ``Wildcard``, ``Regex``, ``FuzzyTerm``,
  ``Variations``) expands to its terms in each segment with whoosh's own ``_btexts``;
  one term scores as that term without the boost, several as an ``Or`` with the boost
  — or 1.0 each when whoosh would pick its preloaded matcher for a constant-score
  query (a segment of at most 5000 documents, not exactly two terms); a
  ``NumericRange``/``DateRange`` is compiled by whoosh itself (``_compile_query``).

Where whoosh 2.7.4 is wrong, this module is not (the tests show each case):
``Require`` means "a, restricted to documents matching b, scored by a" as documented,
while whoosh builds an ``AndNotMatcher`` for it and returns a *without* b;
whoosh's ``DisjunctionMaxMatcher`` may take a child's score of *another* document;
an ``AndMaybe`` inside an ``And`` loses most of its score in whoosh after skipping;
a top-level ``AndNot`` of whoosh returned a document holding the excluded word
(several segments, deletions); whoosh's preloaded ``Or`` drops a document whose
summed score is 0 (a ``^0`` boost).  Year facets drop documents without a year
(whoosh reports them under the column's default, 4294967295).  Sums are added in
one fixed order, so scores may differ from whoosh's in the last bits (whoosh's
order depends on each segment's term statistics); documents whose scores whoosh
considers different only in those bits may therefore come in docnum order here.

Any other query node (span queries, fielded ``Every``, ``Otherwise``, ``Or`` with a
coordination ``scale``, a phrase with a slop, another weighting model…) makes
:func:`search` return None: the caller then runs whoosh itself.

Per-segment data that does not depend on the query (field length bytes, facet
code arrays, sort keys, W3 posting arrays of metadata terms) is cached by segment
id, not on the reader object: whoosh 2.7.4's ``refresh()`` never reuses segment
readers (its reuse table is keyed by generation, looked up by segment id), so a
cache on the reader would be rebuilt after every change to the index, while a
segment's files never change once written (deletions live in the table of
contents and are read per reader).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from whoosh import columns as wcolumns
from whoosh import query as Q
from whoosh import scoring
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query.compound import DefaultOr, PreloadedOr
from whoosh.query.qcore import _NullQuery
from whoosh.util.numeric import byte_to_length

__all__ = ["Result", "search", "term_arrays"]

_U32 = np.uint32
#: whoosh's 1-byte field length code -> length
_LENGTH_OF_BYTE = np.array([byte_to_length(b) or 0 for b in range(256)], dtype=np.float64)
#: ArrayUnionMatcher threshold in whoosh's ``Or._matcher`` (documents per segment)
_PRELOAD_MAX_DOCS = 5000
#: odd 64-bit constant for hashing column values (multiplication wraps modulo 2**64)
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MULTI_TERM = (Q.TermRange, Q.Prefix, Q.Wildcard, Q.Regex, Q.FuzzyTerm, Q.Variations)


@dataclass
class Result:
    """What :func:`search` found: the page asked for (global docnums), totals and facets."""

    total: int
    docnums: list[int]
    #: relevance scores of ``docnums`` (0.0 each when sorted by a column: nothing is scored then)
    scores: list[float]
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)
    #: the page returned (as whoosh, a page past the end gives the last one)
    page: int = 1


class _Unsupported(Exception):
    """A query node this module does not evaluate: whoosh must run the query."""


# -- posting arrays ---------------------------------------------------------

def term_arrays(segreader, fieldname: str, btext: bytes, *, positions: bool = True):
    """``(docs, freqs, positions or None)`` of a term in one segment, or None when absent.

    ``docs`` are ascending segment-local docnums (deleted documents may be present),
    ``freqs`` the term frequencies, ``positions`` every posting's positions in
    posting order (None for fields without positions, and with ``positions=False``
    where that saves decoding).  Array segments hand out views of their file; W3
    segments are decoded from whoosh's posting blocks.
    """
    arrays = getattr(getattr(segreader, "_terms", None), "arrays", None)
    if arrays is not None:
        return arrays(fieldname, btext)
    if (fieldname, btext) not in segreader:
        return None
    fmt = segreader.schema[fieldname].format
    boost = fmt.field_boost or 1.0
    want = positions and fmt.supports("positions")
    m = segreader.postings(fieldname, btext)
    if isinstance(m, FilterMatcher):  # whoosh's filter of deleted documents: ours is a mask
        m = m.child
        m.reset()  # the filter moved it past deleted documents at the start
    ids: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    poses: list[list[int]] = []
    if all(hasattr(m, a) for a in ("_read_ids", "_read_weights", "_read_values", "_next_block", "_blocklength")):
        # W3: whole blocks at a time (ids and weights are arrays per block)
        while m.is_active():
            m._read_ids()
            m._read_weights()
            ids.append(np.asarray(m._ids, dtype=np.int64))
            weights.append(np.asarray(m._weights, dtype=np.float64))
            if want:
                m._read_values()
                decode = fmt.decode_positions
                poses.extend(decode(v) for v in m._values)
            m._i = m._blocklength - 1
            m.next()
    else:
        one_ids, one_w = [], []
        while m.is_active():
            one_ids.append(m.id())
            one_w.append(m.weight())
            if want:
                poses.append(list(m.value_as("positions")))
            m.next()
        ids.append(np.asarray(one_ids, dtype=np.int64))
        weights.append(np.asarray(one_w, dtype=np.float64))
    docs = np.concatenate(ids).astype(_U32) if ids else np.empty(0, _U32)
    w = np.concatenate(weights) if weights else np.empty(0)
    if want:
        freqs = np.fromiter((len(p) for p in poses), dtype=_U32, count=len(poses))
        flat = np.fromiter((x for p in poses for x in p), dtype=_U32, count=int(freqs.sum()))
        return docs, freqs, flat
    freqs = np.maximum(np.rint(w / boost), 1).astype(_U32)
    return docs, freqs, None


# -- per-segment data that does not depend on the query ---------------------

class _SegmentData:
    """Query-independent arrays of one segment (see module doc: cached by segment id)."""

    #: W3 posting arrays of metadata terms kept per segment (permission principals, boards, states…)
    MAX_TERMS = 2048

    def __init__(self) -> None:
        self.lengths: dict[str, np.ndarray | None] = {}
        self.facets: dict[tuple[str, bool], _Facet] = {}
        self.sortkeys: dict[str, np.ndarray] = {}
        self.terms: dict[tuple[str, bytes], Any] = {}
        self.live: tuple[int, np.ndarray] | None = None


_CACHE: OrderedDict[Any, _SegmentData] = OrderedDict()
_CACHE_LOCK = threading.Lock()
#: segments whose data is kept (an index has a few dozen at most; old generations age out)
_CACHE_SEGMENTS = 96


def _segment_data(segreader) -> _SegmentData:
    segid = getattr(segreader, "_segid", None)
    if segid is None:  # not a whoosh SegmentReader: keep it on the reader itself
        data = segreader.__dict__.get("_duban_matching")
        if data is None:
            data = segreader.__dict__["_duban_matching"] = _SegmentData()
        return data
    key = (segid, segreader.doc_count_all())
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
    deleted = segreader._perdoc.deleted_docs() if hasattr(segreader, "_perdoc") else None
    if deleted is None:
        deleted = [d for d in range(n) if segreader.is_deleted(d)]
    live = np.ones(n, dtype=bool)
    live[np.fromiter(deleted, dtype=np.int64)] = False
    data.live = (count, live)
    return live


def _length_bytes(segreader, data: _SegmentData, fieldname: str, n: int) -> np.ndarray | None:
    """The segment's 1-byte field length codes (None: no lengths, whoosh then uses 1)."""
    if fieldname in data.lengths:
        return data.lengths[fieldname]
    perdoc = getattr(segreader, "_perdoc", None)
    table: np.ndarray | None
    if perdoc is not None and hasattr(perdoc, "_lengths"):
        raw = perdoc._lengths(fieldname)
        if raw is None:
            table = None
        else:
            table = np.zeros(n, dtype=np.uint8)
            got = np.frombuffer(raw, dtype=np.uint8)[:n]
            table[:len(got)] = got
    else:  # another per-document reader: ask it document by document, once
        from whoosh.util.numeric import length_to_byte

        table = np.fromiter((length_to_byte(segreader.doc_field_length(d, fieldname, 1) or 0) for d in range(n)),
                            dtype=np.uint8, count=n)
    data.lengths[fieldname] = table
    return table


def _numeric_column(creader, n: int, default: int, typecode: str) -> np.ndarray:
    """A fixed-width numeric column as uint64 (big-endian on disk, default past its end)."""
    out = np.full(n, default, dtype=np.uint64)
    try:
        count = min(creader._count, n)
        raw = creader._dbfile.get(creader._basepos, count * creader._fixedlen)
        out[:count] = np.frombuffer(raw, dtype=np.dtype(">" + typecode), count=count)
    except AttributeError:  # not W3's fixed-bytes column reader
        out[:] = np.fromiter((int(v) for v in creader), dtype=np.uint64, count=n)
    return out


def _sort_keys(segreader, data: _SegmentData, fieldname: str, n: int) -> np.ndarray:
    """whoosh's sort key of each document for a numeric column (its raw sortable value)."""
    keys = data.sortkeys.get(fieldname)
    if keys is None:
        column = segreader.schema[fieldname].column_type
        default = int(column.default_value(False))
        if segreader.has_column(fieldname):
            creader = segreader.column_reader(fieldname, translate=False)
            keys = _numeric_column(creader, n, default, column._typecode)
        else:  # whoosh reads the default for every document of such a segment
            keys = np.full(n, default, dtype=np.uint64)
        data.sortkeys[fieldname] = keys
    return keys


@dataclass
class _Facet:
    """A segment's facet column: each document's distinct raw value, and those values' keys.

    Counting is then a ``bincount`` of the matched documents' values and a second one
    spreading each value's count over its keys (several for comma-joined values).
    """

    values: np.ndarray  # per document: index of its raw value among the segment's distinct ones
    value_of_pair: np.ndarray  # (value, key) pairs: which value …
    key_of_pair: np.ndarray  # … has which key
    keys: list[Any]

    def count(self, mask: np.ndarray, into: dict[Any, int]) -> None:
        if not self.keys:
            return
        per_value = np.bincount(self.values[mask], minlength=int(self.values.max(initial=0)) + 1)
        per_key = np.bincount(self.key_of_pair, weights=per_value[self.value_of_pair], minlength=len(self.keys))
        for i in np.flatnonzero(per_key).tolist():
            key = self.keys[i]
            into[key] = into.get(key, 0) + int(per_key[i])


def _distinct_var_bytes(creader, n: int) -> tuple[np.ndarray, list[bytes]] | None:
    """``(value index per document, distinct values)`` of W3's variable-bytes column, in bulk."""
    try:
        lengths = np.asarray(creader._lengths, dtype=np.int64)[:n]
        offsets = np.asarray(creader._offsets, dtype=np.int64)[:n]
        if len(lengths) != n:
            return None
        width = int(lengths.max(initial=0))
        if width > 255:  # long values: not worth a matrix
            return None
        end = int((offsets + lengths).max(initial=0))
        blob = np.frombuffer(creader._dbfile.get(creader._basepos, end), dtype=np.uint8) if end else None
    except AttributeError:  # not W3's reader
        return None
    # one row per document: its bytes, zero-padded, then its length (so padding cannot collide)
    rows = np.zeros((n, width + 1), dtype=np.uint8)
    rows[:, width] = lengths
    if width and blob is not None:
        col = np.arange(width)
        inside = col[None, :] < lengths[:, None]
        rows[:, :width][inside] = blob[(offsets[:, None] + col[None, :])[inside]]
    # group equal rows through a 64-bit hash of each (np.unique over rows sorts them slowly),
    # then check the grouping exactly
    h = np.zeros(n, np.uint64)
    for j in range(width + 1):
        h = h * _HASH_MULTIPLIER + rows[:, j]
    _, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    distinct = rows[first]
    if not np.array_equal(distinct[inverse], rows):  # a collision: the slow, exact way
        distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
    values = [bytes(r[:r[width]]) for r in distinct]
    return inverse.astype(np.int64), values


def _facet(segreader, data: _SegmentData, fieldname: str, split: bool, n: int) -> _Facet:
    """The segment's :class:`_Facet` for a column, keyed as :mod:`.search` reports them.

    Keys: the column reader's translated value (``translate=True``, as ``search._column``),
    bytes decoded as UTF-8; ``split``: the comma-separated parts; no ""/None; a numeric
    column's default (no value) is no key.  A segment without the column has no keys.
    """
    got = data.facets.get((fieldname, split))
    if got is not None:
        return got
    fieldobj = segreader.schema[fieldname]
    column = fieldobj.column_type
    distinct: list[Any]
    missing: Any = object()
    if not segreader.has_column(fieldname):
        values, distinct = np.zeros(n, np.int64), []
    elif isinstance(column, wcolumns.NumericColumn):
        missing = int(column.default_value(False))
        raw = _numeric_column(segreader.column_reader(fieldname, translate=False), n, missing, column._typecode)
        uniq, inverse = np.unique(raw, return_inverse=True)
        values, distinct = inverse.reshape(-1).astype(np.int64), uniq.tolist()
    else:
        bulk = _distinct_var_bytes(segreader.column_reader(fieldname, translate=False), n)
        if bulk is not None:
            values, distinct = bulk
        else:  # any other column: once per document, in Python
            index: dict[Any, int] = {}
            codes = [index.setdefault(v, len(index)) for v in segreader.column_reader(fieldname, translate=False)]
            values, distinct = np.asarray(codes[:n] + [0] * (n - len(codes)), np.int64), list(index)
    keys: list[Any] = []
    key_index: dict[Any, int] = {}
    pair_values: list[int] = []
    pair_keys: list[int] = []
    for i, raw in enumerate(distinct):
        if raw == missing:
            continue
        value = fieldobj.from_column_value(raw)
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        if split:
            parts = value.split(",") if value else []
        else:
            parts = [value]
        for key in parts:
            if key in ("", None):
                continue
            k = key_index.get(key)
            if k is None:
                k = key_index[key] = len(keys)
                keys.append(key)
            pair_values.append(i)
            pair_keys.append(k)
    got = _Facet(values, np.asarray(pair_values, np.int64), np.asarray(pair_keys, np.int64), keys)
    data.facets[(fieldname, split)] = got
    return got


# -- the query plan -----------------------------------------------------------

def _search_classes() -> tuple[type, type]:
    """search.Unscored and search.LazyOr (imported late: search.py imports this module)."""
    from .search import LazyOr, Unscored

    return Unscored, LazyOr


def _compile(q, reader, schema) -> tuple:
    """The query as nested tuples (what each segment evaluates); raises _Unsupported."""
    unscored_cls, lazy_or = _search_classes()
    t = type(q)
    if isinstance(q, _NullQuery):
        return ("null",)
    if t is unscored_cls:
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
    if t is Q.Phrase:
        if q.slop != 1 or not q.words:
            raise _Unsupported("phrase with a slop")
        if q.fieldname not in schema:
            return ("null",)
        fobj = schema[q.fieldname]
        if not fobj.format or not fobj.format.supports("positions"):
            raise _Unsupported("phrase on a field without positions")  # whoosh raises its QueryError
        try:
            words = [fobj.to_bytes(w) for w in q.words]
        except ValueError:
            return ("null",)
        return ("phrase", q.fieldname, words, q.boost)
    if t in (Q.NumericRange, Q.DateRange):
        try:
            compiled = q._compile_query(reader)
        except Exception as exc:  # whoosh raises plain exceptions (not a numeric field…)
            raise _Unsupported(str(exc)) from exc
        return _compile(compiled, reader, schema)
    if t in _MULTI_TERM:
        if (t is Q.Prefix and not q.text) or (t is Q.Wildcard and q.text == "*") or (t is Q.Regex and q.text == ".*"):
            raise _Unsupported("fielded Every")  # whoosh matches every document with the field
        if q.field() not in schema:
            raise _Unsupported("multi-term query on an unknown field")
        return ("multi", q)
    if t is Q.Every:
        if q.fieldname is not None:
            raise _Unsupported("fielded Every")
        return ("every", q.boost or 1.0)
    if t is Q.And:
        return ("and", [_compile(s, reader, schema) for s in q.subqueries], q.boost)
    if t in (Q.Or, DefaultOr, PreloadedOr, lazy_or):
        if getattr(q, "scale", None):
            raise _Unsupported("Or with a coordination scale")
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
    raise _Unsupported(t.__name__)


@dataclass
class _Scoring:
    """BM25F parameters and the searcher-wide statistics whoosh's scorer reads."""

    searcher: Any
    B: float
    K1: float
    field_B: dict[str, float]
    avgfl: dict[str, float] = field(default_factory=dict)

    def avg_length(self, fieldname: str) -> float:
        v = self.avgfl.get(fieldname)
        if v is None:
            v = self.avgfl[fieldname] = self.searcher.avg_field_length(fieldname) or 1
        return v


def _bm25(weighting) -> tuple[float, float, dict[str, float]] | None:
    if type(weighting) is not scoring.BM25F or weighting.use_final:
        return None
    return weighting.B, weighting.K1, dict(weighting._field_B)


_Eval = tuple[np.ndarray, np.ndarray | None]


class _Segment:
    """Evaluates a compiled query over one segment."""

    def __init__(self, segreader, scoring_: _Scoring | None) -> None:
        self.reader = segreader
        self.n = segreader.doc_count_all()
        self.data = _segment_data(segreader)
        self.scoring = scoring_
        self.schema = segreader.schema

    # -- leaves -----------------------------------------------------------
    def arrays(self, fieldname: str, btext: bytes, positions: bool = False):
        if getattr(getattr(self.reader, "_terms", None), "arrays", None) is not None:
            return term_arrays(self.reader, fieldname, btext)
        fmt = self.schema[fieldname].format
        if fmt.supports("positions"):  # text: too many distinct words to be worth keeping
            return term_arrays(self.reader, fieldname, btext, positions=positions)
        key = (fieldname, btext)
        terms = self.data.terms
        got = terms.get(key, terms)
        if got is terms:
            got = term_arrays(self.reader, fieldname, btext, positions=False)
            if len(terms) >= _SegmentData.MAX_TERMS:
                terms.clear()
            terms[key] = got
        return got

    def term_scores(self, fieldname: str, btext: bytes, docs: np.ndarray, freqs: np.ndarray) -> np.ndarray:
        """whoosh's BM25F score (or weight, for unscorable fields) of each posting, unboosted."""
        fobj = self.schema[fieldname]
        tf = freqs.astype(np.float64) * (fobj.format.field_boost if fobj.format else 1.0)
        if not fobj.scorable:
            return tf
        sc = self.scoring
        idf = sc.searcher.idf(fieldname, btext)
        avgfl = sc.avg_length(fieldname)
        B = sc.field_B.get(fieldname, sc.B)
        K1 = sc.K1
        table = _length_bytes(self.reader, self.data, fieldname, self.n)
        fl = _LENGTH_OF_BYTE[table[docs]] if table is not None else np.ones(len(docs))
        # the same operations in the same order as whoosh.scoring.bm25, so the same floats
        return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * fl / avgfl)))

    def empty(self, scored: bool) -> _Eval:
        return np.zeros(self.n, bool), (np.zeros(self.n) if scored else None)

    def term(self, fieldname: str, btext: bytes, boost: float, scored: bool) -> _Eval:
        got = self.arrays(fieldname, btext)
        if got is None:
            return self.empty(scored)
        docs, freqs, _ = got
        mask = np.zeros(self.n, bool)
        mask[docs] = True
        if not scored:
            return mask, None
        score = np.zeros(self.n)
        s = self.term_scores(fieldname, btext, docs, freqs)
        score[docs] = s * boost if boost != 1.0 else s
        return mask, score

    def phrase(self, fieldname: str, words: list[bytes], boost: float, scored: bool) -> _Eval:
        got = [self.arrays(fieldname, w, positions=True) for w in words]
        if any(g is None for g in got):
            return self.empty(scored)
        # key = doc << 32 | (position - i): word i continues the phrase where the keys agree
        keys = []
        for i, (docs, freqs, positions) in enumerate(got):
            owner = np.repeat(docs.astype(np.uint64), freqs.astype(np.int64))
            start = positions.astype(np.int64) - i
            ok = start >= 0
            keys.append((owner[ok] << np.uint64(32)) | start[ok].astype(np.uint64))
        keys.sort(key=len)
        cur = keys[0]
        for other in keys[1:]:
            if not len(cur):
                break
            j = np.searchsorted(other, cur)
            j[j == len(other)] = 0
            cur = cur[other[j] == cur] if len(other) else cur[:0]
        matched = np.unique((cur >> np.uint64(32)).astype(np.int64))
        mask = np.zeros(self.n, bool)
        mask[matched] = True
        if not scored:
            return mask, None
        parts = []
        for w, (docs, freqs, _) in zip(words, got, strict=True):
            at = np.searchsorted(docs, matched)
            parts.append(self.term_scores(fieldname, w, matched, freqs[at]))
        total = _tree_sum(parts)  # whoosh's SpanNear2: a binary tree of its words' matchers
        score = np.zeros(self.n)
        score[matched] = total * boost if boost != 1.0 else total
        return mask, score

    def multi(self, q, scored: bool) -> _Eval:
        fieldname = q.field()
        words = [w for w in q._btexts(self.reader) if w]
        if not words:
            return self.empty(scored)
        if len(words) == 1:  # whoosh: the one Term, without the query's boost
            return self.term(fieldname, words[0], 1.0, scored)
        mask = np.zeros(self.n, bool)
        score = np.zeros(self.n) if scored else None
        # whoosh ORs the terms; its automatic choice (Or._matcher) preloads them into an array
        # for many terms or a small segment, and a preloaded Or without weighting scores 1
        preloaded = len(words) >= Q.Or.TOO_MANY_CLAUSES or (len(words) != 2 and self.n <= _PRELOAD_MAX_DOCS)
        constant = q.constantscore and preloaded
        for w in words:
            got = self.arrays(fieldname, w)
            if got is None:
                continue
            docs, freqs, _ = got
            mask[docs] = True
            if scored and not constant:
                score[docs] += self.term_scores(fieldname, w, docs, freqs)
        if scored:
            if constant:  # whoosh's preloaded Or without weighting: 1 per document
                score[mask] = 1.0
            elif q.boost != 1.0:
                score *= q.boost
        return mask, score

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
            mask, _ = self.eval(node[1], False)
            return mask, (np.zeros(self.n) if scored else None)
        if kind == "const":
            mask, _ = self.eval(node[1], False)
            return mask, (mask * node[2] if scored else None)
        if kind == "phrase":
            return self.phrase(node[1], node[2], node[3], scored)
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
            return mask, (mask.astype(np.float64) if scored else None)  # InverseMatcher's weight 1.0
        if kind == "dismax":
            return self._dismax(node[1], node[2], scored)
        if kind in ("andnot", "require"):
            amask, ascore = self.eval(node[1], scored)
            if not amask.any():
                return amask, ascore
            bmask, _ = self.eval(node[2], False)
            mask = amask & ~bmask if kind == "andnot" else amask & bmask
            if scored:
                ascore = np.where(mask, ascore, 0.0)
            return mask, ascore
        if kind == "andmaybe":
            amask, ascore = self.eval(node[1], scored)
            if not scored or not amask.any():
                return amask, ascore
            _, bscore = self.eval(node[2], True)
            return amask, np.where(amask, ascore + bscore, 0.0)
        raise _Unsupported(kind)

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
                if scored:
                    s = self.term_scores(sub[1], sub[2], docs, freqs)
                    score[docs] += s * sub[3] if sub[3] != 1.0 else s
                continue
            m, s = self.eval(sub, scored)
            mask |= m
            if scored:
                score += s
        if scored and boost != 1.0:
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
            if scored:
                score += s
            if not mask.any():
                return mask, (np.zeros(self.n) if scored else None)
        if scored:
            score = np.where(mask, score * boost if boost != 1.0 else score, 0.0)
        return mask, score

    def _dismax(self, subs: list, boost: float, scored: bool) -> _Eval:
        if not subs:
            return self.empty(scored)
        if len(subs) == 1:
            return self.eval(subs[0], scored)
        mask = np.zeros(self.n, bool)
        best = np.full(self.n, -np.inf) if scored else None
        for sub in subs:
            m, s = self.eval(sub, scored)
            mask |= m
            if scored:
                best = np.where(m, np.maximum(best, s), best)
        if not scored:
            return mask, None
        score = np.where(mask, best, 0.0)
        return mask, (score * boost if boost != 1.0 else score)


def _cost(node: tuple) -> int:
    """Evaluation order inside an And: terms before filters before trees (results do not depend on it)."""
    return {"term": 0, "phrase": 1, "unscored": 2, "const": 2}.get(node[0], 3)


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


def _sortable(schema, fieldname: str) -> bool:
    return fieldname in schema and isinstance(schema[fieldname].column_type, wcolumns.NumericColumn)


def search(searcher, query, *, sortedby: str | None = None, reverse: bool = False, page: int = 1,
           pagelen: int = 20, facets: dict[str, tuple[str, bool]] | None = None) -> Result | None:
    """Run ``query`` (a whoosh query tree) set-at-a-time; None when whoosh must run it instead.

    Order: relevance (score descending, then docnum) unless ``sortedby`` names a
    numeric/date column, sorted as whoosh does (documents without a value hold the
    column default, i.e. last ascending, first with ``reverse``; ties by docnum,
    reversed with ``reverse``).  ``facets``: ``{name: (column, split)}``, counted
    over every match; ``split`` for comma-joined values.
    """
    reader = searcher.reader()
    schema = searcher.schema
    scored = sortedby is None
    params = None
    if scored:
        params = _bm25(searcher.weighting)
        if params is None:
            return None
    elif not _sortable(schema, sortedby):
        return None
    for colname, _split in (facets or {}).values():
        if colname not in schema or schema[colname].column_type is None:
            return None
    try:
        plan = _compile(query, reader, schema)
    except _Unsupported:
        return None
    scoring_ = _Scoring(searcher, *params) if params else None

    docnums: list[np.ndarray] = []
    values: list[np.ndarray] = []
    counts: dict[str, dict[Any, int]] = {name: {} for name in facets or {}}
    for segreader, offset in reader.leaf_readers():
        seg = _Segment(segreader, scoring_)
        if seg.n == 0:
            continue
        try:
            mask, score = seg.eval(plan, scored)
        except _Unsupported:
            return None
        live = _live(segreader, seg.data, seg.n)
        if live is not None:
            mask &= live
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        docnums.append(idx + offset)
        if scored:
            values.append(score[idx])
        else:
            values.append(_sort_keys(segreader, seg.data, sortedby, seg.n)[idx])
        for name, (colname, split) in (facets or {}).items():
            _facet(segreader, seg.data, colname, split, seg.n).count(mask, counts[name])

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
    elif reverse:  # whoosh sorts (key, docnum) pairs in reverse
        order = _top(~allvals, -alldocs, k)
    else:
        order = _top(allvals, alldocs, k)
    chosen = order[(page - 1) * pagelen:k]
    result.docnums = alldocs[chosen].tolist()
    result.scores = allvals[chosen].tolist() if scored else [0.0] * len(chosen)
    return result


#: what search.run() passes as ``facets``
FACETS: dict[str, tuple[str, bool]] = {
    "board": ("board", False), "state": ("state", False), "year": ("year", False),
    "retention": ("retention", False), "unit": ("units_col", True),
}
