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
* the terms themselves, per field, sorted (pickled lists of bytes).

Writing (:class:`ArrayWriter`) appends each document's postings to flat
arrays and sorts them by term once, in numpy, when the segment is flushed.
Reading (:class:`ArrayTermsReader`) maps the file (zero copy) and hands the
arrays of a term to :mod:`.matching`, which evaluates a whole query with set
operations; whoosh's own matchers still work on top (:meth:`matcher`), for
whatever query that module leaves to whoosh, and for merging segments.

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
from whoosh.writing import SegmentWriter

from .analysis import WordPositions
from .codec import Codec

EXT = ".apo"
MAGIC = b"DUBANAPO"
VERSION = 1
_HEADER = struct.Struct("<8sII")  # magic, version, length of the pickled directory (at the end)
_U32 = np.dtype("<u4")
_I64 = np.dtype("<i8")
_F64 = np.dtype("<f8")
assert array("I").itemsize == 4
#: distinct values per field whose analysis a writer remembers
VALUE_CACHE = 4096


def _is_positional(fieldobj) -> bool:
    return fieldobj.format is not None and fieldobj.format.supports("positions")


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
        fields: dict[str, list[bytes]] = {}
        starts: dict[str, int] = {}
        for r, (fn, tb, _) in enumerate(keyed):
            if fn not in fields:
                fields[fn] = []
                starts[fn] = r
                fobj = schema[fn]
            fields[fn].append(tb)
            positional[r] = _is_positional(fobj)
            boosts[r] = fobj.format.field_boost
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
        directory = {
            "fields": fields, "starts": starts, "nterms": nterms,
            "sections": {},
        }
        out = bytearray(_HEADER.size)
        for name, arr in (("docs", docs.astype(_U32)), ("freqs", freqs.astype(_U32)),
                          ("positions", positions.astype(_U32)), ("offsets", offsets), ("counts", counts),
                          ("posoffsets", posoffsets), ("poscounts", poscounts), ("weights", weights.astype(_F64)),
                          ("maxfreq", maxfreq), ("boosts", boosts), ("positional", positional.astype(np.uint8))):
            out.extend(b"\0" * (-len(out) % 8))  # aligned for numpy views
            directory["sections"][name] = (len(out), str(arr.dtype.str), len(arr))
            out.extend(arr.tobytes())
        blob = pickle.dumps(directory, pickle.HIGHEST_PROTOCOL)
        out[:_HEADER.size] = _HEADER.pack(MAGIC, VERSION, len(blob))
        f.write(bytes(out))
        f.write(blob)
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
    f = storage.open_file(name)
    buf = getattr(f, "_buf", None)  # a file inside a memory-mapped compound segment
    if buf is not None:
        return buf, f
    if isinstance(storage, FileStorage):
        with open(os.path.join(storage.folder, name), "rb") as raw:
            mapped = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
        f.close()
        return mapped, None
    data = f.read()
    f.close()
    return data, None


class _SegmentFile:
    """A segment's ``.apo`` file mapped and parsed: arrays (views), terms, term ids."""

    def __init__(self, storage, segment) -> None:
        buf, self._file = _buffer_of(storage, segment.make_filename(EXT))
        self.buf = buf
        magic, version, bloblen = _HEADER.unpack_from(buf, 0)
        if magic != MAGIC or version != VERSION:
            raise ValueError(f"not an array postings file (version {version})")
        directory = pickle.loads(bytes(buf[len(buf) - bloblen:]))
        self.fields: dict[str, list[bytes]] = directory["fields"]
        self.starts: dict[str, int] = directory["starts"]
        self.keys: dict[str, dict[bytes, int]] = {}
        self.arrays = {name: np.frombuffer(buf, np.dtype(dtype), count, offset)
                       for name, (offset, dtype, count) in directory["sections"].items()}
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
        self._starts = seg.starts
        self._keys = seg.keys
        arrays = seg.arrays
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
        keys = self._keys.get(fieldname)
        if keys is None:
            terms = self._fields.get(fieldname)
            if terms is None:
                return None
            start = self._starts[fieldname]
            keys = self._keys[fieldname] = dict(zip(terms, range(start, start + len(terms)), strict=True))
        return keys.get(tbytes)

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
            for tb in terms[start:]:
                yield fn, tb

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
            start = self._starts[fn]
            for i, tb in enumerate(self._fields[fn]):
                yield fn, tb, self._arrays(start + i)

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
        self._terms = reader._fields.get(fieldname, [])
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
            fast = isinstance(field.format, WordPositions) and field.format.can_index(field.analyzer)
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
            customval = fields.get(f"_stored_{fieldname}", value)
            pdw.add_field(fieldname, field, customval if field.stored else None, length)
            if column and customval is not None:
                pdw.add_column_value(fieldname, column, field.to_column_value(customval))
        pdw.finish_doc()
        self._added = True
        self.docnum += 1

    def add_postings_to_pool(self, reader, startdoc, docmap) -> None:
        terms = getattr(reader, "_terms", None)
        if not isinstance(terms, ArrayTermsReader):
            return super().add_postings_to_pool(reader, startdoc, docmap)
        if docmap is not None:  # deletions: old docnum → new, -1 for deleted documents
            remap = np.full(reader.doc_count_all(), -1, _I64)
            for old, new in docmap.items():
                remap[old] = new
        for fieldname, tbytes, (docs, freqs, positions) in terms.iter_arrays():
            if fieldname not in self.schema:
                continue
            if docmap is None:
                self.pool.add_arrays(fieldname, tbytes, docs.astype(_I64) + startdoc, freqs, positions)
                continue
            new = remap[docs]
            keep = new >= 0
            if not keep.any():
                continue
            if positions is not None and not keep.all():
                owner = np.repeat(keep, freqs.astype(_I64))
                positions = positions[owner]
            self.pool.add_arrays(fieldname, tbytes, new[keep], freqs[keep], positions)

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        self.fieldwriter.write(self.pool)
        self.fieldwriter.close()


def open_writer(ix, **kwargs) -> ArrayWriter:
    """The catalog's index writer (every writer of the catalog must be this one)."""
    return ArrayWriter(ix, **kwargs)
