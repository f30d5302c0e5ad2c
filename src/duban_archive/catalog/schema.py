"""The whoosh schema: text to search, metadata to filter and facet on, who may view.

Facet fields are *sortable* (whoosh columns) so counting reads a column per
matched document instead of walking postings.  ``units`` is multi-valued, so
it has a companion column ``units_col`` ("zjj,jtj") read by a custom facet.
Numbers and dates are indexed with fewer precision tiers than whoosh's
defaults (a year as one term, a date as four instead of eight): range
queries stay cheap at day granularity, and those terms were a fifth of all
postings, i.e. of indexing time.
The index is derived data: its pickled schema may name classes of this
package, and ``duban-archive reindex`` rebuilds it whenever they change.
"""

from __future__ import annotations

from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema

from .analysis import JiebaTokenizer, WordPositions

#: bump when the schema or the analysis changes: the indexer then rebuilds
SCHEMA_VERSION = 3


def _date(**kw) -> DATETIME:
    field = DATETIME(**kw)
    field.shift_step = 16  # tiers at 0, 16, 32, 48 bits of the microsecond count
    return field


def _text(analyzer: JiebaTokenizer, **kw) -> TEXT:
    field = TEXT(analyzer=analyzer, stored=True, multitoken_query="and", **kw)
    field.format = WordPositions(field_boost=field.format.field_boost)
    return field


def make_schema() -> Schema:
    analyzer = JiebaTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        number=KEYWORD(stored=True, lowercase=True, scorable=True),
        title=_text(analyzer, field_boost=3.0),
        body=_text(analyzer),
        files=_text(analyzer),
        board=ID(stored=True, sortable=True),
        type=ID(stored=True),
        state=ID(stored=True, sortable=True),
        final=BOOLEAN(),
        lead_unit=ID(stored=True),
        units=KEYWORD(stored=True, commas=True, scorable=False),
        units_col=COLUMN(columns.VarBytesColumn()),
        year=NUMERIC(int, stored=True, sortable=True, signed=False, bits=32, shift_step=0),
        registered_on=_date(stored=True, sortable=True),
        deadline=_date(stored=True, sortable=True),
        modified=_date(stored=True, sortable=True),
        next_due=_date(),
        grade=ID(stored=True),
        archival_code=KEYWORD(stored=True, lowercase=True, scorable=True),
        retention=ID(stored=True, sortable=True),
        allowed=KEYWORD(commas=True, scorable=False),
        unextracted=KEYWORD(stored=True, commas=True, scorable=False),
    )
