"""Searching the full-text catalog: the only module views call (never the engine directly).

Engine-independent: it hands the query string, the caller's principals and the
filters to the engine (:mod:`.engine`; whoosh by default, :mod:`.whoosh_engine`) and
turns the page it answers into :class:`Hit` s with snippets.  The principals are
part of the engine's query, so totals, facets and pages only ever count what the
caller may view; views re-check ``view`` on each item shown.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .analysis import normalize
from .engine import Engine, Filters, QueryError

__all__ = ["FACETS", "SORTS", "Hit", "QueryError", "SearchResults", "run"]

SORTS = {
    "relevance": None,
    "registered_on": ("registered_on", True),
    "modified": ("modified", True),
    "deadline": ("deadline", False),
}
FACETS = ("board", "state", "unit", "year", "retention")
MAX_PER_PAGE = 100


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


def run(engine: Engine, principals, q: str = "", *, board: str | None = None, state: str | None = None,
        unit: str | None = None, year: int | None = None, retention: str | None = None,
        overdue: bool | None = None, sort: str = "relevance", page: int = 1, per_page: int = 20,
        facets: bool = True, snippets: bool = True) -> SearchResults:
    """Search what ``principals`` may view; see module doc."""
    principals = [p for p in principals if p]
    page = max(1, int(page))
    per_page = max(1, min(MAX_PER_PAGE, int(per_page)))
    sort_spec = SORTS.get(sort) or None
    got = engine.search(principals, q, Filters(board=board, state=state, unit=unit, year=year,
                                               retention=retention, overdue=overdue),
                        sort=sort_spec[0] if sort_spec else None, reverse=sort_spec[1] if sort_spec else False,
                        page=page, per_page=per_page, facets=facets)
    terms = got.terms
    hits = [_hit(stored, score if not sort_spec else 0.0, terms, snippets) for stored, score in got.hits]
    out = SearchResults(total=got.total, hits=hits, page=page, per_page=per_page, terms=terms)
    for name in FACETS if facets else ():
        out.facets[name] = _facet_pairs(got.facets.get(name, {}))
    return out


def _facet_pairs(counts: dict) -> list[tuple[Any, int]]:
    pairs = [(k, v) for k, v in counts.items() if k not in ("", None, b"")]
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
            if len(low) != len(norm):  # lower() changed the length (rare): compare as it is
                low = norm
            flat = _SPACES.sub("", low)
            if not any(t in flat for t in terms):  # a fragment is matched without whitespace
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


_SPACES = re.compile(r"\s+")


def _find_all(text: str, terms) -> list[tuple[int, int]]:
    """Spans of every occurrence of the query words and fragments (whitespace inside a
    fragment's occurrence allowed: fragments are matched without it)."""
    spans = []
    for term in terms:
        if " " not in text and "\n" not in text and "\t" not in text:
            start = text.find(term)
            while start >= 0:
                spans.append((start, start + len(term)))
                start = text.find(term, start + len(term))
            continue
        pattern = r"\s*".join(re.escape(c) for c in term)
        spans.extend(m.span() for m in re.finditer(pattern, text))
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
