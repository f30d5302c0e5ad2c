"""One entry point for validating input against a colander schema — and the text policy.

Used by forms, the JSON API and transitions alike, so every refusal has the
same shape: a Chinese message per field, and nothing applied.

Text policy (issue 12): every text value that crosses the boundary (form
field, JSON string, Excel ledger cell, search query) is refused when it holds
a lone UTF-16 surrogate, a C0/C1 control character (tab, newline and carriage
return only in multi-line fields) or a Unicode noncharacter, and — for text a
record keeps — a character no installed dossier font draws (the renderer's own
coverage, :mod:`duban_archive.archive.fonts`).  Accepted text is stored in NFC.
One colander hook (:func:`text_node`) carries the policy; the type registry puts
it on every field it compiles, and :func:`validate` and
``views.forms.make_form`` put it on every other text node they are given.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import colander

from .errors import Refusal
from .i18n import DEFAULT_LOCALE, invalid_as_dict, required_messages

log = logging.getLogger(__name__)


class ValidationFailed(Refusal):
    """Invalid input (400), field by field: the shared :class:`~duban_archive.errors.Refusal`."""

    def __init__(self, fields: dict[str, str], message: str = "提交的内容有误，请按提示修改") -> None:
        super().__init__(message, fields, status=400)


def validate(schema: colander.SchemaNode, data: Any, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
    """Deserialize ``data``; unknown keys and invalid values are reported together.

    Every text node is held to the text policy (nodes the registry compiled carry
    their own settings; others are single-line unless their widget is a textarea).
    """
    if not isinstance(data, dict):
        raise ValidationFailed({"_": "请求体应为 JSON 对象"})
    known = {child.name for child in schema.children}
    errors = {k: "不允许的字段（未知字段）" for k in data if k not in known}
    tolerant = required_messages(apply_text_policy(schema.clone(), glyphs=False))
    tolerant.typ = colander.Mapping(unknown="ignore")
    try:
        appstruct = tolerant.deserialize({k: v for k, v in data.items() if k in known})
    except colander.Invalid as exc:
        errors.update(invalid_as_dict(exc, locale))
        appstruct = None
    if errors:
        raise ValidationFailed(errors)
    return appstruct


# -- the text policy ---------------------------------------------------------------------------

#: whitespace controls a multi-line field keeps (browsers send textareas with CR LF)
LINE_CONTROLS = "\t\n\r"


def _class(ranges: Iterable[tuple[int, int]]) -> str:
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_NONCHARACTERS = [(0xFDD0, 0xFDEF)] + [(p + 0xFFFE, p + 0xFFFF) for p in range(0, 0x110000, 0x10000)]
_CONTROLS = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F)]
#: what no text field may hold (tab, LF and CR aside); single-line fields refuse those three too
_REFUSED_MULTILINE = re.compile(f"[{_class(_CONTROLS + [(0xD800, 0xDFFF)] + _NONCHARACTERS)}]")
_REFUSED_LINE = re.compile(f"[{_class(_CONTROLS + [(0x09, 0x0A), (0x0D, 0x0D), (0xD800, 0xDFFF)] + _NONCHARACTERS)}]")


def _describe(ch: str) -> str:
    cp = ord(ch)
    if 0xD800 <= cp <= 0xDFFF:
        return f"含有无效的字符编码（孤立的代理项 U+{cp:04X}，多为表情符号复制不完整），请删除后重新提交"
    if ch in LINE_CONTROLS:
        name = {"\t": "制表符", "\n": "换行", "\r": "回车"}[ch]
        return f"此栏只能填写一行，不能含有{name}（U+{cp:04X}），请删除后重新提交"
    if cp <= 0x1F or 0x7F <= cp <= 0x9F:
        return f"含有不允许的控制字符（U+{cp:04X}），请删除后重新提交"
    return f"含有无效的字符（U+{cp:04X}，非字符码位），请删除后重新提交"


def text_problem(text: str, *, multiline: bool = False, glyphs: bool = True) -> str | None:
    """What is wrong with ``text`` under the text policy, in Chinese; ``None`` when it may be kept.

    ``glyphs``: also refuse characters that no dossier font draws (text a record keeps and prints).
    """
    bad = (_REFUSED_MULTILINE if multiline else _REFUSED_LINE).search(text)
    if bad is not None:
        return _describe(bad.group())
    if glyphs and not text.isascii():
        from .archive.fonts import missing_glyphs

        try:
            missing = missing_glyphs(text)
        except (OSError, RuntimeError) as exc:  # no Noto CJK here: nothing can be filed; still take input
            log.warning("text policy: font coverage unavailable (%s); characters not checked", exc)
            missing = []
        if missing:
            shown = "、".join(f"“{c}”(U+{ord(c):04X})" for c in missing[:10])
            more = f" 等 {len(missing)} 个" if len(missing) > 10 else ""
            return f"以下字符没有可用字体，无法打印归档：{shown}{more}，请删除或改用文字说明后重新提交"
    return None


def normalize_text(text: str) -> str:
    """Accepted text as it is stored: Unicode NFC (a decomposed “é” becomes one character)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def clean_text(text: str, *, multiline: bool = False) -> str:
    """``text`` repaired under the policy: refused characters removed, NFC (for data already stored)."""
    pattern = _REFUSED_MULTILINE if multiline else _REFUSED_LINE
    if not multiline:  # a line break in a one-line field becomes a space, tabs too
        text = re.sub(r"[\t\r\n]+", " ", text)
    return normalize_text(pattern.sub("", text))


