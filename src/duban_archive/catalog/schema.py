"""The whoosh schema: text to search, metadata to filter and facet on, who may view.

Facets are counted, and dates sorted, from the postings of the indexed fields
(:mod:`.matching`): no facet columns.  The dates people sort by stay *sortable*
(8 bytes each) only so that whoosh's own sorting, the tests' reference, agrees.
Stored: only what a result row and its snippet show; the three texts are kept
together, zlib-compressed, in ``text_z`` (:func:`pack_text`, :func:`unpack_text`).
Numbers and dates are indexed with fewer precision tiers than whoosh's
defaults (a year as one term, a date as four instead of eight): range
queries stay cheap at day granularity, and those terms were a fifth of all
postings, i.e. of indexing time.
Beside each text field (``title``, ``body``, ``files``: jieba words, with positions, for
ranked word queries and slop phrases) a fragment field (``title_g``…) holds the same
text's character bigrams with character positions, so a quoted fragment is found
whatever the word boundaries (:func:`.analysis.gram_positions`).  The writer fills the
fragment fields from their text fields (:data:`FRAGMENT_FIELDS`); they store nothing
and keep no lengths (a fragment is scored with its text field's length).
The index is derived data: its pickled schema may name classes of this
package, and ``duban-archive reindex`` rebuilds it whenever they change.
"""

from __future__ import annotations

import json
import zlib
from collections import defaultdict
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Positions

from .analysis import gram_positions, normalize, words

#: bump when the schema or the analysis changes: the indexer then rebuilds
SCHEMA_VERSION = 5
#: text field -> its fragment field (filled by the writer from the text field)
FRAGMENT_FIELDS = {"title": "title_g", "body": "body_g", "files": "files_g"}
TEXT_FIELDS = tuple(FRAGMENT_FIELDS)


# -- the analysis as whoosh tokenizers and posting formats ---------------------
# (the analysis itself, engine-independent, is :mod:`.analysis`)

class JiebaTokenizer(Tokenizer):
    """Whoosh tokenizer: jieba accurate-mode words with real positions (see module doc)."""

    def __eq__(self, other) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        text = normalize(value)
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = text
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        search = mode != "query"
        for pos, word, start, end in words(text, search=search):
            t.text = word
            t.boost = 1.0
            if keeporiginal:
                t.original = word
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t


class GramTokenizer(Tokenizer):
    """Whoosh tokenizer of the fragment fields: :func:`gram_positions` as tokens (see there)."""

    def __eq__(self, other) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        grams = sorted((p, g) for g, ps in gram_positions(value).items() for p in ps)
        for pos, gram in grams:
            t.text = t.original = gram
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar, t.endchar = start_char + pos, start_char + pos + len(gram)
            yield t


class WordPositions(Positions):
    """Whoosh's ``Positions`` postings, fed straight from :func:`words` when indexing.

    The same bytes as ``Positions`` with :class:`JiebaTokenizer`, without a
    whoosh ``Token`` per word: indexing is the hot path of a rebuild.
    """

    #: the analyzer whose output :meth:`positions_of` reproduces
    analyzer_class: type = JiebaTokenizer

    def can_index(self, analyzer) -> bool:
        """Whether :meth:`positions_of` may stand in for whoosh's analysis of this field."""
        return type(analyzer) is self.analyzer_class

    @staticmethod
    def positions_of(value: str, analyzer=None) -> dict[str, list[int]]:
        """Each indexed word (sub-words included) with its positions, in order of appearance."""
        poses: dict[str, list[int]] = defaultdict(list)
        for pos, word, _start, _end in words(normalize(value), search=True):
            poses[word].append(pos)
        return poses

    def word_values(self, value, analyzer, **kwargs):
        if not self.can_index(analyzer) or kwargs.get("mode") == "query":
            yield from super().word_values(value, analyzer, **kwargs)
            return
        boost = self.field_boost
        for word, poslist in self.positions_of(value).items():
            yield word, len(poslist), len(poslist) * boost, self.encode(poslist)


class GramPositions(WordPositions):
    """Positions postings of a fragment field (character bigrams), fed from :func:`gram_positions`."""

    analyzer_class = GramTokenizer

    @staticmethod
    def positions_of(value: str, analyzer=None) -> dict[str, list[int]]:
        return gram_positions(value)


def _date(**kw) -> DATETIME:
    field = DATETIME(**kw)
    field.shift_step = 16  # tiers at 0, 16, 32, 48 bits of the microsecond count
    return field


def _text(analyzer: JiebaTokenizer, **kw) -> TEXT:
    field = TEXT(analyzer=analyzer, stored=False, multitoken_query="and", **kw)
    field.format = WordPositions(field_boost=field.format.field_boost)
    return field


def _grams() -> TEXT:
    field = TEXT(analyzer=GramTokenizer(), stored=False)
    field.format = GramPositions()
    field.scorable = False  # no length column: the text field's length scores a fragment
    return field


def make_schema() -> Schema:
    analyzer = JiebaTokenizer()
    return Schema(
        title_g=_grams(),
        body_g=_grams(),
        files_g=_grams(),
        id=ID(stored=True, unique=True),
        number=KEYWORD(stored=True, lowercase=True, scorable=True),
        title=_text(analyzer, field_boost=3.0),
        body=_text(analyzer),
        files=_text(analyzer),
        text_z=STORED(),
        board=ID(stored=True),
        type=ID(),
        state=ID(stored=True),
        final=BOOLEAN(),
        lead_unit=ID(),
        units=KEYWORD(stored=True, commas=True, scorable=False),
        year=NUMERIC(int, signed=False, bits=32, shift_step=0),
        registered_on=_date(stored=True, sortable=True),
        deadline=_date(sortable=True),
        modified=_date(sortable=True),
        next_due=_date(),
        grade=ID(),
        archival_code=KEYWORD(stored=True, lowercase=True, scorable=True),
        retention=ID(stored=True),
        allowed=KEYWORD(commas=True, scorable=False),
        unextracted=KEYWORD(stored=True, commas=True, scorable=False),
    )


def pack_text(fields: dict[str, Any]) -> bytes:
    """The stored form of a document's texts (title, body, files): one zlib-compressed JSON."""
    texts = {name: fields[name] for name in TEXT_FIELDS if fields.get(name)}
    return zlib.compress(json.dumps(texts, ensure_ascii=False).encode("utf-8"), 6)


def unpack_text(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored fields with the texts unpacked (a document written without ``text_z`` as it is)."""
    packed = stored.get("text_z")
    if packed is None:
        return stored
    out = {k: v for k, v in stored.items() if k != "text_z"}
    out.update(json.loads(zlib.decompress(packed).decode("utf-8")))
    return out
