"""Sentences stored as written (Chinese, values filled in) read back in another language.

Some text is written once and kept — a 四性检测 report sealed into a package, the comment the
system gives a step (「立卷归档，档号 …」) — and must never be rewritten.  To show it in the
reader's language, :class:`Sentences` matches a stored sentence against the templates that
wrote it (msgids of the ``duban_archive`` domain with ``{name}`` placeholders), translates
the template and puts the values back; a value that is itself a known sentence is translated
too.  A sentence no template matches is shown as stored, so data is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: ``tr(msgid, mapping) -> text`` in the reader's language
Translate = Callable[[str, Mapping[str, Any]], str]

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    parts, last = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:m.start()]) + f"(?P<{m.group(1)}>.*?)")
        last = m.end()
    return re.compile("^" + "".join(parts) + re.escape(template[last:]) + "$", re.DOTALL)


class Sentences:
    """The templates some code writes; ``wrappers`` (sentences around another one) are tried first."""

    def __init__(self, templates: Iterable[str], wrappers: Iterable[str] = ()) -> None:
        templates, wrappers = tuple(templates), tuple(wrappers)
        self.msgids = frozenset(templates + wrappers)
        self._exact = {t for t in templates if not _PLACEHOLDER.search(t)}
        # the most fixed text first: the most specific template wins
        ordered = sorted((t for t in templates if t not in self._exact),
                         key=lambda t: len(_PLACEHOLDER.sub("", t)), reverse=True)
        self._patterns = [(t, _pattern(t)) for t in (*wrappers, *ordered)]

    def localize(self, text: str, tr: Translate, depth: int = 0) -> str:
        """``text`` in ``tr``'s language; a sentence no template wrote comes back as it is."""
        if not text or depth > 3:
            return text
        if text in self._exact:
            return tr(text, {})
        for template, pattern in self._patterns:
            m = pattern.match(text)
            if m is not None:
                return tr(template, {k: self.localize(v, tr, depth + 1) for k, v in m.groupdict().items()})
        return text
