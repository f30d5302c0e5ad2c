"""Array postings: a whoosh codec whose inverted index is flat numpy arrays.

whoosh writes and reads postings one at a time in Python — a tuple per
posting in the pool, a sort of those tuples, block encoding per posting on
write; a matcher step per posting on read.  At 100 000 items that capped a
rebuild at ~460 items/s and a query at ~160 ms.  This codec keeps whoosh for
everything else (schema, stored fields, lengths and columns in W3's
per-document files, segments and deletions, the table of contents, query
parsing) and replaces the inverted index of a segment with one file,
``<segment>.apo``:

* ``docs``      uint32, the docnums of every posting, term after term, ascending within a term;
* ``freqs``     uint32, the term frequency of each posting (whoosh's weight = freq × field boost);
* ``positions`` uint32, for positional fields the word positions of each posting, in posting order;
* a term table (offset, count, position offset, weight, max frequency per term, in (field, term) order);
* the terms themselves, sorted per field: one blob of their bytes and each term's end in it
  (looked up by binary search, so opening a segment parses nothing however large its lexicon);
* per scorable field, each document's length byte (whoosh's ``length_to_byte``), which
  relevance scoring reads instead of whoosh's per-document files.

Writing (:class:`ArrayWriter`) appends each document's postings to flat
arrays and sorts them by term once, in numpy, when the segment is flushed.
Reading (:class:`ArrayTermsReader`) maps the file (zero copy) and hands the
arrays of a term to :mod:`.matching`, which evaluates a whole query with set
operations; whoosh's own matchers still work on top (:meth:`matcher`): the
tests use them as the reference, and whoosh's merging reads through them.
Integer arrays are stored in the narrowest unsigned type their values need
(docnums of a segment of at most 65 536 documents in two bytes, most
frequencies in one), so a reader must never assume a width.

The class names end up in the index's table of contents, so they must stay
importable; the schema version (``schema.SCHEMA_VERSION``) makes the indexer
rebuild an index written by an older format.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
from whoosh.codec.base import FieldCursor, FieldWriter, TermsReader
from whoosh.filedb.filestore import FileStorage
from whoosh.matching import ListMatcher
from whoosh.reading import TermInfo, TermNotFound
from whoosh.util.numeric import length_to_byte
from whoosh.writing import SegmentWriter

from .codec import Codec, mapped_file, terms_reader
from .schema import FRAGMENT_FIELDS, pack_text

EXT = ".apo"
MAGIC = b"DUBANAPO"
VERSION = 3
_HEADER = struct.Struct("<8sII")  # magic, version, length of the pickled directory (at the end)
_U32 = np.dtype("<u4")
_I64 = np.dtype("<i8")
_F64 = np.dtype("<f8")
assert array("I").itemsize == 4
#: distinct values per field whose analysis a writer remembers
VALUE_CACHE = 4096
#: term lookups a segment's field remembers (principals, boards, common words)
TERMS_REMEMBERED = 50_000


def _is_positional(fieldobj) -> bool:
    return fieldobj.format is not None and fieldobj.format.supports("positions")


def _narrow(values: np.ndarray, at_least: int = 0) -> np.ndarray:
    """The narrowest unsigned type holding every value (and ``at_least``)."""
    top = max(int(values.max()) if len(values) else 0, at_least)
    dtype = np.uint8 if top < 256 else np.uint16 if top < 65536 else _U32 if top < 2**32 else np.uint64
    return values.astype(dtype)


class PostingBuffer:
    """The postings of a segment being written, one array entry per posting.

    Postings must arrive in ascending docnum order per term (documents are
    added in docnum order, merged segments after them); the flush sorts by term
    with a stable sort, which keeps that order within a term.  Terms of
    positional fields are kept as ``str`` (as the analyser yields them),
    others as ``bytes`` (as ``field.index`` yields them).
    """

    def __init__(self, schema) -> None:
        self.schema = schema
        self.tids: dict[str, dict] = {}
        self.terms: list[tuple[str, Any]] = []
        self.tid = array("I")
        self.doc = array("I")
        self.freq = array("I")
        self.pos = array("I")
        #: per scorable field, each document's length byte (index = docnum)
        self.lengths: dict[str, bytearray] = {}
        #: documents in the segment (set before :meth:`write`)
        self.ndocs = 0

    def set_length(self, fieldname: str, docnum: int, length: int) -> None:
        table = self.lengths.get(fieldname)
        if table is None:
            table = self.lengths[fieldname] = bytearray()
        if len(table) <= docnum:
            table.extend(bytes(docnum + 1 - len(table)))
        table[docnum] = length_to_byte(length)

    def add_length_bytes(self, fieldname: str, docs: np.ndarray, codes: np.ndarray) -> None:
        """Length bytes of merged documents (``docs`` already renumbered)."""
        if not len(docs):
            return
        table = self.lengths.get(fieldname)
        if table is None:
            table = self.lengths[fieldname] = bytearray()
        top = int(docs.max()) + 1
        if len(table) < top:
            table.extend(bytes(top - len(table)))
        view = np.frombuffer(table, np.uint8).copy()
        view[docs] = codes
        table[:] = bytearray(view.tobytes())

    def _keys(self, fieldname: str) -> dict:
        keys = self.tids.get(fieldname)
        if keys is None:
            keys = self.tids[fieldname] = {}
        return keys

    def _term_id(self, fieldname: str, tbytes: bytes, *, positional: bool) -> int:
        keys = self._keys(fieldname)
        key = tbytes.decode("utf-8") if positional else tbytes  # see class doc
        t = keys.get(key)
        if t is None:
            t = keys[key] = len(self.terms)
            self.terms.append((fieldname, key))
        return t

    def add_positions(self, fieldname: str, docnum: int, poses: dict[str, list[int]]) -> int:
        """One document's words of a positional field; returns the field length."""
        keys = self._keys(fieldname)
        terms, tid_append, freq_append, pos_extend = self.terms, self.tid.append, self.freq.append, self.pos.extend
        length = 0
        for word, poslist in poses.items():
            t = keys.get(word)
            if t is None:
                t = keys[word] = len(terms)
                terms.append((fieldname, word))
            n = len(poslist)
            tid_append(t)
            freq_append(n)
            pos_extend(poslist)
            length += n
        self.doc.extend(repeat(docnum, len(poses)))
        return length

    def add_term(self, fieldname: str, tbytes: bytes, docnum: int, freq: int,
                 positions: list[int] | None = None) -> None:
        """One posting; ``positions`` only (and always) for positional fields."""
        t = self._term_id(fieldname, tbytes, positional=positions is not None)
        self.tid.append(t)
        self.doc.append(docnum)
        self.freq.append(freq)
        if positions is not None:
            self.pos.extend(positions)

    def add(self, item) -> None:
        """whoosh's pool API: ``(fieldname, term bytes, docnum, weight, value bytes)``."""
        fieldname, tbytes, docnum, weight, vbytes = item
        fmt = self.schema[fieldname].format
        if fmt.supports("positions"):
            positions = fmt.decode_positions(vbytes)
            self.add_term(fieldname, tbytes, docnum, len(positions), positions)
        else:
            freq = fmt.decode_frequency(vbytes) if vbytes else max(1, round(weight / (fmt.field_boost or 1)))
            self.add_term(fieldname, tbytes, docnum, freq)

    def add_arrays(self, fieldname: str, tbytes: bytes, docs: np.ndarray, freqs: np.ndarray,
                   positions: np.ndarray | None) -> None:
        """A whole term of another array segment (merging), docs already renumbered."""
        t = self._term_id(fieldname, tbytes, positional=positions is not None)
        n = len(docs)
        self.tid.frombytes(np.full(n, t, _U32).tobytes())
        self.doc.frombytes(docs.astype(_U32).tobytes())
        self.freq.frombytes(freqs.astype(_U32).tobytes())
        if positions is not None:
            self.pos.frombytes(positions.astype(_U32).tobytes())

    def __len__(self) -> int:
        return len(self.tid)

    # -- whoosh's pool API, for the parts of SegmentWriter we keep -----------
    def cleanup(self) -> None:
        pass

    def write(self, f) -> None:
        """Sort by term and write the segment's ``.apo`` file to ``f``."""
        schema = self.schema
        nterms = len(self.terms)
        # (field, term bytes) order: the term table is then the lexicon
        keyed = sorted(((fn, t.encode("utf-8") if isinstance(t, str) else t, tid)
                        for tid, (fn, t) in enumerate(self.terms)), key=lambda x: (x[0], x[1]))
        rank = np.empty(nterms, np.int32)
        rank[[tid for _, _, tid in keyed]] = np.arange(nterms, dtype=np.int32)
        positional = np.zeros(nterms, bool)
        boosts = np.ones(nterms, _F64)
        fields: dict[str, tuple[int, int]] = {}  # field -> (first term, number of terms)
        blob = bytearray()
        ends = np.empty(nterms, _I64)
        for r, (fn, tb, _) in enumerate(keyed):
            if fn not in fields:
                fields[fn] = (r, 0)
                fobj = schema[fn]
            blob += tb
            ends[r] = len(blob)
            positional[r] = _is_positional(fobj)
            boosts[r] = fobj.format.field_boost
        order_fields = sorted(fields, key=lambda f: fields[f][0])
        for k, fn in enumerate(order_fields):
            first = fields[fn][0]
            last = fields[order_fields[k + 1]][0] if k + 1 < len(order_fields) else nterms
            fields[fn] = (first, last - first)
        del keyed
        # narrow types and early deletes: a worker's segment holds up to 10M postings
        tid = rank[np.frombuffer(self.tid, _U32)]
        order = np.argsort(tid, kind="stable")
        freq_raw = np.frombuffer(self.freq, _U32)
        # positions: posting k of the appended order owns plen[k] entries starting at pstart[k]
        plen = freq_raw * positional[tid]
        counts = np.bincount(tid, minlength=nterms).astype(_I64)
        del tid
        pstart = np.cumsum(plen, dtype=_I64) - plen
        pstart = pstart[order]
        plen_o = plen[order]
        del plen
        total = int(plen_o.sum(dtype=_I64))
        if total:
            pstart -= np.cumsum(plen_o, dtype=_I64) - plen_o  # minus where each posting's run lands
            gather = np.arange(total, dtype=_I64)
            gather += np.repeat(pstart, plen_o)
            positions = np.frombuffer(self.pos, _U32)[gather]
            del gather
        else:
            positions = np.empty(0, _U32)
        del pstart
        docs = np.frombuffer(self.doc, _U32)[order]
        freqs = freq_raw[order]
        del order
        offsets = np.cumsum(counts) - counts
        # every term has at least one posting, so reduceat's segments are the terms
        starts_at = offsets if nterms else np.empty(0, _I64)
        poscounts = np.add.reduceat(plen_o, starts_at, dtype=_I64) if len(plen_o) else np.zeros(nterms, _I64)
        posoffsets = np.cumsum(poscounts) - poscounts
        weights = (np.add.reduceat(freqs, starts_at, dtype=_F64) if len(freqs) else np.zeros(nterms)) * boosts
        maxfreq = np.maximum.reduceat(freqs, starts_at) if len(freqs) else np.zeros(nterms, _U32)
        directory: dict[str, Any] = {"fields": fields, "nterms": nterms, "ndocs": self.ndocs, "sections": {}}
        # every integer array in the narrowest type its values need (docnums of a segment of
        # ≤ 65 536 documents in two bytes, most frequencies in one …)
        sections = [("docs", _narrow(docs, at_least=max(self.ndocs - 1, 0))), ("freqs", _narrow(freqs)),
                    ("positions", _narrow(positions)), ("offsets", _narrow(offsets)), ("counts", _narrow(counts)),
                    ("posoffsets", _narrow(posoffsets)), ("poscounts", _narrow(poscounts)),
                    ("weights", weights.astype(np.float32)), ("maxfreq", _narrow(maxfreq)),
                    ("boosts", boosts.astype(np.float32)), ("positional", positional.astype(np.uint8)),
                    ("termends", _narrow(ends)), ("termblob", np.frombuffer(bytes(blob), np.uint8))]
        for fn, table in sorted(self.lengths.items()):
            codes = np.zeros(self.ndocs, np.uint8)
            got = np.frombuffer(bytes(table), np.uint8)[:self.ndocs]
            codes[:len(got)] = got
            sections.append((f"len:{fn}", codes))
        out = bytearray(_HEADER.size)
        for name, arr in sections:
            out.extend(b"\0" * (-len(out) % 8))  # aligned for numpy views
            directory["sections"][name] = (len(out), str(arr.dtype.str), len(arr))
            out.extend(arr.tobytes())
        dirblob = pickle.dumps(directory, pickle.HIGHEST_PROTOCOL)
        out[:_HEADER.size] = _HEADER.pack(MAGIC, VERSION, len(dirblob))
        f.write(bytes(out))
        f.write(dirblob)
        f.close()


