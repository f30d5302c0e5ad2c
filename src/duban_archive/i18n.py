"""Chinese by default: translation domains, locale negotiation, colander errors.

colander and deform ship ``zh_Hans`` catalogs; browsers send ``zh-CN`` or
``zh``, so every Chinese variant maps to ``zh_Hans``.  English (``en``) is
an explicit choice (``?_LOCALE_=en`` or the language switch, kept in a cookie).
"""

from __future__ import annotations

import os
from importlib import resources

import colander
from pyramid.i18n import TranslationString, TranslationStringFactory, make_localizer

_ = TranslationStringFactory("duban_archive")

DEFAULT_LOCALE = "zh_Hans"
AVAILABLE = ("zh_Hans", "en")


def locale_dirs() -> list[str]:
    import deform

    return [
        str(resources.files("duban_archive").joinpath("locale")),
        os.path.join(os.path.dirname(colander.__file__), "locale"),
        os.path.join(os.path.dirname(deform.__file__), "locale"),
    ]


def normalize(tag: str | None) -> str | None:
    if not tag:
        return None
    tag = tag.replace("-", "_").strip()
    low = tag.lower()
    if low.startswith("zh"):
        return "zh_Hans"
    if low.startswith("en"):
        return "en"
    return None


def locale_negotiator(request) -> str:
    try:
        chosen = normalize(request.GET.get("_LOCALE_")) if request.method == "GET" else None
    except UnicodeDecodeError:  # a query string that is not UTF-8 gets its 400 page in the default language
        chosen = None
    if chosen is None:
        chosen = normalize(request.cookies.get("_LOCALE_"))
    # The browser's Accept-Language is not consulted: an office PC with an
    # English system must still show the Chinese UI; English is an explicit choice.
    return chosen or DEFAULT_LOCALE


_localizers: dict[str, object] = {}


def localizer(locale: str = DEFAULT_LOCALE):
    loc = _localizers.get(locale)
    if loc is None:
        loc = _localizers[locale] = make_localizer(locale, locale_dirs())
    return loc


def translate_deep(loc, term):
    """Translate ``term`` and the translation strings in its mapping first: 「请填写${title}」
    carries the field's title as a msgid, which must come out in the same language."""
    mapping = getattr(term, "mapping", None)
    if isinstance(term, TranslationString) and mapping:
        inner = {k: loc.translate(v) if isinstance(v, TranslationString) else v for k, v in mapping.items()}
        term = TranslationString(term, domain=term.domain, default=term.default, mapping=inner)
    return loc.translate(term)


def invalid_as_dict(exc: colander.Invalid, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """colander errors as ``{field: 中文说明}``; the mapping prefix is dropped."""
    loc = localizer(locale)
    out: dict[str, str] = {}
    for path, msg in exc.asdict(translate=lambda term: translate_deep(loc, term)).items():
        name = path.split(".", 1)[1] if "." in path else path
        out[name or "_"] = msg
    return out


#: widgets and types where people pick rather than type
_PICKED = ("Select", "Radio", "Checkbox", "Date", "DateTime", "Set", "Boolean")


def required_messages(schema: colander.SchemaNode) -> colander.SchemaNode:
    """Give every required node the message 「请填写<名称>」 (「请选择…」 for pickers), in place.

    colander's stock message is a bare 「必需」 that does not say which field, which is
    no help in an API answer and little in a long form.
    """
    for node in schema.children:
        if node.required and str(getattr(node, "missing_msg", "")) == "Required":
            kind = f"{type(node.typ).__name__} {type(getattr(node, 'widget', None)).__name__}"
            msgid = "请选择${title}" if any(p in kind for p in _PICKED) else "请填写${title}"
            title = node.title if str(node.title or "").strip() else node.name
            if not isinstance(title, TranslationString):  # the field's name in the reader's language too
                title = _(title)
            node.missing_msg = _(msgid, mapping={"title": title})
        required_messages(node)
    return schema


def includeme(config) -> None:
    config.add_translation_dirs(*reversed(locale_dirs()))
    config.set_locale_negotiator(locale_negotiator)
