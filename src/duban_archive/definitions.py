"""Loading declarative definition files (TOML) from the package and a site profile — and refusing bad ones.

Localities differ, so content types, workflows, rules and retention tables are
data.  Each kind of definition lives in a folder of ``*.toml`` files inside a
subpackage; a site profile directory (``duban.profile_dir`` in the ini file)
holds a folder whose files override (same file name) or add to the shipped ones:

=================  ==============================================  ===========================
kind               shipped                                         site profile
=================  ==============================================  ===========================
types              ``content_types/definitions/*.toml``            ``definitions/``
boards             ``content_types/boards/*.toml``                 ``boards/``
workflows          ``workflows/definitions/*.toml``                ``workflows/``
reminder rules     ``notifications/rules/*.toml``                  ``rules/``
scoring rules      ``scoring/rules/*.toml``                        ``scoring/rules/``
grading            ``scoring/definitions/grading.toml``            ``scoring/definitions/``
retention          ``archive/rules/retention.toml``                ``archive/rules/``
=================  ==============================================  ===========================

(The last three once shared ``rules/`` and ``definitions/`` with other kinds, so a
profile file there was read as every kind at once and start-up failed.)

Every file is checked against a colander schema (:func:`check`) before it is
compiled: unknown keys are refused at every depth — tables, arrays of tables,
inline tables — with the key's path, the keys allowed there and, when one is
close, a "did you mean"; types, required keys and enumerations are checked in
the same pass, and every problem of every file is reported, not only the first.
The schemas live beside what they describe (``<subpackage>/schema.py``) and are
built from the nodes below.  ``duban-archive check-definitions`` runs the same
checks without starting the site.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any

import colander

Loaded = dict[str, tuple[str, dict[str, Any]]]


class DefinitionError(Exception):
    """Definition files are malformed; the message names each file and key path (one problem a line)."""

    def __init__(self, source: str, message: str = "", problems: Iterable[tuple[str, str]] = ()) -> None:
        self.problems: list[tuple[str, str]] = list(problems) or [(source, message)]
        super().__init__("\n".join(f"{s}: {m}" for s, m in self.problems))
        self.source = self.problems[0][0]

    @property
    def lines(self) -> list[str]:
        return [f"{s}: {m}" for s, m in self.problems]


def load_definitions(package: str, folder: str, profile_dir: str | Path | None = None,
                     profile_folder: str | None = None) -> Loaded:
    """Return ``{file stem: (source path, parsed TOML)}``; profile files win.

    ``profile_folder``: where in the profile this kind lives (default: ``folder``).
    """
    return {stem: (source, _parse(source, read()))
            for stem, source, read in _files(package, folder, profile_dir, profile_folder)}


#: a profile file of another kind in a folder: its tell-tale top-level key -> where it belongs
#: (scoring rules, grading and retention once shared ``rules/`` and ``definitions/``)
MISPLACED = {
    "grades": "这是评价定义 (grading.toml)：应放在站点配置目录的 scoring/definitions/",
    "retention": "这是保管期限表 (retention.toml)：应放在站点配置目录的 archive/rules/",
    "archive": "这是保管期限表 (retention.toml)：应放在站点配置目录的 archive/rules/",
    "method": "这是计分规则：应放在站点配置目录的 scoring/rules/",
    "ruleset": "这是提醒规则：应放在站点配置目录的 rules/",
    "type": "这是内容类型定义：应放在站点配置目录的 definitions/",
    "boards": "这是版块定义：应放在站点配置目录的 boards/",
    "workflow": "这是流程定义：应放在站点配置目录的 workflows/",
}


def _misplaced(node: colander.SchemaNode, data: dict[str, Any]) -> str | None:
    """Why ``data`` looks like another kind's file (None when its top-level keys fit ``node``)."""
    known = {child.name for child in node.children}
    keys = set(data)
    head = data.get("ruleset")
    if isinstance(head, dict) and "method" in head and "ruleset" in known and "method" not in {
            c.name for c in node["ruleset"].children}:
        return MISPLACED["method"]
    if isinstance(head, dict) and "method" not in head and {"boards", "notify"} <= set(head) and "ruleset" in known \
            and "method" in {c.name for c in node["ruleset"].children}:
        return MISPLACED["ruleset"]
    if keys & known:
        return None
    for key in keys:
        if key in MISPLACED:
            return MISPLACED[key]
    return None


