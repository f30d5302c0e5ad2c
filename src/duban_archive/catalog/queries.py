"""The catalog's own query nodes (whoosh query classes): a filter that does not score, a fragment.

:mod:`.matching` evaluates them (the only evaluator the catalog uses).  Their
``matcher`` methods exist so whoosh's searcher can run them too: the tests compare
:mod:`.matching` against whoosh's own matchers, which stay the reference for every
node whoosh has.
"""

from __future__ import annotations

from whoosh import query as Q
from whoosh.matching import NullMatcherClass, WrappingMatcher


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
    """A filter branch of an ``And`` (permissions, facet filters): it restricts, it does not score."""

    def _rewrap(self, child):
        return self.__class__(child)

    def matcher(self, searcher, context=None):
        m = self.child.matcher(searcher, context)
        return m if isinstance(m, NullMatcherClass) else _UnscoredMatcher(m)


class Fragment(Q.Query):
    """A quoted string: the item's text contains it, whatever the word boundaries.

    ``text`` is already reduced by :func:`.analysis.chars` (NFKC, lower case, no
    whitespace); query syntax characters in it are ordinary characters.  On a text
    field it is matched in that field's fragment field (character bigrams with
    positions); on any other field it is that field's term.
    """

    def __init__(self, fieldname: str, text: str, boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.text = text
        self.boost = boost

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.fieldname!r}, {self.text!r}, boost={self.boost})"

    def __eq__(self, other) -> bool:
        return (other.__class__ is self.__class__ and self.fieldname == other.fieldname
                and self.text == other.text and self.boost == other.boost)

    def __hash__(self) -> int:
        return hash((self.__class__.__name__, self.fieldname, self.text, self.boost))

    def field(self):
        return self.fieldname

    def _terms(self, phrases=True):
        yield self.fieldname, self.text

    def has_terms(self) -> bool:
        return True

    def estimate_size(self, ixreader) -> int:
        return 0

    def matcher(self, searcher, context=None):
        raise Q.QueryError("a fragment is evaluated by catalog.matching only")
