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

_CDEF = """
typedef struct hb_blob_t hb_blob_t; typedef struct hb_face_t hb_face_t; typedef struct hb_set_t hb_set_t;
typedef uint32_t hb_codepoint_t; typedef int hb_bool_t;
hb_blob_t *hb_blob_create_from_file (const char *file_name);
void hb_blob_destroy (hb_blob_t *blob);
hb_face_t *hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_set_t *hb_set_create (void);
void hb_set_intersect (hb_set_t *set, const hb_set_t *other);
void hb_face_collect_unicodes (hb_face_t *face, hb_set_t *out);
unsigned int hb_set_get_population (const hb_set_t *set);
hb_bool_t hb_set_has (const hb_set_t *set, hb_codepoint_t codepoint);
"""


class MissingGlyphs(Exception):
    def __init__(self, chars: list[str]) -> None:
        self.chars = chars
        shown = "、".join(f"“{c}”(U+{ord(c):04X})" for c in chars[:10])
        super().__init__(f"以下字符没有可用字体，无法生成档案 PDF：{shown}")


def font_file(family: str) -> tuple[str, int]:
    """The (file, face index) fontconfig — and so WeasyPrint — uses for ``family``."""
    import subprocess

    out = subprocess.run(["fc-match", "-f", "%{file}|%{index}|%{family}", f"{family}:style=Regular"],
                         capture_output=True, text=True, check=False).stdout
    path, _, rest = out.partition("|")
    index, _, families = rest.partition("|")
    if family not in families.split(","):
        raise RuntimeError(f"字体 {family} 未安装（需要 Debian 软件包 fonts-noto-cjk）")
    return path, int(index or 0)


class Coverage:
    """Code points both dossier faces draw, as a HarfBuzz set (C memory, no Python ints).

    fontTools would parse the CJK cmap into Python objects (~70 MB that the
    process keeps); HarfBuzz reads it from the mapped file in milliseconds.
    """

    def __init__(self) -> None:
        from cffi import FFI

        self.ffi = FFI()
        self.ffi.cdef(_CDEF)
        self.hb = self.ffi.dlopen("libharfbuzz.so.0")
        self.set = None
        for family in (SERIF, SANS):
            path, index = font_file(family)
            blob = self.hb.hb_blob_create_from_file(path.encode())
            face = self.hb.hb_face_create(blob, index)
            found = self.hb.hb_set_create()
            self.hb.hb_face_collect_unicodes(face, found)
            self.hb.hb_face_destroy(face)
            self.hb.hb_blob_destroy(blob)
            if self.set is None:
                self.set = found
            else:
                self.hb.hb_set_intersect(self.set, found)
        if not self.hb.hb_set_get_population(self.set):  # pragma: no cover - a broken font install
            raise RuntimeError("Noto CJK 字体无法读取")

    def __contains__(self, codepoint: int) -> bool:
        return bool(self.hb.hb_set_has(self.set, codepoint))


@functools.cache
def covered() -> Coverage:
    return Coverage()


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