class ArrayFieldWriter(FieldWriter):
    """Writes a segment's :class:`PostingBuffer`; whoosh's per-posting API is not used."""

    def __init__(self, storage, segment) -> None:
        self._storage = storage
        self._segment = segment
        self.is_closed = False

    def write(self, buffer: PostingBuffer) -> None:
        buffer.write(self._segment.create_file(self._storage, EXT))

    def add_postings(self, schema, lengths, items) -> None:  # a foreign writer merging into us
        buffer = PostingBuffer(schema)
        for item in items:
            buffer.add(item)
        self.write(buffer)

    def start_field(self, fieldname, fieldobj):
        raise NotImplementedError("array postings are written as a whole (ArrayWriter)")

    def close(self) -> None:
        self.is_closed = True


def _buffer_of(storage, name: str):
    """The bytes of a segment file without copying where possible (mmap)."""
    view = mapped_file(storage, name)
    if view is not None:
        return view, None
    f = storage.open_file(name)
    if isinstance(storage, FileStorage):
        with open(os.path.join(storage.folder, name), "rb") as raw:
            mapped = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        f.close()
        return mapped, None
    data = f.read()
    f.close()
    return data, None


class _Terms:
    """A field's sorted terms as a read-only sequence over the segment's term blob (no parsing)."""

    def __init__(self, blob: np.ndarray, ends: np.ndarray, first: int, count: int) -> None:
        self._blob = blob
        self._ends = ends
        self.first = first
        self._n = count
        self._seen: dict[bytes, int | None] = {}

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> bytes:
        if not 0 <= i < self._n:
            raise IndexError(i)
        t = self.first + i
        start = int(self._ends[t - 1]) if t else 0
        return self._blob[start:int(self._ends[t])].tobytes()

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(self._n))

    def index(self, tbytes: bytes) -> int | None:
        """The term's id in the segment, or None (remembered: queries repeat their terms)."""
        try:
            return self._seen[tbytes]
        except KeyError:
            pass
        i = bisect_left(self, tbytes)
        t = self.first + i if i < self._n and self[i] == tbytes else None
        if len(self._seen) >= TERMS_REMEMBERED:
            self._seen.clear()
        self._seen[tbytes] = t
        return t

    def prefix(self, prefix: bytes) -> tuple[int, int]:
        """Term ids ``[lo, hi)`` of the terms beginning with ``prefix``."""
        lo = bisect_left(self, prefix)
        upper = prefix.rstrip(b"\xff")
        if upper:  # the smallest bytes string after every string beginning with prefix
            hi = bisect_left(self, upper[:-1] + bytes([upper[-1] + 1]), lo)
        else:
            hi = self._n
        return self.first + lo, self.first + hi


