"""The content type registry: declarative type definitions -> colander schemas.

A type definition (``definitions/<name>.toml``) names a stable ``type_name``
(persisted on every object, never a class path), the persistent class it uses
(``kind``: item, feedback, instruction), which boards accept it, and its fields.
Fields compile to colander nodes with deform widgets; the same schema serves
the HTML form and the JSON API, so validation is defined once.  Every node
carries the text policy (``validation.text_node``): no lone surrogates or
control characters (tab/newline only in ``textarea`` fields), no character
without a dossier font, NFC — wherever the schema is used (forms, API,
transitions, corrections, the Excel ledger import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import colander
import deform.widget

from ..definitions import DefinitionError, load_checked
from ..timeutil import today
from ..validation import text_node
from .schema import CLASS_KINDS, FIELD_KINDS, type_schema  # noqa: F401 - FIELD_KINDS: views.api.schemas

#: mainland numbers as callers give them: a mobile (11 digits from 13–19, optionally +86), a landline with its
#: area code (0xx/0xxx, optional separator, 7–8 digits, optional extension) or a local 7–8 digit number
PHONE_RE = re.compile(r"^(?:(?:\+?86)?1[3-9]\d{9}|0\d{2,3}-?[1-9]\d{6,7}(?:-\d{1,6})?|[1-9]\d{6,7})$")
PHONE_MESSAGE = "电话号码格式不正确：请填写 11 位手机号码或带区号的固定电话（如 0557-3041234）"
#: what a phone number may contain besides digits (removed before the check; full-width digits folded)
_PHONE_SEPARATORS = re.compile(r"[\s()（）]")
#: the permission that lets a user see a ``masked`` field in full (workflow permission maps grant it by state)
MASK_PERMISSION = "view_caller_phone"


@dataclass(frozen=True)
class Choice:
    value: str
    title: str
    refused: str | None = None  # message when this value is refused (e.g. 涉密)


@dataclass
class FieldDef:
    name: str
    title: str
    kind: str = "text"
    required: bool = False
    max_length: int | None = None
    description: str = ""
    choices: tuple[Choice, ...] = ()
    default: Any = None
    #: editable after creation (an item's number and dates of record are not)
    editable: bool = True
    #: written only by the system (a transition's hook), never by a form or the API: implies not editable
    system: bool = False
    #: shown in listings / ledger exports
    ledger: bool = True
    #: a date that may not come before this other date field (办结时限 not before 立项日期)
    not_before: str | None = None
    #: no two items of one board with the same value (工单编号、线索编号): see ``content_types.unique``
    unique: bool = False
    #: personal data shown masked (138****5678) to whoever lacks :data:`MASK_PERMISSION` on the item
    masked: bool = False

    def node(self, bound_site: Any = None) -> colander.SchemaNode:
        kw: dict[str, Any] = {"name": self.name, "title": self.title}
        if self.description:
            kw["description"] = self.description
        if not self.required:
            kw["missing"] = self._missing()
        typ, widget, validators = self._compile()
        if widget is not None:
            kw["widget"] = widget
        if validators:
            kw["validator"] = colander.All(*validators) if len(validators) > 1 else validators[0]
        return text_node(colander.SchemaNode(typ, **kw), multiline=self.kind == "textarea")

    def _missing(self) -> Any:
        if self.kind in ("multi_choice", "units"):
            return ()
        if self.kind in ("text", "textarea", "phone", "choice", "unit", "user"):
            return "" if self.default is None else self.default
        return self.default

    def _compile(self) -> tuple[Any, Any, list]:
        v: list = []
        kind = self.kind
        if kind in ("text", "textarea", "user"):
            limit = self.max_length or (5000 if kind == "textarea" else 200)
            v.append(colander.Length(max=limit, max_err=f"不能超过 {limit} 个字符"))
            if self.required:
                v.append(colander.Length(min=1, min_err="必填"))
            widget = (
                deform.widget.TextAreaWidget(rows=5)
                if kind == "textarea"
                else deform.widget.TextInputWidget()
            )
            return StrippedString(), widget, v
        if kind == "phone":
            v.append(phone_validator)
            return StrippedString(), deform.widget.TextInputWidget(attributes={"inputmode": "tel"}), v
        if kind == "int":
            return colander.Int(), deform.widget.TextInputWidget(), v
        if kind == "bool":
            return colander.Boolean(), deform.widget.CheckboxWidget(), v
        if kind == "date":
            return colander.Date(), deform.widget.DateInputWidget(), v
        if kind == "datetime":  # deform's stock "Date" / "Time" labels are in English: ours are 日期 / 时间
            return colander.DateTime(), deform.widget.DateTimeInputWidget(
                template="duban_datetimeinput"), v
        if kind == "choice":
            v.append(ChoiceValidator(self.choices))
            values = [("", "— 请选择 —")] + [(c.value, c.title) for c in self.choices]
            return StrippedString(), deform.widget.SelectWidget(values=values), v
        if kind == "multi_choice":
            v.append(SetOf([c.value for c in self.choices]))
            return colander.Set(), deform.widget.CheckboxChoiceWidget(
                values=[(c.value, c.title) for c in self.choices]
            ), v
        if kind == "unit":
            v.append(unit_validator)
            return StrippedString(), deform.widget.SelectWidget(values=deferred_unit_values), v
        if kind == "units":
            v.append(units_validator)
            return colander.Set(), deform.widget.SelectWidget(
                values=deferred_unit_values, multiple=True
            ), v
        raise AssertionError(kind)  # guarded by the schema


def phone_digits(value: str) -> str:
    """The number without spaces and brackets, full-width digits folded (what :data:`PHONE_RE` checks)."""
    folded = value.translate({0xFF10 + i: 0x30 + i for i in range(10)} | {0xFF0B: 0x2B, 0xFF0D: 0x2D})
    return _PHONE_SEPARATORS.sub("", folded)


def phone_validator(node: colander.SchemaNode, value: str) -> None:
    if not PHONE_RE.match(phone_digits(value)):
        raise colander.Invalid(node, PHONE_MESSAGE)


def mask_phone(value: str | None) -> str:
    """``13812345678`` -> ``138****5678``: the first three and last four digits, the rest starred (a short
    number keeps its first and last two); separators dropped so the length of the mask says nothing more."""
    digits = re.sub(r"\D", "", phone_digits(value or ""))
    if not digits:
        return ""
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return digits[:1] + "*" * max(len(digits) - 3, 1) + digits[-2:]


@dataclass(frozen=True)
class FieldSet:
    """One group of the add/edit form and the item page (``[[fieldsets]]``), with its Chinese legend."""

    title: str
    fields: tuple[str, ...]


#: the legend of the fields a type's fieldsets leave out
OTHER_FIELDSET = "其他信息"


class StrippedString(colander.String):
    """Strings with surrounding whitespace removed; blank counts as missing."""

    def deserialize(self, node, cstruct):
        if isinstance(cstruct, str):
            cstruct = cstruct.strip()
        if cstruct == "" or cstruct is None or cstruct is colander.null:
            return colander.null
        if not isinstance(cstruct, str):
            raise colander.Invalid(node, "应为文本")
        return super().deserialize(node, cstruct)


class ChoiceValidator:
    def __init__(self, choices: tuple[Choice, ...]) -> None:
        self.choices = {c.value: c for c in choices}

    def __call__(self, node: colander.SchemaNode, value: str) -> None:
        choice = self.choices.get(value)
        if choice is None:
            allowed = "、".join(c.title for c in self.choices.values() if not c.refused)
            raise colander.Invalid(node, f"取值无效，可选：{allowed}")
        if choice.refused:
            raise colander.Invalid(node, choice.refused)


class SetOf:
    def __init__(self, allowed: list[str]) -> None:
        self.allowed = set(allowed)

    def __call__(self, node: colander.SchemaNode, value: set) -> None:
        bad = sorted(set(value) - self.allowed)
        if bad:
            raise colander.Invalid(node, f"取值无效：{'、'.join(bad)}")


def _site_units(node: colander.SchemaNode):
    site = node.bindings.get("site") if node.bindings else None
    return site["units"] if site is not None else None


def unit_validator(node: colander.SchemaNode, value: str) -> None:
    units = _site_units(node)
    if units is not None and value not in units:
        raise colander.Invalid(node, f"承办单位“{value}”不存在")


def units_validator(node: colander.SchemaNode, value: set) -> None:
    units = _site_units(node)
    if units is None:
        return
    unknown = sorted(v for v in value if v not in units)
    if unknown:
        raise colander.Invalid(node, f"承办单位不存在：{'、'.join(unknown)}")


@colander.deferred
def deferred_unit_values(node, kw):
    site = kw.get("site")
    if site is None:
        return []
    return [("", "— 请选择 —")] + [(u.__name__, u.title) for u in site["units"].values()]


@dataclass
class TypeDef:
    name: str
    title: str
    kind: str
    fields: list[FieldDef]
    boards: tuple[str, ...] = ("*",)
    source: str = ""
    #: ``module:function`` checked before an item of this type is created (may raise Refusal)
    before_create: str | None = None
    #: repeat-complaint switches (``[repeat]``: ``match`` fields, ``states`` of the earlier item)
    repeat: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: form groups in order (``[[fieldsets]]``); none: one group of every field in definition order
    fieldsets: tuple[FieldSet, ...] = ()
    field_map: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.field_map = {f.name: f for f in self.fields}
        if self.fieldsets:  # the board's order everywhere: form, item page, API, exports
            order = [n for fs in self.fieldsets for n in fs.fields]
            rank = {n: i for i, n in enumerate(order)}
            self.fields = sorted(self.fields, key=lambda f: rank.get(f.name, len(order)))

    def groups(self, names: list[str] | None = None) -> list[tuple[str, list[str]]]:
        """``[(legend, [field names])]`` in form order, limited to ``names`` (the fields a form shows);
        fields no fieldset names follow under 「其他信息」; empty groups are left out."""
        wanted = [f.name for f in self.fields] if names is None else list(names)
        out: list[tuple[str, list[str]]] = []
        placed: set[str] = set()
        for fs in self.fieldsets:
            members = [n for n in fs.fields if n in wanted]
            placed.update(members)
            if members:
                out.append((fs.title, members))
        rest = [n for n in wanted if n not in placed]
        if rest:
            out.append((OTHER_FIELDSET if out else "", rest))
        return out

    @property
    def unique_fields(self) -> list[FieldDef]:
        return [f for f in self.fields if f.unique]

    def allowed_in(self, board_id: str) -> bool:
        return "*" in self.boards or board_id in self.boards

    def schema(self, mode: str = "add", site: Any = None, request: Any = None,
               only: set[str] | None = None, context: Any = None,
               registered_today: bool = True) -> colander.SchemaNode:
        """Schema for ``mode`` 'add' (all fields) or 'edit' (editable fields).

        ``only`` limits the schema to the named fields (PATCH semantics); ``context`` is the
        record being edited, whose stored values count where the input leaves a field out.
        ``registered_today=False`` (importing an old 台账, whose rows may lack 立项日期) does not
        take an absent date to mean today.
        """
        schema = colander.SchemaNode(colander.Mapping(unknown="raise"), name=self.name,
                                     validator=self._date_order(context, registered_today))
        for f in self.fields:
            if (mode == "edit" and not f.editable) or f.system:
                continue
            if only is not None and f.name not in only:
                continue
            node = f.node()
            if only is not None:  # PATCH: a present field must be valid, absent is fine
                node.missing = colander.drop if f.required else node.missing
            schema.add(node)
        return schema.bind(site=site, request=request)

    def _date_order(self, context: Any, registered_today: bool):
        """``not_before`` rules: a deadline before the registration date makes an item overdue at birth."""
        rules = [(f, f.not_before) for f in self.fields if f.not_before]

        def check(node: colander.SchemaNode, appstruct: dict[str, Any]) -> None:
            problem = colander.Invalid(node)
            for f, before in rules:
                value = appstruct.get(f.name)
                if f.name not in node or value in (None, colander.null):
                    continue
                if before in appstruct:
                    earliest = appstruct.get(before)
                else:
                    earliest = getattr(context, before, None)
                if earliest in (None, colander.null) and context is None and registered_today:
                    earliest = today()  # 立项日期 left empty: the add operation fills in today
                if earliest in (None, colander.null) or _day(value) >= _day(earliest):
                    continue
                other = self.field_map[before].title
                problem[f.name] = f"{f.title}不能早于{other}（{_day(earliest).isoformat()}）"
            if problem.children:
                raise problem

        return check

    def defaults(self) -> dict[str, Any]:
        return {f.name: f._missing() for f in self.fields}


class TypeRegistry:
    """All content types known to this site, keyed by stable type name."""

    def __init__(self) -> None:
        self.types: dict[str, TypeDef] = {}

    def __getitem__(self, name: str) -> TypeDef:
        return self.types[name]

    def get(self, name: str) -> TypeDef | None:
        return self.types.get(name)

    def __iter__(self):
        return iter(self.types.values())

    def of_kind(self, kind: str) -> list[TypeDef]:
        return [t for t in self.types.values() if t.kind == kind]

    def load(self, profile_dir: str | Path | None = None) -> TypeRegistry:
        """Shipped type definitions and the profile's ``definitions/``; every file is checked
        against :func:`.schema.type_schema` first (all problems raised together)."""
        raw = load_checked("duban_archive.content_types", "definitions", profile_dir, type_schema)
        # resolve ``extends`` in file order, parents first
        pending = dict(raw)
        while pending:
            progressed = False
            for stem, (source, data) in list(pending.items()):
                parent = data["type"].get("extends")
                if parent and parent not in self.types:
                    if not any(d["type"]["name"] == parent for _, d in pending.values()):
                        raise DefinitionError(source, f"type.extends: 指向未知类型 '{parent}'")
                    continue
                typedef = self._compile(source, data)
                if typedef.name in self.types and not data["type"].get("override"):
                    prior = self.types[typedef.name].source
                    if prior != source:
                        raise DefinitionError(source, f"type.name: 类型 '{typedef.name}' 与 {prior} 重名")
                self.types[typedef.name] = typedef
                del pending[stem]
                progressed = True
            if not progressed:
                source = next(iter(pending.values()))[0]
                raise DefinitionError(source, "type.extends: 存在循环引用")
        return self

    def _compile(self, source: str, data: dict[str, Any]) -> TypeDef:
        """A type from a file the schema accepted (references to other types and vocabularies checked here)."""
        head = data["type"]
        parent = head.get("extends")
        base = self.types[parent] if parent else None
        kind = head.get("kind", base.kind if base else None)
        if kind is None:
            raise DefinitionError(source, f"type.kind: 缺少必填键（可选：{', '.join(sorted(CLASS_KINDS))}）")
        vocab = data.get("vocabularies", {})
        fields = list(base.fields) if base else []
        for i, fdata in enumerate(data.get("fields", [])):
            fdef = self._field(source, fdata, vocab, f"fields[{i}]")
            fields = [f for f in fields if f.name != fdef.name] + [fdef]
        if not fields:
            raise DefinitionError(source, "fields: 类型没有任何字段")
        kinds = {f.name: f.kind for f in fields}
        for f in fields:
            if f.not_before and kinds.get(f.not_before) not in ("date", "datetime"):
                raise DefinitionError(source, f"fields({f.name}).not_before: '{f.not_before}' 不是本类型的日期字段")
        fieldsets = self._fieldsets(source, data.get("fieldsets"), fields, base)
        boards = tuple(head.get("boards", base.boards if base else ("*",)))
        repeat = {k: tuple(v) for k, v in (data.get("repeat") or {}).items()}
        return TypeDef(name=head["name"], title=head["title"], kind=kind, fields=fields, boards=boards,
                       source=source, before_create=head.get("before_create", base.before_create if base else None),
                       repeat=repeat or (dict(base.repeat) if base else {}), fieldsets=fieldsets)

    @staticmethod
    def _fieldsets(source: str, raw: list[dict] | None, fields: list[FieldDef],
                   base: TypeDef | None) -> tuple[FieldSet, ...]:
        """A type's ``[[fieldsets]]`` (a type without them keeps its parent's): each names fields of the
        type, none twice (a system field is shown on the item page, in no form).  A name that is no field
        of the type is refused — except in a type that extends another: a site profile may redefine the
        parent without a field the child's groups name (the group then just lacks it)."""
        if raw is None:
            return base.fieldsets if base else ()
        known = {f.name: f for f in fields}
        seen: dict[str, str] = {}
        out = []
        for i, fs in enumerate(raw):
            for name in fs["fields"]:
                where = f"fieldsets[{i}]({fs['title']}).fields"
                if name not in known and base is None:
                    raise DefinitionError(source, f"{where}: '{name}' 不是本类型的字段")
                if name in seen:
                    raise DefinitionError(source, f"{where}: '{name}' 已在「{seen[name]}」中")
                seen[name] = fs["title"]
            out.append(FieldSet(fs["title"], tuple(n for n in fs["fields"] if n in known)))
        return tuple(out)

    def _field(self, source: str, fdata: dict, vocab: dict, where: str) -> FieldDef:
        """A field from a ``[[fields]]`` entry the schema accepted (:func:`.schema.field_schema`)."""
        kind = fdata.get("kind", "text")
        choices: list[Choice] = []
        if kind in ("choice", "multi_choice"):
            vname = fdata["vocabulary"]
            if vname not in vocab:
                raise DefinitionError(source, f"{where}({fdata['name']}).vocabulary: 指向未定义的词表 '{vname}'"
                                              f"（已定义：{', '.join(sorted(vocab)) or '无'}）")
            choices = [Choice(c["value"], c["title"], c.get("refused")) for c in vocab[vname]]
        default = fdata.get("default")
        if default == "today" and kind == "date":
            default = colander.null  # filled in by the add operation
        return FieldDef(
            name=fdata["name"],
            title=fdata["title"],
            kind=kind,
            required=bool(fdata.get("required", False)),
            max_length=fdata.get("max_length"),
            description=fdata.get("description", ""),
            choices=tuple(choices),
            default=default,
            editable=bool(fdata.get("editable", True)) and not fdata.get("system", False),
            system=bool(fdata.get("system", False)),
            ledger=bool(fdata.get("ledger", True)),
            not_before=fdata.get("not_before"),
            unique=bool(fdata.get("unique", False)),
            masked=bool(fdata.get("masked", False)),
        )


def to_json_value(value: Any) -> Any:
    """Field value as JSON (dates ISO, sets sorted lists)."""
    if isinstance(value, datetime | date):
        from ..timeutil import isoformat

        return isoformat(value)
    if isinstance(value, set | frozenset | tuple | list):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return value


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else value
