"""The one module that reads whoosh's private attributes (pinned ``Whoosh==2.7.4``).

Why at all: the catalog keeps whoosh for the index's table of contents, segments,
deletions and stored fields, and replaces the inverted index with array postings
(:mod:`.postings`).  Reaching a segment's own terms reader, and reading a segment's
length bytes in bulk while merging, have no public API.  Everything else the
catalog does through whoosh's public API; the writer subclass in :mod:`.postings`
(and :mod:`.parallel`, which commits segments written by several processes) extends
``SegmentWriter`` and necessarily uses its internals, named there.

W3's codec and posting pool with the per-posting hot spots fixed:

When a segment is written, whoosh asks the per-document reader for the
field length of *every posting* (and scoring asks it for every hit).  The
stock reader answers with a seek and a one-byte read each time, and for a
field without length statistics (IDs, keywords, numbers, dates: half of our
postings) it does not remember the column is missing and asks the file
system again, one ``stat`` per posting.  This reader reads a field's length
bytes once per segment (one byte per document) and remembers missing
columns; a bulk rebuild got about a third faster.  The files on disk are
exactly W3's; only the class name recorded in the index's table of contents
is ours, so this module must stay importable.  The column internals read
here are those of the pinned ``Whoosh==2.7.4``.  The catalog's postings are
:mod:`.postings`' arrays; this class is their per-document half.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from io import BytesIO
from typing import Any

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3Codec, W3PerDocReader, _lenfield
from whoosh.filedb.structfile import BufferFile
from whoosh.util.numeric import byte_to_length

#: stored-field column readers by segment, shared by the readers whoosh makes anew on every
#: refresh: building one decodes the offsets of every document (~20 ms per 100 000), which
#: was most of the first query after each index change.  A segment's files never change.
_STORED: OrderedDict[tuple, Any] = OrderedDict()
_STORED_LOCK = threading.Lock()
_STORED_KEPT = 64


class PerDocReader(W3PerDocReader):
    """W3's per-document reader with each field's length bytes read once, and the stored-field
    column reader shared between the readers of one segment."""

    def _cached_reader(self, fieldname, column):
        if fieldname != "_stored" or fieldname in self._readers:
            return super()._cached_reader(fieldname, column)
        segment = self._segment
        key = (segment.index_name(), segment.segment_id(), self._doccount)
        with _STORED_LOCK:
            shared = _STORED.get(key)
            if shared is not None:
                _STORED.move_to_end(key)
        if shared is None:
            shared = super()._cached_reader(fieldname, column)
            colfile = self._colfiles.get(fieldname, (None,))[0]
            if shared is None or not isinstance(colfile, _MapView):  # only a view of the map outlives its reader
                return shared
            with _STORED_LOCK:
                _STORED[key] = shared
                while len(_STORED) > _STORED_KEPT:
                    _STORED.popitem(last=False)
        self._readers[fieldname] = shared
        return shared

    def __init__(self, storage, segment) -> None:
        super().__init__(storage, segment)
        self._length_bytes: dict[str, bytes | None] = {}

    def _lengths(self, fieldname: str) -> bytes | None:
        if fieldname in self._length_bytes:
            return self._length_bytes[fieldname]
        table: bytes | None = None
        lenfield = _lenfield(fieldname)
        if self.has_column(lenfield):
            reader = self.column_reader(lenfield, LENGTHS_COLUMN)
            table = reader._dbfile.get(reader._basepos, reader._count)  # one byte per document
        self._length_bytes[fieldname] = table
        return table

    def doc_field_length(self, docnum, fieldname, default=0):
        table = self._lengths(fieldname)
        if table is None:
            return default
        lbyte = table[docnum] if docnum < len(table) else 0
        # as W3: a zero byte (no terms in the field) gives None
        return byte_to_length(lbyte) if lbyte else None


    def _get_column_file(self, fieldname):
        # whoosh wraps a column of a memory-mapped compound segment in a BufferFile, whose
        # constructor *copies* the column into a BytesIO: for the stored fields of a
        # 50 000-item segment ~80 ms on the first query after every index change (whoosh
        # opens new readers for all segments on refresh).  Column readers only call
        # ``get``/``get_array`` on it, which read the map directly.
        filename = W3Codec.column_filename(self._segment, fieldname)
        storage = self._storage
        storage = getattr(storage, "a", storage)  # SegmentReader overlays the compound file on the directory
        source = getattr(storage, "_source", None)
        if source is None or not hasattr(storage, "range") or not storage.file_exists(filename):
            return super()._get_column_file(fieldname)
        offset, length = storage.range(filename)
        return _MapView(memoryview(source)[offset:offset + length], name=filename), 0, length


class _MapView(BufferFile):
    """A BufferFile whose stream (``read``/``seek``) is made only if something asks for it."""

    def __init__(self, buf, name=None) -> None:
        self._buf = buf
        self._name = name
        self.onclose = None
        self.is_real = False
        self.is_closed = False
        self._stream = None

    @property
    def file(self):
        if self._stream is None:
            self._stream = BytesIO(self._buf)
        return self._stream


def terms_reader(segreader):
    """A segment reader's terms reader (an ``ArrayTermsReader`` for the catalog's segments)."""
    return getattr(segreader, "_terms", None)


def mapped_file(storage, name: str) -> memoryview | None:
    """A file inside a memory-mapped compound segment as a view of the map, or None.

    whoosh's ``CompoundStorage.open_file`` wraps the map in a ``BufferFile``, whose
    constructor *copies* the file into a ``BytesIO``: for the postings of a 100 000-item
    segment that was ~0.3 s per segment on the first query after every merge or rebuild.
    """
    for candidate in (getattr(storage, "a", None), storage):  # SegmentReader overlays compound on directory
        source = getattr(candidate, "_source", None)
        if candidate is None or source is None or not hasattr(candidate, "range"):
            continue
        try:
            offset, length = candidate.range(name)
        except NameError:
            continue
        return memoryview(source)[offset:offset + length]
    return None


def segment_id(segreader) -> object:
    """What names a segment's files (stable while the segment exists), for caches."""
    segment = segreader.segment() if hasattr(segreader, "segment") else None
    if segment is None:
        return id(segreader)
    return (segment.index_name(), segment.segment_id())


def segment_deleted_docs(segreader):
    """The deleted docnums of a segment reader (public API of the segment object)."""
    segment = segreader.segment()
    return segment.deleted_docs() if segment is not None else ()


class Codec(W3Codec):
    def per_document_reader(self, storage, segment):
        return PerDocReader(storage, segment)
