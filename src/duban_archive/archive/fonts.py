"""The fonts a dossier may use, and the check that every character has one.

WeasyPrint would silently fall back to another system font (or draw a tofu
box) for a character Noto CJK lacks; an archival record must not carry a
glyph nobody can read, so the render fails first with the characters named.
"""

from __future__ import annotations

import functools
import unicodedata

SERIF = "Noto Serif CJK SC"
SANS = "Noto Sans CJK SC"
FONT_FILES = {
    SERIF: "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    SANS: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
}


class MissingGlyphs(Exception):
    def __init__(self, chars: list[str]) -> None:
        self.chars = chars
        shown = "、".join(f"“{c}”(U+{ord(c):04X})" for c in chars[:10])
        super().__init__(f"以下字符没有可用字体，无法生成档案 PDF：{shown}")


@functools.cache
def covered() -> frozenset[int]:
    """Code points that both Noto CJK SC faces (serif body, sans headings) draw."""
    from fontTools.ttLib import TTCollection

    sets = []
    for family, path in FONT_FILES.items():
        coll = TTCollection(path, lazy=True)
        for font in coll.fonts:
            if font["name"].getDebugName(1) == family:
                sets.append(set(font["cmap"].getBestCmap()))
                break
        else:  # pragma: no cover - a broken font install
            raise RuntimeError(f"字体 {family} 未安装（需要 fonts-noto-cjk）")
    return frozenset(set.intersection(*sets))


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` (controls and spaces aside) that no dossier font draws."""
    have = covered()
    out: list[str] = []
    for ch in set(text):
        if ord(ch) in have or ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z"):
            continue
        out.append(ch)
    return sorted(out)


def check_text(text: str) -> None:
    chars = missing_glyphs(text)
    if chars:
        raise MissingGlyphs(chars)