class _SegmentFile:
    """A segment's ``.apo`` file mapped: arrays (views into the map) and the lexicon."""

    def __init__(self, storage, segment) -> None:
        buf, self._file = _buffer_of(storage, segment.make_filename(EXT))
        self.buf = buf
        magic, version, bloblen = _HEADER.unpack_from(buf, 0)
        if magic != MAGIC or version != VERSION:
            raise ValueError(f"not an array postings file (version {version})")
        directory = pickle.loads(bytes(buf[len(buf) - bloblen:]))  # small: no terms in it
        self.ndocs: int = directory["ndocs"]
        self.arrays = {name: np.frombuffer(buf, np.dtype(dtype), count, offset)
                       for name, (offset, dtype, count) in directory["sections"].items()}
        blob, ends = self.arrays["termblob"], self.arrays["termends"]
        self.fields: dict[str, _Terms] = {fn: _Terms(blob, ends, first, n)
                                          for fn, (first, n) in directory["fields"].items()}
        self.path: str | None = None


#: parsed segment files by segment: whoosh opens new readers for *every* segment on each
#: refresh, and parsing the lexicon of a 100k-item segment costs ~0.1 s; segment files
#: never change once written, so the parse is shared (a few dozen segments at most)
_FILES: OrderedDict[tuple, _SegmentFile] = OrderedDict()
_FILES_LOCK = threading.Lock()
_FILES_KEPT = 64


