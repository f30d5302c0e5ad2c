"""The workflow engine, after Products.DCWorkflow.

A workflow is data (``definitions/<name>.toml``): states with a permission ->
roles map, transitions with sources, a target and guards, and fields the
actor must fill in.  Entering a state recomputes the item's ``__acl__`` from
the state's map and the item's units (Kotti's state -> ACL idea); this module
is the only writer of ``__acl__``.  Every transition appends one entry to the
item's append-only ``history``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import colander
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from ..content_types.registry import FIELD_KINDS, TypeRegistry
from ..definitions import DefinitionError, load_definitions, require
from ..security.roles import is_valid_token, principals_for_token
from ..timeutil import now


class WorkflowError(Exception):
    """A transition was refused.  ``status``: 403 not allowed, 409 state changed, 400 bad fields."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


@dataclass
class State:
    name: str
    title: str
    permissions: dict[str, tuple[str, ...]]
    inherit: bool = False
    final: bool = False
    #: worklist bucket (待审签, 待签收 ...) the item sits in while here
    worklist: str | None = None
    #: role tokens whose holders see the item in that worklist
    worklist_roles: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Transition:
    name: str
    title: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...] = ()
    permission: str | None = None
    guard: str | None = None  # dotted path to callable(item, request|None, transition) -> str|None
    fields: list = field(default_factory=list)  # content_types.registry.FieldDef
    before: str | None = None
    after: str | None = None
    auto: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def schema(self, site: Any = None) -> colander.SchemaNode:
        schema = colander.SchemaNode(colander.Mapping(unknown="raise"), name=self.name)
        comment_defined = any(f.name == "comment" for f in self.fields)
        if not comment_defined:
            schema.add(colander.SchemaNode(
                colander.String(), name="comment", title="意见", missing="",
                validator=colander.Length(max=5000, max_err="不能超过 5000 个字符")))
        for f in self.fields:
            schema.add(f.node())
        return schema.bind(site=site)


@dataclass
class Workflow:
    name: str
    title: str
    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    source: str = ""

    # -- security --------------------------------------------------------
    def acl_for(self, item: Any, state: str | None = None) -> tuple:
        st = self.states[state or item.state]
        lead = getattr(item, "lead_unit", None)
        assist = getattr(item, "assist_units", ()) or ()
        acl: list[tuple] = []
        for permission in sorted(st.permissions):
            for token in st.permissions[permission]:
                for principal in principals_for_token(token, lead, assist):
                    acl.append((Allow, principal, permission))
        if not st.inherit:
            acl.append((Deny, Everyone, ALL_PERMISSIONS))
        return tuple(acl)

    def apply_acl(self, item: Any) -> None:
        item.__acl__ = self.acl_for(item)

    # -- transitions -----------------------------------------------------
    def initialize(self, item: Any, actor: str) -> None:
        item.state = self.initial
        item.workflow = self.name
        self.apply_acl(item)
        item.history.append({
            "time": now(), "actor": actor, "transition": "", "title": "创建",
            "from": "", "to": self.initial, "comment": "", "fields": {},
        })

    def holds_role(self, item: Any, principals, tokens) -> bool:
        lead = getattr(item, "lead_unit", None)
        assist = getattr(item, "assist_units", ()) or ()
        have = set(principals)
        return any(p in have for t in tokens for p in principals_for_token(t, lead, assist))

    def refusal(self, item: Any, transition: Transition, principals, request=None) -> str | None:
        """Why ``transition`` may not fire now (None when it may)."""
        if item.state not in transition.sources:
            return f"当前状态“{self.states[item.state].title}”不能执行“{transition.title}”"
        if getattr(item, "archived", False):
            return "事项已归档，不可更改"
        if transition.roles and not self.holds_role(item, principals, transition.roles):
            return f"您没有执行“{transition.title}”的权限"
        if transition.permission and request is not None:
            if not request.has_permission(transition.permission, item):
                return f"您没有执行“{transition.title}”的权限"
        if transition.guard:
            reason = resolve(transition.guard)(item, request, transition)
            if reason:
                return reason
        return None

    def available(self, item: Any, principals, request=None) -> list[Transition]:
        return [t for t in self.transitions.values()
                if not t.auto and self.refusal(item, t, principals, request) is None]

    def fire(self, item: Any, name: str, actor: str, principals, data: dict[str, Any] | None = None,
             request=None, site: Any = None) -> dict[str, Any]:
        """Validate and take transition ``name``; returns the history entry.

        Raises WorkflowError (403/409/400) and changes nothing when refused.
        """
        transition = self.transitions.get(name)
        if transition is None:
            raise WorkflowError(404, f"没有名为“{name}”的流转")
        if item.state not in transition.sources:
            raise WorkflowError(409, f"事项状态已变为“{self.states[item.state].title}”，"
                                     f"不能再执行“{transition.title}”，请刷新后重试")
        reason = self.refusal(item, transition, principals, request)
        if reason:
            raise WorkflowError(403, reason)
        try:
            appstruct = transition.schema(site).deserialize(dict(data or {}))
        except colander.Invalid as exc:
            from ..i18n import invalid_as_dict

            raise WorkflowError(400, "填写内容有误", invalid_as_dict(exc)) from exc
        if transition.before:
            resolve(transition.before)(item, transition, appstruct, actor)
        old = item.state
        item.state = transition.target
        self.apply_acl(item)
        comment = appstruct.pop("comment", "") or ""
        entry = {
            "time": now(), "actor": actor, "transition": transition.name,
            "title": transition.title, "from": old, "to": transition.target,
            "comment": comment, "fields": _plain(appstruct),
        }
        item.history.append(entry)
        if transition.after:
            resolve(transition.after)(item, transition, appstruct, actor)
        from ..events import StateChanged, notify

        notify(StateChanged(item, actor, transition.name, old, transition.target, entry),
               request.registry if request is not None else None)
        return entry


