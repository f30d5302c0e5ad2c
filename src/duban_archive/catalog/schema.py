"""The whoosh schema: text to search, metadata to filter and facet on, who may view.

Facet fields are *sortable* (whoosh columns) so counting reads a column per
matched document instead of walking postings.  ``units`` is multi-valued, so
it has a companion column ``units_col`` ("zjj,jtj") read by a custom facet.
The index is derived data: its pickled schema may name classes of this
package, and ``duban-archive reindex`` rebuilds it whenever they change.
"""

from __future__ import annotations

from whoosh import columns
from whoosh.fields import BOOLEAN, COLUMN, DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema

from .analysis import JiebaTokenizer

#: bump when the schema or the analysis changes: the indexer then rebuilds
SCHEMA_VERSION = 1


def make_schema() -> Schema:
    analyzer = JiebaTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        number=KEYWORD(stored=True, lowercase=True, scorable=True),
        title=TEXT(analyzer=analyzer, stored=True, field_boost=3.0, multitoken_query="and"),
        body=TEXT(analyzer=analyzer, stored=True, multitoken_query="and"),
        files=TEXT(analyzer=analyzer, stored=True, multitoken_query="and"),
        board=ID(stored=True, sortable=True),
        type=ID(stored=True),
        state=ID(stored=True, sortable=True),
        final=BOOLEAN(),
        lead_unit=ID(stored=True),
        units=KEYWORD(stored=True, commas=True, scorable=False),
        units_col=COLUMN(columns.VarBytesColumn()),
        year=NUMERIC(int, stored=True, sortable=True, signed=False, bits=32),
        registered_on=DATETIME(stored=True, sortable=True),
        deadline=DATETIME(stored=True, sortable=True),
        modified=DATETIME(stored=True, sortable=True),
        next_due=DATETIME(),
        grade=ID(stored=True),
        archival_code=KEYWORD(stored=True, lowercase=True, scorable=True),
        retention=ID(stored=True, sortable=True),
        allowed=KEYWORD(commas=True, scorable=False),
        unextracted=KEYWORD(stored=True, commas=True, scorable=False),
    )