def _segment_file(storage, segment) -> _SegmentFile:
    # segment ids are random (16 letters and digits, reseeded in forked workers): the id
    # names one segment's files, whichever storage (directory, compound file) holds them
    key = (segment.index_name(), segment.segment_id())
    with _FILES_LOCK:
        got = _FILES.get(key)
        if got is not None:
            _FILES.move_to_end(key)
            return got
    got = _SegmentFile(storage, segment)
    got.path = _path_of(storage, segment)
    with _FILES_LOCK:
        # a merged-away segment or an old generation is deleted, but its map would keep
        # the disk space until evicted: drop those now
        for old in [k for k, f in _FILES.items() if f.path is not None and not os.path.exists(f.path)]:
            del _FILES[old]
        _FILES[key] = got
        while len(_FILES) > _FILES_KEPT:
            _FILES.popitem(last=False)
    return got


def _path_of(storage, segment) -> str | None:
    """The file holding a segment's postings, when it is on disk (its compound file or its own)."""
    for candidate in (getattr(storage, "b", None), storage):  # SegmentReader overlays compound on directory
        folder = getattr(candidate, "folder", None)
        if folder:
            for ext in (segment.COMPOUND_EXT, EXT):
                path = os.path.join(folder, segment.make_filename(ext))
                if os.path.exists(path):
                    return path
    return None


