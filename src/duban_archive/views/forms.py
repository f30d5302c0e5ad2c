"""deform forms built from the type registry, translated per request.

deform renders with its own Chameleon templates (Bootstrap 5 markup in
deform 3); the renderer translates colander/deform messages and our field
titles with the *current request's* localizer, so errors come out in Chinese
(``zh_Hans``) or English.  Every form carries the session's ``csrf_token``
(Pyramid checks it before the view runs), and every text field the text policy
(``validation.apply_text_policy``: no control characters or lone surrogates,
no character without a dossier font, NFC) — the type registry's fields have it
already, the others (admin, archive forms) get it here.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import colander
import deform
from pyramid.i18n import TranslationString
from pyramid.threadlocal import get_current_request

from ..errors import Refusal
from ..i18n import required_messages, translate_deep
from ..validation import apply_text_policy
from .layout import DOMAIN, translate

#: deform's stock words its ``zh_Hans`` catalog leaves in English (or gets wrong): our Chinese for them
STOCK_ZH = {
    "Date": "日期", "Time": "时间", "True": "是", "False": "否", "Incomplete time": "时间不完整",
    "Incomplete date": "日期不完整", "${value} is not a dictionary": "${value} 不是映射",
    "Yo ${subitem_title}": "${subitem_title}", "Add ${subitem_title}": "添加${subitem_title}",
}


def _translator(term: Any) -> str:
    request = get_current_request()
    if request is None:
        from ..i18n import localizer

        loc = localizer()
    else:
        loc = request.localizer
    text = translate_deep(loc, term)
    if (isinstance(term, TranslationString) and term.domain == "deform" and text == str(term.interpolate())
            and str(term) in STOCK_ZH and str(loc.locale_name).startswith("zh")):
        return TranslationString(STOCK_ZH[str(term)], mapping=term.mapping).interpolate()
    return text


#: our templates (``views/templates/deform``: the grouped form, Chinese date/time labels) before deform's
RENDERER = deform.ZPTRendererFactory(
    (os.path.join(os.path.dirname(__file__), "templates", "deform"),
     os.path.join(os.path.dirname(deform.__file__), "templates")), translator=_translator
)


def configure_deform() -> None:
    """Forms created anywhere in the app translate through the request localizer."""
    deform.Form.set_default_renderer(RENDERER)


def _resolve_widget_values(node: colander.SchemaNode) -> None:
    """colander's ``bind`` resolves deferred node attributes, not widget attributes:
    resolve deferred ``widget.values`` (unit choices) against the bindings here."""
    for child in node.children:
        widget = getattr(child, "widget", None)
        values = getattr(widget, "values", None)
        if widget is not None and isinstance(values, colander.deferred):
            widget = copy.copy(widget)
            widget.values = values(child, child.bindings or {})
            child.widget = widget
        _resolve_widget_values(child)


def _localize_titles(node: colander.SchemaNode) -> None:
    for child in node.children:
        if isinstance(child.title, str) and not isinstance(child.title, TranslationString):
            child.title = TranslationString(child.title, domain=DOMAIN)
        if isinstance(child.description, str) and child.description:
            child.description = TranslationString(child.description, domain=DOMAIN)
        values = getattr(child.widget, "values", None)
        if isinstance(values, (list, tuple)) and all(isinstance(v, tuple) and len(v) == 2 for v in values):
            # choice labels (roles, kinds) are msgids too; a copy, since schema classes share their widgets
            child.widget = copy.copy(child.widget)
            child.widget.values = [(v, TranslationString(label, domain=DOMAIN) if isinstance(label, str) else label)
                                   for v, label in values]
        _localize_titles(child)


def _mark_required(field: deform.Field) -> None:
    """A red * after the label of every required field, whatever its widget (CSS ``.required``)."""
    for child in field.children:
        if child.required:
            widget = copy.copy(child.widget)  # deform may share a default widget instance
            widget.item_css_class = " ".join(filter(None, [getattr(widget, "item_css_class", None), "required"]))
            child.widget = widget
        _mark_required(child)


def make_form(request, schema: colander.SchemaNode, button: str = "保存", formid: str = "deform",
              action: str = "", groups: list[tuple[str, list[str]]] | None = None) -> deform.Form:
    """A deform form for ``schema`` (already bound) with a CSRF field and one submit button.

    ``groups`` (``TypeDef.groups(...)``: ``[(legend, [field names])]``) renders the fields as fieldsets with
    their Chinese legends, in that order; fields of the schema no group names come first.
    """
    schema = apply_text_policy(schema.clone())
    schema.title = ""  # the page has its own heading; no "Feedback Report" legend
    _resolve_widget_values(schema)
    _localize_titles(schema)
    required_messages(schema)
    schema.add(colander.SchemaNode(
        colander.String(), name="csrf_token", widget=deform.widget.HiddenWidget(),
        default=request.session.get_csrf_token(), missing=""))
    title = request.localizer.translate(TranslationString(button, domain=DOMAIN))
    form = deform.Form(schema, buttons=(deform.Button("submit", title),), formid=formid,
                       action=action, renderer=RENDERER)
    widget = copy.copy(form.widget)
    widget.template = "duban_form"
    names = {child.name for child in schema.children}
    widget.groups = [(request.localizer.translate(TranslationString(legend, domain=DOMAIN)) if legend else "",
                      [n for n in members if n in names]) for legend, members in groups or ()]
    widget.groups = [g for g in widget.groups if g[1]]
    widget.grouped = {n for _, members in widget.groups for n in members}
    form.widget = widget
    _mark_required(form)
    return form


def type_form(request, typedef, schema: colander.SchemaNode, **kw: Any) -> deform.Form:
    """:func:`make_form` for a content type's schema, grouped by the type's fieldsets."""
    return make_form(request, schema, groups=typedef.groups([c.name for c in schema.children]), **kw)


def validate(form: deform.Form, request) -> dict[str, Any]:
    """Validate the POST; returns the appstruct without the CSRF token.

    Raises :class:`deform.ValidationFailure` (render it to re-show the input).
    """
    appstruct = form.validate(list(request.POST.items()))
    appstruct.pop("csrf_token", None)
    return appstruct


def validated(form: deform.Form, request, page: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """``(appstruct, None)`` for valid input, else ``(None, page)``: ``page`` with the form
    re-rendered, the input kept and each field's error beside it, status 400.

    The view returns that page as it is and writes nothing::

        appstruct, invalid = validated(form, request, page)
        if invalid is not None:
            return invalid
    """
    try:
        return validate(form, request), None
    except deform.ValidationFailure as failure:
        request.response.status = 400
        return None, {**page, "form": failure.render()}


def refused(form: deform.Form, request, page: dict[str, Any], exc: Refusal,
            appstruct: dict[str, Any]) -> dict[str, Any]:
    """``page`` for a :class:`Refusal` of the operation behind a valid form (``appstruct``): the typed
    input kept, the refusal's ``fields`` under their inputs, its message on top (``form_error``), its
    status; the transaction doomed (nothing of the request is kept)."""
    request.tm.doom()
    request.response.status = exc.status
    invalid = colander.Invalid(form.schema, "")
    for name, msg in exc.fields.items():
        if name in form.schema:
            invalid[name] = translate(request, msg)
    if invalid.children:
        form.widget.handle_error(form, invalid)
    return {**page, "form": form.render(appstruct), "form_error": translate(request, exc.message)}


def resources(request, *forms: deform.Form) -> dict[str, list[str]]:
    """URLs of the JS/CSS the forms' widgets need (``/deform_static/...``)."""
    js: list[str] = []
    css: list[str] = []
    for form in forms:
        res = form.get_widget_resources()
        js += [p for p in res["js"] if p not in js]
        css += [p for p in res["css"] if p not in css]
    return {"js": [request.static_url(_asset(p)) for p in js],
            "css": [request.static_url(_asset(p)) for p in css]}


def _asset(path: str) -> str:
    return path if ":" in path else f"deform:static/{path}"


def as_cstruct_values(item: Any, schema: colander.SchemaNode) -> dict[str, Any]:
    """The item's current values for an edit form (``None`` -> ``colander.null``)."""
    out: dict[str, Any] = {}
    for node in schema.children:
        value = getattr(item, node.name, None)
        if value is None:
            value = colander.null
        elif isinstance(node.typ, colander.Set):
            value = set(value)
        out[node.name] = value
    return out