def load_checked(package: str, folder: str, profile_dir: str | Path | None,
                 schema: Callable[[], colander.SchemaNode], profile_folder: str | None = None) -> Loaded:
    """:func:`load_definitions`, every file checked against ``schema()``; all problems of all files
    are raised together in one :class:`DefinitionError` (a file that is not TOML is one problem;
    a file of another kind is one problem saying where it belongs)."""
    found: Loaded = {}
    problems: list[tuple[str, str]] = []
    node = schema()
    for stem, source, read in _files(package, folder, profile_dir, profile_folder):
        try:
            data = _parse(source, read())
        except DefinitionError as exc:
            problems += exc.problems
            found.pop(stem, None)
            continue
        found[stem] = (source, data)
    for source, data in found.values():
        found_problems = check(node, data)
        elsewhere = _misplaced(node, data) if found_problems else None
        problems += [(source, f"(文件): {elsewhere}")] if elsewhere else [(source, p) for p in found_problems]
    if problems:
        raise DefinitionError("", problems=problems)
    return found


def _files(package: str, folder: str, profile_dir: str | Path | None, profile_folder: str | None):
    shipped = resources.files(package).joinpath(folder)
    if shipped.is_dir():
        for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                source = f"{package.replace('.', '/')}/{folder}/{entry.name}"
                yield entry.name[:-5], source, (lambda e=entry: e.read_text("utf-8"))
    if profile_dir:
        override = Path(profile_dir) / (profile_folder or folder)
        if override.is_dir():
            for path in sorted(override.glob("*.toml")):
                yield path.stem, str(path), (lambda p=path: p.read_text("utf-8"))