class ArrayTermsReader(TermsReader):
    """A segment's inverted index from its ``.apo`` file (see module doc)."""

    def __init__(self, storage, segment) -> None:
        seg = _segment_file(storage, segment)
        self._fields = seg.fields
        self.ndocs = seg.ndocs
        arrays = seg.arrays
        self._sections = arrays
        self.docs = arrays["docs"]
        self.freqs = arrays["freqs"]
        self.positions = arrays["positions"]
        self._offsets = arrays["offsets"]
        self._counts = arrays["counts"]
        self._posoffsets = arrays["posoffsets"]
        self._poscounts = arrays["poscounts"]
        self._positional = arrays["positional"]
        self._weights = arrays["weights"]
        self._maxfreq = arrays["maxfreq"]
        self._boosts = arrays["boosts"]
        self._fieldnames = sorted(self._fields)

    # -- the array interface (matching.py) ----------------------------------
    def term_id(self, fieldname: str, tbytes: bytes) -> int | None:
        terms = self._fields.get(fieldname)
        return terms.index(tbytes) if terms is not None else None

    def arrays(self, fieldname: str, tbytes: bytes):
        """``(docs, freqs, positions or None)`` of a term (views into the file), or None."""
        t = self.term_id(fieldname, tbytes)
        if t is None:
            return None
        return self._arrays(t)

    def _arrays(self, t: int):
        start, n = int(self._offsets[t]), int(self._counts[t])
        docs, freqs = self.docs[start:start + n], self.freqs[start:start + n]
        if not self._positional[t]:
            return docs, freqs, None
        p0 = int(self._posoffsets[t])
        return docs, freqs, self.positions[p0:p0 + int(self._poscounts[t])]

    def term_range(self, fieldname: str, prefix: bytes = b"") -> tuple[int, int]:
        """Term ids ``[lo, hi)`` of the field's terms beginning with ``prefix`` (all with b"")."""
        terms = self._fields.get(fieldname)
        if terms is None:
            return 0, 0
        if not prefix:
            return terms.first, terms.first + len(terms)
        return terms.prefix(prefix)

    def postings_of_range(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(docs, freqs, term id of each posting)`` of the terms ``[lo, hi)``: one slice, since
        postings are stored term after term in lexicon order."""
        if hi <= lo:
            return np.empty(0, _U32), np.empty(0, _U32), np.empty(0, np.int64)
        start = int(self._offsets[lo])
        end = int(self._offsets[hi - 1] + self._counts[hi - 1])
        tids = np.repeat(np.arange(lo, hi, dtype=np.int64), self._counts[lo:hi].astype(np.int64))
        return self.docs[start:end], self.freqs[start:end], tids

    def term_bytes(self, t: int) -> bytes:
        ends = self._sections["termends"]
        start = int(ends[t - 1]) if t else 0
        return self._sections["termblob"][start:int(ends[t])].tobytes()

    def term_bytes_range(self, lo: int, hi: int) -> bytes:
        """The bytes of the terms ``[lo, hi)`` one after the other."""
        ends = self._sections["termends"]
        start = int(ends[lo - 1]) if lo else 0
        return self._sections["termblob"][start:int(ends[hi - 1])].tobytes() if hi > lo else b""

    def length_bytes(self, fieldname: str) -> np.ndarray | None:
        """Each document's length byte for a scorable field (None: the field has no lengths)."""
        return self._sections.get(f"len:{fieldname}")

    # -- whoosh's TermsReader API ------------------------------------------
    def __contains__(self, term) -> bool:
        return self.term_id(*term) is not None

    def indexed_field_names(self):
        return list(self._fieldnames)

    def terms(self) -> Iterator[tuple[str, bytes]]:
        for fn in self._fieldnames:
            for tb in self._fields[fn]:
                yield fn, tb

    def terms_from(self, fieldname: str, prefix: bytes) -> Iterator[tuple[str, bytes]]:
        i = bisect_left(self._fieldnames, fieldname)
        for k, fn in enumerate(self._fieldnames[i:]):
            terms = self._fields[fn]
            start = bisect_left(terms, prefix) if k == 0 and fn == fieldname else 0
            for j in range(start, len(terms)):
                yield fn, terms[j]

    def items(self):
        return ((term, self.term_info(*term)) for term in self.terms())

    def items_from(self, fieldname, prefix):
        return ((term, self.term_info(*term)) for term in self.terms_from(fieldname, prefix))

    def term_info(self, fieldname, tbytes) -> TermInfo:
        t = self.term_id(fieldname, tbytes)
        if t is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        start, n = int(self._offsets[t]), int(self._counts[t])
        boost = float(self._boosts[t])
        # min length 1 keeps whoosh's score bound an upper bound; we do not store lengths per term
        return TermInfo(weight=float(self._weights[t]), df=n, minlength=1, maxlength=0,
                        maxweight=float(self._maxfreq[t]) * boost,
                        minid=int(self.docs[start]), maxid=int(self.docs[start + n - 1]))

    def frequency(self, fieldname, tbytes) -> float:
        t = self.term_id(fieldname, tbytes)
        return 0 if t is None else float(self._weights[t])

    def doc_frequency(self, fieldname, tbytes) -> int:
        t = self.term_id(fieldname, tbytes)
        return 0 if t is None else int(self._counts[t])

    def matcher(self, fieldname, tbytes, format_, scorer=None):
        t = self.term_id(fieldname, tbytes)
        if t is None:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}")
        docs, freqs, positions = self._arrays(t)
        boost = format_.field_boost
        values = _Values(format_, freqs, positions) if positions is not None else None
        return ListMatcher(docs.tolist(), (freqs * boost).tolist(), values, format_, scorer=scorer,
                           term=(fieldname, tbytes), terminfo=self.term_info(fieldname, tbytes))

    def cursor(self, fieldname, fieldobj):
        return _Cursor(self, fieldname)

    def iter_arrays(self) -> Iterator[tuple[str, bytes, tuple]]:
        """Every term with its arrays (merging segments)."""
        for fn in self._fieldnames:
            terms = self._fields[fn]
            for i, tb in enumerate(terms):
                yield fn, tb, self._arrays(terms.first + i)

    def close(self) -> None:
        pass  # the mapped file is shared (see _FILES); it closes when the last view goes