def _plain(value: Any) -> Any:
    """History keeps plain data only (pickles outlive code)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    if value is colander.null:
        return None
    return value


def resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    if not attr:
        module, _, attr = dotted.rpartition(".")
    return getattr(import_module(module), attr)


class WorkflowRegistry:
    def __init__(self) -> None:
        self.workflows: dict[str, Workflow] = {}

    def __getitem__(self, name: str) -> Workflow:
        return self.workflows[name]

    def get(self, name: str) -> Workflow | None:
        return self.workflows.get(name)

    def __iter__(self):
        return iter(self.workflows.values())

    def load(self, profile_dir: str | Path | None = None) -> WorkflowRegistry:
        for source, data in load_definitions("duban_archive.workflows", "definitions", profile_dir).values():
            wf = compile_workflow(source, data)
            self.workflows[wf.name] = wf
        return self


def compile_workflow(source: str, data: dict[str, Any]) -> Workflow:
    head = require(source, data, "workflow", dict)
    name = require(source, head, "name", str, "workflow")
    states: dict[str, State] = {}
    for sname, sdata in require(source, data, "states", dict).items():
        where = f"states.{sname}"
        perms = sdata.get("permissions")
        if not isinstance(perms, dict) or not perms:
            raise DefinitionError(source, f"{where}.permissions 缺失或为空 (state without permission map)")
        for perm, tokens in perms.items():
            if not isinstance(tokens, list):
                raise DefinitionError(source, f"{where}.permissions.{perm} 应为角色列表")
            for t in tokens:
                if not is_valid_token(t):
                    raise DefinitionError(source, f"{where}.permissions.{perm}: 未知角色 '{t}'")
        states[sname] = State(
            name=sname,
            title=require(source, sdata, "title", str, where),
            permissions={p: tuple(ts) for p, ts in perms.items()},
            inherit=bool(sdata.get("inherit", False)),
            final=bool(sdata.get("final", False)),
            worklist=sdata.get("worklist"),
            worklist_roles=tuple(sdata.get("worklist_roles", ())),
            extra={k: v for k, v in sdata.items() if k not in {
                "title", "permissions", "inherit", "final", "worklist", "worklist_roles"}},
        )
    initial = require(source, head, "initial_state", str, "workflow")
    if initial not in states:
        raise DefinitionError(source, f"workflow.initial_state '{initial}' 不是已定义的状态")
    field_compiler = TypeRegistry()
    transitions: dict[str, Transition] = {}
    for tname, tdata in data.get("transitions", {}).items():
        where = f"transitions.{tname}"
        sources = tdata.get("from")
        if isinstance(sources, str):
            sources = [sources]
        if not isinstance(sources, list) or not sources:
            raise DefinitionError(source, f"{where}.from 缺失")
        for s in sources:
            if s not in states:
                raise DefinitionError(source, f"{where}.from: 未知状态 '{s}'")
        target = require(source, tdata, "to", str, where)
        if target not in states:
            raise DefinitionError(source, f"{where}.to: 未知状态 '{target}'")
        roles = tuple(tdata.get("roles", ()))
        for t in roles:
            if not is_valid_token(t):
                raise DefinitionError(source, f"{where}.roles: 未知角色 '{t}'")
        fields = []
        vocab = data.get("vocabularies", {})
        for i, fdata in enumerate(tdata.get("fields", [])):
            if fdata.get("kind", "text") not in FIELD_KINDS:
                raise DefinitionError(source, f"{where}.fields[{i}].kind 未知")
            fields.append(field_compiler._field(source, fdata, vocab, f"{where}.fields[{i}]"))
        for hook in ("guard", "before", "after"):
            dotted = tdata.get(hook)
            if dotted:
                try:
                    resolve(dotted)
                except (ImportError, AttributeError, ValueError) as exc:
                    raise DefinitionError(source, f"{where}.{hook}: 无法导入 '{dotted}' ({exc})") from exc
        transitions[tname] = Transition(
            name=tname,
            title=require(source, tdata, "title", str, where),
            sources=tuple(sources),
            target=target,
            roles=roles,
            permission=tdata.get("permission"),
            guard=tdata.get("guard"),
            fields=fields,
            before=tdata.get("before"),
            after=tdata.get("after"),
            auto=bool(tdata.get("auto", False)),
            extra={k: v for k, v in tdata.items() if k not in {
                "title", "from", "to", "roles", "permission", "guard", "fields",
                "before", "after", "auto"}},
        )
    return Workflow(name=name, title=require(source, head, "title", str, "workflow"),
                    initial=initial, states=states, transitions=transitions, source=source)