def _parse(source: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(source, f"TOML 语法错误 (invalid TOML): {exc}") from exc


# -- checking a parsed file against a schema -----------------------------------------------------

def check(schema: colander.SchemaNode, data: Any) -> list[str]:
    """Every problem of ``data`` under ``schema``, as ``"path.of.key: 中文说明"`` lines."""
    try:
        schema.deserialize(data)
    except colander.Invalid as exc:
        return [f"{path or '(文件)'}: {message}" for path, message in _walk(exc, data, "")]
    return []


def validate(source: str, schema: colander.SchemaNode, data: Any) -> None:
    """Raise one :class:`DefinitionError` listing every problem of ``data`` (from ``source``)."""
    problems = check(schema, data)
    if problems:
        raise DefinitionError(source, problems=[(source, p) for p in problems])


def _walk(exc: colander.Invalid, data: Any, path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if exc.msg is not None:
        out.append((path, "；".join(str(m) for m in colander.interpolate(exc.messages()))))
    in_array = isinstance(exc.node.typ, colander.Sequence)
    for child in exc.children:
        if in_array:
            pos = child.pos or 0
            sub = data[pos] if isinstance(data, list) and pos < len(data) else None
            label = ""
            if isinstance(sub, dict):
                named = sub.get("name", sub.get("id"))
                label = f"({named})" if isinstance(named, str) else ""
            out += _walk(child, sub, f"{path}[{pos}]{label}")
        else:
            name = child.node.name
            sub = data.get(name) if isinstance(data, dict) else None
            out += _walk(child, sub, f"{path}.{name}" if path else name)
    return out


# -- schema nodes --------------------------------------------------------------------------------

REQUIRED_MSG = "缺少必填键"

_TOML_NAMES: list[tuple[type | tuple[type, ...], str]] = [
    (bool, "布尔值（true / false）"),
    (int, "整数"),
    (float, "小数"),
    (str, "文本（带引号的字符串）"),
    (list, "数组"),
    (dict, "表"),
    ((datetime, date, time), "日期时间"),
]


def toml_name(kinds: type | tuple[type, ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = [name for t, name in _TOML_NAMES if any(k is t or (isinstance(t, tuple) and k in t) for k in kinds)]
    return " 或 ".join(names) or "/".join(k.__name__ for k in kinds)


def _describe(value: Any) -> str:
    for t, name in _TOML_NAMES:
        if isinstance(value, t):
            shown = repr(value)
            return f"{name.split('（')[0]} {shown if len(shown) <= 40 else shown[:37] + '...'}"
    return repr(value)


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelt ``word`` (difflib), or None."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_message(word: str, choices: Collection[str], what: str = "键") -> str:
    listed = ", ".join(sorted(choices)) or "（无）"
    close = suggest(word, choices)
    hint = f"是否应为 {close}？" if close else ""
    return f"未知{what}（可能是拼写错误，{hint}可选{what}：{listed}）"


def unknown_value(value: Any, choices: Collection[Any], what: str = "取值") -> str:
    """The message for a value not among ``choices`` (a misspelt name gets a suggestion)."""
    listed = ", ".join(str(c) for c in sorted(choices, key=str)) or "（无）"
    close = suggest(value, [str(c) for c in choices]) if isinstance(value, str) else None
    hint = f"是否应为 {close}？" if close else ""
    return f"未知{what} {value!r}（{hint}可选：{listed}）"


class Value(colander.SchemaType):
    """A TOML value of the given Python type(s), taken as it is (``True`` is not an integer)."""

    def __init__(self, *kinds: type) -> None:
        self.kinds = kinds

    def deserialize(self, node: colander.SchemaNode, cstruct: Any) -> Any:
        if cstruct is colander.null:
            return cstruct
        if isinstance(cstruct, bool) and bool not in self.kinds:
            ok = False
        else:
            ok = isinstance(cstruct, self.kinds)
        if not ok:
            raise colander.Invalid(node, f"应为{toml_name(self.kinds)}，实为{_describe(cstruct)}")
        return cstruct

    def serialize(self, node: colander.SchemaNode, appstruct: Any) -> Any:  # pragma: no cover - not used
        return appstruct


class Strict(colander.Mapping):
    """A TOML table with fixed keys: ``Mapping(unknown="raise")``, one problem per unknown key
    (with the allowed keys and a "did you mean"), reported together with the known keys' problems."""

    def __init__(self) -> None:
        super().__init__(unknown="raise")

    def _validate(self, node: colander.SchemaNode, value: Any) -> dict:
        if not isinstance(value, dict):
            raise colander.Invalid(node, f"应为表，实为{_describe(value)}")
        return dict(value)

    def _impl(self, node, value, callback, default_or_missing):
        value = self._validate(node, value)
        known = [child.name for child in node.children]
        unknown = [k for k in value if k not in known]
        error = None
        try:
            result = super()._impl(node, {k: v for k, v in value.items() if k in known}, callback,
                                   default_or_missing)
        except colander.Invalid as exc:
            error, result = exc, None
        if unknown:
            error = error if error is not None else colander.Invalid(node)
            for key in unknown:
                error.add(colander.Invalid(colander.SchemaNode(Value(object), name=key),
                                           unknown_message(key, known)))
        if error is not None:
            raise error
        return result


class TableOf(colander.SchemaType):
    """A TOML table whose keys are names (states, transitions, levels ...), each value checked by
    a clone of ``value``; ``keys`` (a collection, or a callable returning one) limits the names."""

    def __init__(self, value: colander.SchemaNode, keys: Collection[str] | Callable[[], Collection[str]] | None = None,
                 what: str = "键", key_pattern: str | None = None) -> None:
        self.value = value
        self.keys = keys
        self.what = what
        self.key_pattern = key_pattern

    def deserialize(self, node: colander.SchemaNode, cstruct: Any) -> Any:
        if cstruct is colander.null:
            return cstruct
        if not isinstance(cstruct, dict):
            raise colander.Invalid(node, f"应为表，实为{_describe(cstruct)}")
        allowed = self.keys() if callable(self.keys) else self.keys
        error = None
        result = {}
        for pos, (key, sub) in enumerate(cstruct.items()):
            child = self.value.clone()
            child.name = key
            try:
                if allowed is not None and key not in allowed:
                    raise colander.Invalid(child, unknown_message(key, allowed, self.what))
                if self.key_pattern and not re.fullmatch(self.key_pattern, key):
                    raise colander.Invalid(child, "名称只能用小写字母、数字和下划线")
                result[key] = child.deserialize(sub)
            except colander.Invalid as exc:
                error = error if error is not None else colander.Invalid(node)
                error.add(exc, pos)
        if error is not None:
            raise error
        return result

    def serialize(self, node: colander.SchemaNode, appstruct: Any) -> Any:  # pragma: no cover - not used
        return appstruct


class Array(colander.Sequence):
    """A TOML array (a string is not an array of characters)."""

    def _validate(self, node, value, accept_scalar):
        if not isinstance(value, list):
            raise colander.Invalid(node, f"应为数组，实为{_describe(value)}")
        return list(value)


def _node(typ: Any, children: tuple = (), *, name: str = "", required: bool = False,
          validator: Any = None) -> colander.SchemaNode:
    kw: dict[str, Any] = {"name": name, "missing_msg": REQUIRED_MSG}
    kw["missing"] = colander.required if required else colander.drop
    if validator is not None:
        kw["validator"] = validator
    return colander.SchemaNode(typ, *children, **kw)


def table(name: str = "", *children: colander.SchemaNode, required: bool = False,
          validator: Any = None) -> colander.SchemaNode:
    """A table with exactly these keys (each child's ``name``)."""
    return _node(Strict(), children, name=name, required=required, validator=validator)


def table_of(name: str, value: colander.SchemaNode, *, keys: Any = None, what: str = "键",
             key_pattern: str | None = None, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    return _node(TableOf(value, keys, what, key_pattern), name=name, required=required, validator=validator)


def array(name: str, item: colander.SchemaNode, *, required: bool = False, validator: Any = None,
          non_empty: bool = False) -> colander.SchemaNode:
    if non_empty:
        validator = _both(validator, _non_empty)
    return _node(Array(), (item,), name=name, required=required, validator=validator)


def value(name: str, *kinds: type, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    return _node(Value(*kinds), name=name, required=required, validator=validator)


def text(name: str = "", *, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    """A string; a required one may not be blank."""
    if required:
        validator = _both(_not_blank, validator)
    return value(name, str, required=required, validator=validator)


def texts(name: str = "", *, required: bool = False, validator: Any = None,
          non_empty: bool = False) -> colander.SchemaNode:
    """An array of strings; ``validator`` checks each string."""
    return array(name, text(validator=validator), required=required, non_empty=non_empty)


def text_or_texts(name: str, *, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    """A string or an array of strings (``from = "a"`` or ``from = ["a", "b"]``)."""
    def check_each(node: colander.SchemaNode, v: Any) -> None:
        items = [v] if isinstance(v, str) else v
        if not items:
            raise colander.Invalid(node, "不能为空")
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise colander.Invalid(node, f"第 {i + 1} 项应为文本，实为{_describe(item)}")
            if validator is not None:
                validator(node, item)
    return value(name, str, list, required=required, validator=check_each)


def flag(name: str) -> colander.SchemaNode:
    return value(name, bool)


def integer(name: str, *, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    return value(name, int, required=required, validator=validator)


def number(name: str, *, required: bool = False, validator: Any = None) -> colander.SchemaNode:
    return value(name, int, float, required=required, validator=validator)


def anything(name: str) -> colander.SchemaNode:
    return value(name, str, int, float, bool, list, dict, datetime, date, time)


# -- validators (Chinese messages) -------------------------------------------------------------

def _both(first: Any, second: Any) -> Any:
    if first is None:
        return second
    if second is None:
        return first

    def both(node: colander.SchemaNode, v: Any) -> None:
        first(node, v)
        second(node, v)
    return both


def _not_blank(node: colander.SchemaNode, v: Any) -> None:
    if isinstance(v, str) and not v.strip():
        raise colander.Invalid(node, "不能为空")


def _non_empty(node: colander.SchemaNode, v: Any) -> None:
    if not v:
        raise colander.Invalid(node, "不能为空")


def one_of(choices: Collection[Any] | Callable[[], Collection[Any]], what: str = "取值") -> Callable:
    """The value (or each of a list) must be one of ``choices``; misspellings get a suggestion."""
    def check_one(node: colander.SchemaNode, v: Any) -> None:
        allowed = choices() if callable(choices) else choices
        for item in (v if isinstance(v, list) else [v]):
            if item not in allowed:
                raise colander.Invalid(node, unknown_value(item, allowed, what))
    return check_one


def matches(pattern: str, message: str) -> Callable:
    def check_match(node: colander.SchemaNode, v: Any) -> None:
        if isinstance(v, str) and not re.fullmatch(pattern, v):
            raise colander.Invalid(node, f"{v!r} {message}")
    return check_match


def at_least(low: float, message: str | None = None) -> Callable:
    def check_low(node: colander.SchemaNode, v: Any) -> None:
        if v < low:
            raise colander.Invalid(node, message or f"应不小于 {low}")
    return check_low


def between(low: float, high: float) -> Callable:
    def check_range(node: colander.SchemaNode, v: Any) -> None:
        if not low <= v <= high:
            raise colander.Invalid(node, f"应在 {low}–{high} 之间，实为 {v}")
    return check_range


def key_problem(node: colander.SchemaNode, key: str, message: str) -> colander.Invalid:
    """An Invalid for the table ``node`` that points at its key ``key`` (for checks across keys)."""
    error = colander.Invalid(node)
    child = colander.SchemaNode(Value(object), name=key)
    error.add(colander.Invalid(child, message))
    return error