class _Values:
    """Encoded posting values for whoosh's matchers, made on demand (phrases in the whoosh path)."""

    def __init__(self, fmt, freqs: np.ndarray, positions: np.ndarray) -> None:
        self._fmt = fmt
        self._positions = positions
        self._ends = np.cumsum(freqs.astype(_I64))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, i: int) -> bytes:
        end = int(self._ends[i])
        start = int(self._ends[i - 1]) if i else 0
        return self._fmt.encode(self._positions[start:end].tolist())


class _Cursor(FieldCursor):
    def __init__(self, reader: ArrayTermsReader, fieldname: str) -> None:
        self._reader = reader
        self._fieldname = fieldname
        self._terms: Any = reader._fields.get(fieldname, [])
        self._i = 0

    def first(self):
        self._i = 0
        return self.term()

    def find(self, term):
        if isinstance(term, str):
            term = term.encode("utf-8")
        self._i = bisect_left(self._terms, term)
        return self.term()

    def next(self):
        self._i += 1
        return self.term()

    def is_valid(self) -> bool:
        return self._i < len(self._terms)

    def term(self):
        return self._terms[self._i] if self.is_valid() else None

    def text(self):
        t = self.term()
        return t.decode("utf-8") if t is not None else None

    def term_info(self):
        return self._reader.term_info(self._fieldname, self.term())


