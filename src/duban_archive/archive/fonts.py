"""The fonts a dossier may use, and the check that every character has one.

The dossier's faces are Noto Serif/Sans CJK SC.  For a character they lack
(👍 ✅ pasted from WeChat, a rare symbol) Pango falls back, through
fontconfig, to another installed outline font that has it — Symbola
(Debian ``fonts-symbola``: monochrome outlines, free for any use, embedding
allowed) draws emoji up to Unicode 9 — and WeasyPrint embeds that font's
subset like the CJK ones.  A character that *no* installed outline font draws
would come out as a tofu box, and an archival record must not carry a glyph
nobody can read: the render fails first with the characters named.  The same
coverage refuses such characters at input (``validation.text_problem``), so a
record that was accepted can always be filed.
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
void hb_set_union (hb_set_t *set, const hb_set_t *other);
void hb_set_destroy (hb_set_t *set);
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


def outline_faces() -> list[tuple[str, int]]:
    """(file, face index) of every installed outline font fontconfig offers, colour fonts aside.

    Pango's fallback for a character the CSS font lacks picks among exactly these; colour
    (bitmap emoji) fonts are left out — their glyphs are pictures, not outlines for PDF/A.
    """
    import subprocess

    out = subprocess.run(["fc-list", "--format", "%{file}|%{index}\n", ":scalable=True:color=False"],
                         capture_output=True, text=True, check=False).stdout
    faces = set()
    for line in out.splitlines():
        path, _, index = line.rpartition("|")
        if path:
            faces.add((path, int(index or 0)))
    return sorted(faces)


class Coverage:
    """Code points some dossier font draws, as a HarfBuzz set (C memory, no Python ints).

    The union of the installed outline fonts' character maps (Noto CJK first: it must be
    there).  fontTools would parse the CJK cmaps into Python objects (~70 MB that the
    process keeps); HarfBuzz reads them from the mapped files in milliseconds.
    """

    def __init__(self) -> None:
        from cffi import FFI

        self.ffi = FFI()
        self.ffi.cdef(_CDEF)
        self.hb = self.ffi.dlopen("libharfbuzz.so.0")
        self.set = self.hb.hb_set_create()
        faces = [font_file(SERIF), font_file(SANS)]
        faces += [f for f in outline_faces() if f not in faces]
        for path, index in faces:
            blob = self.hb.hb_blob_create_from_file(path.encode())
            face = self.hb.hb_face_create(blob, index)
            found = self.hb.hb_set_create()
            self.hb.hb_face_collect_unicodes(face, found)
            self.hb.hb_face_destroy(face)
            self.hb.hb_blob_destroy(blob)
            self.hb.hb_set_union(self.set, found)
            self.hb.hb_set_destroy(found)
        if not self.hb.hb_set_get_population(self.set):  # pragma: no cover - a broken font install
            raise RuntimeError("Noto CJK 字体无法读取")

    def __contains__(self, codepoint: int) -> bool:
        return bool(self.hb.hb_set_has(self.set, codepoint))


@functools.cache
def covered() -> Coverage:
    return Coverage()


#: default-ignorable marks (variation selectors: “✔️” is U+2714 U+FE0F) that no font needs
#: to draw; HarfBuzz hides them.  Control and format characters (C*) are skipped anyway.
_IGNORABLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
              (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))


def _ignorable(cp: int) -> bool:
    return any(a <= cp <= b for a, b in _IGNORABLE)


def missing_glyphs(text: str) -> list[str]:
    """Characters of ``text`` (controls, spaces and variation selectors aside) that no dossier font draws."""
    have = covered()
    out: list[str] = []
    for ch in set(text):
        cp = ord(ch)
        if cp < 0x7F or cp in have or ch.isspace() or unicodedata.category(ch)[0] in ("C", "Z") or _ignorable(cp):
            continue
        out.append(ch)
    return sorted(out)


def check_text(text: str) -> None:
    chars = missing_glyphs(text)
    if chars:
        raise MissingGlyphs(chars)
