"""Chinese analysis for the full-text catalog, engine-independent: words on jieba, and characters.

Two views of a text are indexed: its *words* (:func:`words`, ranked word queries and
slop phrases) and its *characters* (:func:`chars`/:func:`gram_positions`: bigrams with
character positions, so a quoted fragment matches whatever the word boundaries).
The whoosh tokenizers and posting formats feeding them to the index are in
:mod:`.schema`.

Why not jieba's stock ``ChineseAnalyzer``: it numbers tokens by character
offset (so phrase queries never match), drops one-character tokens (``51号``,
single Latin letters) and stems English.  :func:`words`:

* normalises with NFKC first, so full-width ``ＺＤＧＺ－２０２６`` and ``１３７１０`` equal
  their half-width forms, and ``：`` in a query is ``:``;
* cuts with jieba's *accurate* mode and numbers those tokens 0, 1, 2 … (true
  word positions; punctuation and spaces are dropped without a gap, the same
  at index and query time, so ``晋市政办〔2020〕51号`` is a phrase of 6 words);
  a token mixing letters or digits with punctuation (``2017-09-20``) counts as
  its alphanumeric runs, so ``2017`` finds it;
* at index time adds sub-words of long Chinese words at the position of their
  word (every 2-gram and the 3-grams in jieba's dictionary, as jieba's search
  mode does but with correct positions), so ``国务院`` finds ``国务院办公厅``,
  ``老旧`` finds ``老旧小区`` and a phrase may start inside a long word;
* keeps numbers and Latin tokens (lowercased), never stems;
* keeps jieba's HMM (new-word guessing) on: without it, a short word jieba
  does not know (``老旧``) is cut into single characters in a query but found
  only as a 2-gram inside longer words, so it would miss.

The segmenter is **jieba-rs** through ``rjieba``: the same dictionary, DAG and
HMM as Python jieba (on the five seed documents the cuts differ in 5 of 22 875
tokens, all hyphenated numbers, handled above), about 20 times faster, which
is what lets a rebuild reach its throughput target.  Its dictionary is compiled
into the extension, so there is no dictionary cache file to place at all
(Python jieba's went to /tmp by default).

Whoosh distribution: we pin ``Whoosh==2.7.4``.  whoosh-reloaded (2.7.5, its
only release, Feb 2024) is the same code with invalid-escape warnings fixed;
it has not become a maintained line either, and on Python 3.11 the 2.7.4
escapes are only DeprecationWarnings at byte-compile time.  Both install the
same ``whoosh`` package, so switching later is a one-line change in setup.py.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator

#: domain words jieba's dictionary lacks (from the seeds); cut as one word
DOMAIN_WORDS = (
    "督查督办", "督查室", "督办件", "承办单位", "协办单位", "牵头单位", "责任单位", "交办件",
    "销号", "办结", "签收", "退单", "催办", "核查", "重办", "亮灯", "台账", "批示件",
    "立卷归档", "档号", "保管期限", "归档文件目录", "备考表", "12345热线", "互联网+督查",
    "老旧小区", "反馈报告", "持续推进", "延期申请", "人大建议", "政协提案",
)

_lock = threading.Lock()
_segmenter = None
#: alphanumeric runs (``_`` counts as punctuation): the parts of a mixed token
_ALNUM = re.compile(r"[^\W_]+")


def _jieba():
    """The process's segmenter with our domain words (built once, ~0.15 s)."""
    global _segmenter
    if _segmenter is None:
        import rjieba

        with _lock:
            if _segmenter is None:
                seg = rjieba.Jieba()
                for word in DOMAIN_WORDS:
                    seg.add_word(word, 20000, None)
                _segmenter = seg
    return _segmenter


def warm_up() -> None:
    """Load the segmenter now (a web process calls this at start, off the request path)."""
    _jieba()


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def _is_cjk(word: str) -> bool:
    return _CJK.fullmatch(word) is not None


def words(text: str, *, search: bool = False) -> Iterator[tuple[int, str, int, int]]:
    """Yield ``(position, word, start, end)`` for normalised ``text``.

    With ``search=True`` also sub-words of long Chinese words, at their word's position.
    """
    seg = _jieba()
    has_word = seg.has_word
    pos = 0
    for word, start, end in seg.tokenize(text, hmm=True):
        if not word.isalnum():
            # punctuation, spaces, or a mixed token such as 2017-09-20: its alphanumeric runs
            for m in _ALNUM.finditer(word):
                yield pos, m.group().lower(), start + m.start(), start + m.end()
                pos += 1
            continue
        yield pos, word.lower(), start, end
        n = end - start
        if search and n > 2 and _is_cjk(word):
            for i in range(n - 1):  # every 2-gram (jieba's dictionary lacks e.g. 老旧)
                yield pos, word[i:i + 2], start + i, start + i + 2
            for i in range(n - 2) if n > 3 else ():  # and the 3-grams it knows
                sub = word[i:i + 3]
                if has_word(sub):
                    yield pos, sub, start + i, start + i + 3
        pos += 1


#: whitespace, dropped from fragment matching (a pasted fragment may break lines anywhere)
_SPACE = re.compile(r"\s+")


def chars(text: str) -> str:
    """The text a quoted fragment is matched against: NFKC, lower case, no whitespace.

    Every other character (CJK, Latin, digits, punctuation such as ``、`` ``*`` ``(``) is kept,
    so a fragment copied from an item matches whatever the word boundaries, and the
    query syntax characters inside quotes are ordinary characters.
    """
    return _SPACE.sub("", normalize(text).lower())


def gram_positions(value: str) -> dict[str, list[int]]:
    """Character bigrams of :func:`chars` with their character positions.

    The last character is also indexed alone, so every character starts at least one
    term: a one-character fragment is the union of the terms it begins (a prefix).
    """
    s = chars(value)
    poses: dict[str, list[int]] = {}
    get = poses.get
    for i, gram in enumerate(map(str.__add__, s, s[1:])):  # the bigrams, made in C
        got = get(gram)
        if got is None:
            poses[gram] = [i]
        else:
            got.append(i)
    if s:
        poses.setdefault(s[-1], []).append(len(s) - 1)
    return poses


def fragment_grams(fragment: str) -> list[tuple[int, str]]:
    """``(offset, bigram)`` covering every character of a fragment (of :func:`chars`), fewest first.

    A fragment occurs at position p where each of these bigrams stands at p + offset.
    """
    n = len(fragment)
    if n < 2:
        return []
    offsets = sorted(set(range(0, n - 1, 2)) | {n - 2})
    return [(o, fragment[o:o + 2]) for o in offsets]


def query_terms(text: str) -> list[str]:
    """The words a query string analyses to (for highlighting)."""
    return [w for _, w, _, _ in words(normalize(text))]
