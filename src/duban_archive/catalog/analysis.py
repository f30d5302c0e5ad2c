"""Chinese analysis for the full-text catalog: a whoosh tokenizer on jieba.

Why not jieba's stock ``ChineseAnalyzer``: it numbers tokens by character
offset (so phrase queries never match), drops one-character tokens (``51号``,
single Latin letters) and stems English.  This tokenizer:

* normalises with NFKC first, so full-width ``ＺＤＧＺ－２０２６`` and ``１３７１０`` equal
  their half-width forms, and ``：`` in a query is ``:``;
* cuts with jieba's *accurate* mode and numbers those tokens 0, 1, 2 … (true
  word positions; punctuation and spaces are dropped without a gap, the same
  at index and query time, so ``晋市政办〔2020〕51号`` is a phrase of 6 words);
* at index time adds sub-words of long words at the position of their word
  (every 2-gram and the 3-grams in jieba's dictionary, as jieba's search mode
  does but with correct positions), so ``国务院`` finds ``国务院办公厅``, ``老旧``
  finds ``老旧小区`` and a phrase may start inside a long word;
* keeps numbers and Latin tokens (lowercased), never stems;
* keeps jieba's HMM (new-word guessing) on: without it, a short word jieba
  does not know (``老旧``) is cut into single characters in a query but found
  only as a 2-gram inside longer words, so it would miss (measured: HMM off
  halves analysis time but breaks such queries).

jieba's dictionary cache goes to ``<var>/cache`` (:func:`configure`), not /tmp.

Whoosh distribution: we pin ``Whoosh==2.7.4``.  whoosh-reloaded (2.7.5, its
only release, Feb 2024) is the same code with invalid-escape warnings fixed;
it has not become a maintained line either, and on Python 3.11 the 2.7.4
escapes are only DeprecationWarnings at byte-compile time.  Both install the
same ``whoosh`` package, so switching later is a one-line change in setup.py.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterator

from whoosh.analysis import Token, Tokenizer

_lock = threading.Lock()
_configured: str | None = None

#: domain words jieba's dictionary lacks (from the seeds); cut as one word
DOMAIN_WORDS = (
    "督查督办", "督查室", "督办件", "承办单位", "协办单位", "牵头单位", "责任单位", "交办件",
    "销号", "办结", "签收", "退单", "催办", "核查", "重办", "亮灯", "台账", "批示件",
    "立卷归档", "档号", "保管期限", "归档文件目录", "备考表", "12345热线", "互联网+督查",
    "老旧小区", "反馈报告", "持续推进", "延期申请", "人大建议", "政协提案",
)

_RUN = re.compile(r"\s+")


def configure(cache_dir: str | None = None) -> None:
    """Point jieba's cache at ``cache_dir`` (first call wins; the dictionary loads on first use)."""
    global _configured
    import jieba

    with _lock:
        if _configured is not None:
            return
        jieba.setLogLevel(logging.WARNING)
        if cache_dir:
            os.makedirs(cache_dir, exist_ok=True)
            jieba.dt.tmp_dir = cache_dir
        _configured = cache_dir or ""


_loaded = False


def _load() -> None:
    """Load jieba's dictionary (1-2 s, cached in the var dir) and our domain words, once."""
    global _loaded
    import jieba

    with _lock:
        if _loaded:
            return
        jieba.dt.initialize()
        for word in DOMAIN_WORDS:
            jieba.add_word(word, freq=20000)
        _loaded = True


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def _keep(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def words(text: str, *, search: bool = False) -> Iterator[tuple[int, str, int, int]]:
    """Yield ``(position, word, start, end)`` for normalised ``text``.

    With ``search=True`` also sub-words of long words, at their word's position.
    """
    if not _loaded:
        if _configured is None:
            configure()
        _load()
    import jieba

    freq = jieba.dt.FREQ
    pos = 0
    for word, start, end in jieba.dt.tokenize(text, HMM=True):
        if not _keep(word):
            continue
        lowered = word.lower()
        yield pos, lowered, start, end
        n = len(word)
        if search and n > 2:
            for size in (2, 3):
                if size >= n:
                    break
                for i in range(n - size + 1):
                    sub = word[i:i + size]
                    # every 2-gram (jieba's dictionary lacks e.g. 老旧), 3-grams it knows
                    if (size == 2 or freq.get(sub)) and _keep(sub):
                        yield pos, sub.lower(), start + i, start + i + size
        pos += 1


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


def query_terms(text: str) -> list[str]:
    """The words a query string analyses to (for highlighting)."""
    return [w for _, w, _, _ in words(normalize(text))]