class ArrayCodec(Codec):
    """W3's per-document files (stored fields, lengths, columns) + array postings."""

    def field_writer(self, storage, segment):
        return ArrayFieldWriter(storage, segment)

    def terms_reader(self, storage, segment):
        return ArrayTermsReader(storage, segment)


class ArrayWriter(SegmentWriter):
    """whoosh's segment writer, with postings appended to a :class:`PostingBuffer`.

    ``add_document`` is whoosh's, minus per-posting tuples, value encoding,
    document/field boosts and term vectors (the catalog uses none of them);
    the analysis of our text fields goes straight from the segmenter into the
    buffer (:meth:`.WordPositions.positions_of`).
    """

    def __init__(self, ix, **kwargs) -> None:
        kwargs.pop("codec", None)
        kwargs.pop("poolclass", None)
        super().__init__(ix, codec=ArrayCodec(), **kwargs)
        self.pool = PostingBuffer(self.schema)
        self._plan: dict[str, tuple] = {}

    def _field_plan(self, fieldname: str):
        plan = self._plan.get(fieldname)
        if plan is None:
            field = self.schema[fieldname]
            fmt = field.format
            fast = hasattr(fmt, "positions_of") and hasattr(fmt, "can_index") and fmt.can_index(field.analyzer)
            plan = self._plan[fieldname] = (field, fast, field.scorable, field.column_type, {})
        return plan

    @staticmethod
    def _terms_of(field, value, cache: dict) -> list[tuple[bytes, int, list[int] | None]]:
        """``field.index(value)`` as (term, freq, positions); remembered for repeated values
        (board, state, units, principals, dates: most of a document's non-text fields)."""
        try:
            return cache[value]
        except (KeyError, TypeError):
            pass
        fmt = field.format
        positional = _is_positional(field)
        terms = [(tbytes, freq, fmt.decode_positions(vbytes) if positional else None)
                 for tbytes, freq, _weight, vbytes in field.index(value)]
        if len(cache) < VALUE_CACHE and isinstance(value, (str, int, datetime)):
            cache[value] = terms
        return terms

    def add_document(self, **fields) -> None:
        for source, target in FRAGMENT_FIELDS.items():  # the fragment fields index the same text
            if source in fields and target in self.schema:
                fields[target] = fields[source]
        if "text_z" in self.schema and "text_z" not in fields:
            fields["text_z"] = pack_text(fields)
        self._check_state()
        pdw = self.perdocwriter
        buf = self.pool
        docnum = self.docnum
        names = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(self.schema, names)
        pdw.start_doc(docnum)
        for fieldname in names:
            value = fields[fieldname]
            if value is None:
                continue
            field, fast, scorable, column, cache = self._field_plan(fieldname)
            length = 0
            if field.indexed:
                if fast:
                    length = buf.add_positions(fieldname, docnum, field.format.positions_of(value, field.analyzer))
                else:
                    for tbytes, freq, positions in self._terms_of(field, value, cache):
                        buf.add_term(fieldname, tbytes, docnum, freq, positions)
                        length += freq
                if not scorable:
                    length = 0
                else:
                    buf.set_length(fieldname, docnum, length)
            customval = fields.get(f"_stored_{fieldname}", value)
            pdw.add_field(fieldname, field, customval if field.stored else None, length)
            if column and customval is not None:
                pdw.add_column_value(fieldname, column, field.to_column_value(customval))
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader, startdoc, docmap) -> None:
        terms = terms_reader(reader)
        if not isinstance(terms, ArrayTermsReader):
            return super().add_postings_to_pool(reader, startdoc, docmap)
        remap = None
        if docmap is not None:  # deletions: old docnum → new, -1 for deleted documents
            remap = np.full(reader.doc_count_all(), -1, _I64)
            for old, new in docmap.items():
                remap[old] = new
        for fieldname in terms._fieldnames:
            codes = terms.length_bytes(fieldname)
            if codes is None or fieldname not in self.schema:
                continue
            olds = np.arange(len(codes), dtype=_I64)
            news = olds + startdoc if remap is None else remap[olds]
            keep = news >= 0
            self.pool.add_length_bytes(fieldname, news[keep], codes[keep])
        for fieldname, tbytes, (docs, freqs, positions) in terms.iter_arrays():
            if fieldname not in self.schema:
                continue
            if docmap is None:
                self.pool.add_arrays(fieldname, tbytes, docs.astype(_I64) + startdoc, freqs, positions)
                continue
            assert remap is not None
            new = remap[docs]
            keep = new >= 0
            if not keep.any():
                continue
            if positions is not None and not keep.all():
                owner = np.repeat(keep, freqs.astype(_I64))
                positions = positions[owner]
            self.pool.add_arrays(fieldname, tbytes, new[keep], freqs[keep], positions)

    def _flush_segment(self) -> None:
        self.pool.ndocs = self.docnum
        self.perdocwriter.close()
        self.fieldwriter.write(self.pool)
        self.fieldwriter.close()


def open_writer(ix, **kwargs) -> ArrayWriter:
    """The catalog's index writer (every writer of the catalog must be this one)."""
    return ArrayWriter(ix, **kwargs)