def visible_text(text: str) -> str:
    """``text`` for a message: each refused character shown as ``<U+0007>``."""
    return _REFUSED_LINE.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, set | frozenset | tuple | list):
        for v in value:
            if isinstance(v, str):
                yield v


class _Normalize:
    """colander preparer: NFC for text (and text inside sets, tuples, lists), then the node's own."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            value = normalize_text(value)
        elif isinstance(value, set | frozenset | tuple | list) and any(isinstance(v, str) for v in value):
            value = type(value)(normalize_text(v) if isinstance(v, str) else v for v in value)
        inner = self.inner
        if callable(inner):
            value = inner(value)
        elif inner is not None:
            for prep in inner:
                value = prep(value)
        return value


class TextCheck:
    """colander validator: the text policy first (one clear message), then the node's own validator."""

    def __init__(self, inner: Any = None, *, multiline: bool = False, glyphs: bool = True) -> None:
        self.inner = inner
        self.multiline = multiline
        self.glyphs = glyphs

    def __call__(self, node: colander.SchemaNode, value: Any) -> None:
        for text in _texts(value):
            problem = text_problem(text, multiline=self.multiline, glyphs=self.glyphs)
            if problem:
                raise colander.Invalid(node, problem)
        if self.inner is not None:
            self.inner(node, value)


def _is_textarea(node: colander.SchemaNode) -> bool:
    if getattr(node, "multiline", False):
        return True
    widget = getattr(node, "widget", None)
    if widget is None:
        return False
    from deform.widget import TextAreaWidget

    return isinstance(widget, TextAreaWidget)


def _is_secret(node: colander.SchemaNode) -> bool:
    """Passwords are compared byte for byte later: checked, never normalised."""
    widget = getattr(node, "widget", None)
    return widget is not None and type(widget).__name__ in ("PasswordWidget", "CheckedPasswordWidget")


def text_node(node: colander.SchemaNode, *, multiline: bool | None = None, glyphs: bool = True) -> colander.SchemaNode:
    """Put the text policy on one leaf ``node`` (in place; returns it).  Idempotent.

    ``multiline``: tab and newline allowed (default: the node's widget is a textarea);
    ``glyphs``: characters without a dossier font refused (text a record keeps).
    """
    if getattr(node, "text_policy", None) is not None:
        return node
    multiline = _is_textarea(node) if multiline is None else multiline
    node.text_policy = {"multiline": multiline, "glyphs": glyphs}
    if not _is_secret(node):
        node.preparer = _Normalize(node.preparer)
    inner = node.validator
    if isinstance(inner, colander.deferred):  # unbound: wrap what binding will produce
        node.validator = colander.deferred(
            lambda n, kw: TextCheck(inner(n, kw), multiline=multiline, glyphs=glyphs))
    else:
        node.validator = TextCheck(inner, multiline=multiline, glyphs=glyphs)
    return node


def apply_text_policy(schema: colander.SchemaNode, *, glyphs: bool = True) -> colander.SchemaNode:
    """The policy on every leaf of ``schema`` (in place — give it a clone; returns it).

    Nodes that already carry it (every field the type registry compiles) keep their own settings.
    """
    for child in schema.children:
        if child.children:
            apply_text_policy(child, glyphs=glyphs)
        else:
            text_node(child, glyphs=glyphs)
    return schema


def check_json_text(data: Any) -> None:
    """Refuse a JSON value holding a lone surrogate, a control character or a noncharacter anywhere.

    The net under every JSON body (``views.api.util.json_value``): fields that no schema
    validates are covered too.  Tab and newline pass here; single-line fields refuse them later.
    Raises :class:`ValidationFailed` naming each field (``key``, ``key.sub``, ``0.key``).
    """
    errors: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(data, "")]  # iterative: a deeply nested body is no RecursionError
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            bad = _REFUSED_MULTILINE.search(value)
            if bad is not None:
                errors.setdefault(path or "_", _describe(bad.group()))
        elif isinstance(value, dict):
            for k, v in value.items():
                sub = f"{path}.{k}" if path else str(k)
                if _REFUSED_MULTILINE.search(sub):
                    errors[_REFUSED_MULTILINE.sub("\ufffd", sub)] = "字段名含有无效字符"
                else:
                    stack.append((v, sub))
        elif isinstance(value, list):
            stack.extend((v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value))
    if errors:
        raise ValidationFailed(errors)
