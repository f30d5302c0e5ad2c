"""The workflow engine, after Products.DCWorkflow.

A workflow is data (``definitions/<name>.toml``): states with a permission ->
roles map, transitions with sources, a target and guards, and fields the
actor must fill in.  An item's ``__acl__`` is the state's map applied to the
item's units (Kotti's state -> ACL idea): items derive it (``SupervisionItem.__acl__``),
:meth:`Workflow.apply_acl` is the only place that sets it.  Every transition appends one entry to the
item's append-only ``history``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import colander
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from ..content_types.registry import TypeRegistry
from ..definitions import DefinitionError, load_checked, validate
from ..security.roles import principals_for_token
from ..timeutil import now
from ..validation import text_node
from . import deadlines as _deadlines
from .lookup import resolve
from .schema import ATTACHMENT_KINDS, workflow_schema


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
    #: deadlines that start when the item enters this state and end when it leaves
    deadlines: list = field(default_factory=list)  # deadlines.DeadlineDef
    #: entering this state stops every clock (办结, 归档)
    stop_clock: bool = False


def too_late(item: Any, transition: Transition, moment: datetime | None = None) -> str | None:
    """Why ``transition`` can no longer be asked for (its ``request_by`` before the 办结时限), or None."""
    deadline = getattr(item, "deadline", None)
    if not transition.request_by or not isinstance(deadline, date):
        return None
    if isinstance(deadline, datetime):
        deadline = deadline.date()
    end = _deadlines.end_of_day(deadline)
    last = _deadlines._minus(end, transition.request_by)
    if (moment or now()) <= last:
        return None
    when = _deadlines.format_due(end)
    if last == end:
        return f"“{transition.title}”须在办结时限（{when}）到期前提出，本事项已超过办结时限，不能再提出"
    return (f"“{transition.title}”须在办结时限（{when}）前 {_span_text(transition.request_by)}提出"
            f"（最迟 {_deadlines.format_due(last)}），现已超过，不能再提出")


def _span_text(spec: str) -> str:
    m = _deadlines.ISO_RE.match(spec)
    g = {k: int(v) for k, v in (m.groupdict().items() if m else ()) if v}
    parts = [f"{g[k]}{unit}" for k, unit in (("months", "个月"), ("weeks", "周"), ("days", "天"), ("hours", "小时"))
             if g.get(k)]
    return "".join(parts) or spec


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
    #: fires by itself once its guard passes (after a transition, or on ``run_automatic``)
    auto: bool = False
    #: fired only by code (e.g. ``file`` by the archive subsystem): never offered as a button
    system: bool = False
    #: attachment kinds the item must carry before this transition (e.g. ``signed_report``)
    requires_attachments: tuple[str, ...] = ()
    #: deadlines this transition starts (kept until done_by / until / a final state)
    deadlines: list = field(default_factory=list)
    #: deadline names this transition meets (removes)
    clears: tuple[str, ...] = ()
    guard_kw: bool = False
    #: must be asked for this long before the end of the item's 办结时限 (``PT0S``: before it expires)
    request_by: str | None = None
    #: per-site switches for the hooks (``[transitions.<name>.options]``)
    options: dict[str, Any] = field(default_factory=dict)
    schema_cache: Any = field(default=None, repr=False, compare=False)

    def schema(self, site: Any = None) -> colander.SchemaNode:
        """The fields' colander schema; cached (fields may be appended after compile, e.g. ``grade``)
        and bound to the site only when a field needs it (unit choices)."""
        key = tuple(id(f) for f in self.fields)
        cached = self.schema_cache
        if cached is None or cached[0] != key:
            cached = (key, self._build_schema(), any(f.kind in ("unit", "units") for f in self.fields))
            self.schema_cache = cached
        _, schema, needs_site = cached
        return schema.bind(site=site) if needs_site else schema

    def _build_schema(self) -> colander.SchemaNode:
        schema = colander.SchemaNode(colander.Mapping(unknown="raise"), name=self.name)
        comment_defined = any(f.name == "comment" for f in self.fields)
        if not comment_defined:
            schema.add(text_node(colander.SchemaNode(  # the text policy, as on every field (issue 12)
                colander.String(), name="comment", title="意见", missing="",
                validator=colander.Length(max=5000, max_err="不能超过 5000 个字符")), multiline=True))
        for f in self.fields:
            schema.add(f.node())
        from ..i18n import required_messages

        return required_messages(schema)  # 「请填写退单理由」, not a bare 「必需」 (issue 15)


@dataclass
class Workflow:
    name: str
    title: str
    initial: str
    states: dict[str, State]
    transitions: dict[str, Transition]
    source: str = ""
    #: deadlines started on creation (e.g. the item's own 办结时限)
    deadlines: list = field(default_factory=list)

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
        """Make ``item.__acl__`` this workflow's ACL for its current state and units.

        Items derive their ACL (``SupervisionItem.__acl__``): nothing is stored, the ACL is cached in
        the volatile ``_v_acl``.  An ACL pickled before issue 16 is dropped here (evolve step 9 drops
        them all).  Objects that are not items (tests, other content) get the plain attribute.
        """
        acl = self.acl_for(item)
        if isinstance(getattr(type(item), "__acl__", None), property):
            if "__acl__" in vars(item):
                del vars(item)["__acl__"]
                item._p_changed = True
            item._v_acl = (self, item.acl_key(), acl)
        else:
            item.__acl__ = acl

    # -- transitions -----------------------------------------------------
    def initialize(self, item: Any, actor: str) -> None:
        item.state = self.initial
        item.workflow = self.name
        self.apply_acl(item)
        moment = now()
        _deadlines.store(item, {})
        self._enter_deadlines(item, None, self.initial, moment, start=self.deadlines)
        item.history.append({
            "time": moment, "actor": actor, "transition": "", "title": "创建",
            "from": "", "to": self.initial, "comment": "", "fields": {},
            "deadlines": _snapshot(item),
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
            guard = resolve(transition.guard)
            if transition.guard_kw:
                reason = guard(item, request, transition, principals=tuple(principals or ()))
            else:
                reason = guard(item, request, transition)
            if reason:
                return reason
        return None

    def available(self, item: Any, principals, request=None) -> list[Transition]:
        """Transitions the caller may take now (buttons); automatic and system ones are not offered."""
        return [t for t in self.transitions.values()
                if not t.auto and not t.system and self.refusal(item, t, principals, request) is None]

    def missing_attachments(self, item: Any, transition: Transition) -> dict[str, str]:
        if not transition.requires_attachments:
            return {}
        try:
            kinds = {getattr(a, "kind", None) for a in item.attachments.values()}
        except (AttributeError, KeyError):
            kinds = set()
        missing = [k for k in transition.requires_attachments if k not in kinds]
        if not missing:
            return {}
        names = "、".join(ATTACHMENT_KINDS.get(k, k) for k in missing)
        return {"attachments": f"执行“{transition.title}”前须上传附件：{names}"}

    def fire(self, item: Any, name: str, actor: str, principals, data: dict[str, Any] | None = None,
             request=None, site: Any = None) -> dict[str, Any]:
        """Validate and take transition ``name``; returns the history entry.

        Raises WorkflowError (403/409/400) and changes nothing when refused.
        Automatic transitions out of the new state follow at once (actor ``system``).
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
        schema = transition.schema(site)
        unknown = sorted(set(data or {}) - {node.name for node in schema.children})
        if unknown:
            raise WorkflowError(400, "填写内容有误", {k: f"“{transition.title}”不接受此字段" for k in unknown})
        try:
            appstruct = schema.deserialize(dict(data or {}))
        except colander.Invalid as exc:
            from ..i18n import invalid_as_dict

            raise WorkflowError(400, "填写内容有误", invalid_as_dict(exc)) from exc
        missing = self.missing_attachments(item, transition)
        if missing:
            raise WorkflowError(400, missing["attachments"], missing)
        late = too_late(item, transition)
        if late:
            raise WorkflowError(409, late)
        if transition.before:
            resolve(transition.before)(item, transition, appstruct, actor)
        entry = self._move(item, transition, actor, appstruct, request, site)
        self.run_automatic(item, request=request, site=site)
        return entry

    def _move(self, item: Any, transition: Transition, actor: str, appstruct: dict[str, Any],
              request=None, site: Any = None) -> dict[str, Any]:
        old = item.state
        moment = now()
        item.state = transition.target
        comment = appstruct.pop("comment", "") or ""
        if transition.after:
            resolve(transition.after)(item, transition, appstruct, actor)
        self.apply_acl(item)  # after the hook: a hook may change the units (转办)
        self._enter_deadlines(item, transition, transition.target, moment, site=site, old=old)
        entry = {
            "time": moment, "actor": actor, "transition": transition.name,
            "title": transition.title, "from": old, "to": transition.target,
            "comment": comment, "fields": _plain(appstruct), "deadlines": _snapshot(item),
        }
        item.history.append(entry)
        item.modified = moment
        _audit(item, site, actor, transition, old, comment)
        from ..events import StateChanged, notify

        notify(StateChanged(item, actor, transition.name, old, transition.target, entry),
               request.registry if request is not None else None)
        return entry

    def run_automatic(self, item: Any, request=None, site: Any = None, limit: int = 10) -> list[str]:
        """Fire automatic transitions whose guard passes (e.g. 超时视同签收); returns their names."""
        fired: list[str] = []
        for _ in range(limit):
            for t in self.transitions.values():
                if t.auto and item.state in t.sources and not getattr(item, "archived", False):
                    if t.guard:
                        guard = resolve(t.guard)
                        kw = {"principals": ("system",)} if t.guard_kw else {}
                        if guard(item, request, t, **kw):
                            continue
                    self._move(item, t, "system", {}, request, site)
                    fired.append(t.name)
                    break
            else:
                return fired
        return fired

    # -- deadlines -------------------------------------------------------
    def _enter_deadlines(self, item: Any, transition: Transition | None, target: str, moment,
                         site: Any = None, old: str | None = None, start: list | None = None) -> None:
        from .calendar import WorkCalendar

        current = _deadlines.open_deadlines(item)
        state = self.states[target]
        if state.stop_clock or state.final:
            _deadlines.store(item, {})
            return
        for key, d in list(current.items()):
            gone = (d.get("origin") == "state" and old is not None)
            if transition is not None and (transition.name in d.get("done_by", ())
                                           or key in transition.clears):
                gone = True
            if target in d.get("until", ()):
                gone = True
            if gone:
                del current[key]
        defs = [("state", d) for d in state.deadlines]
        if transition is not None:
            defs += [(f"transition:{transition.name}", d) for d in transition.deadlines]
        defs += [("workflow", d) for d in (start or ())]
        if defs:
            cal = WorkCalendar.for_site(site if site is not None else _site_of(item))
            for origin, ddef in defs:
                rec = _deadlines.instantiate(item, ddef, origin, cal, moment)
                if rec is not None:
                    current[ddef.name] = rec
                else:
                    current.pop(ddef.name, None)
        _deadlines.store(item, current)

    def find_deadline(self, name: str):
        for d in self.deadlines:
            if d.name == name:
                return d
        for st in self.states.values():
            for d in st.deadlines:
                if d.name == name:
                    return d
        for t in self.transitions.values():
            for d in t.deadlines:
                if d.name == name:
                    return d
        return None

    def recompute_deadline(self, item: Any, name: str, site: Any = None) -> None:
        """Recompute one open deadline from its definition (after its input field changed)."""
        from .calendar import WorkCalendar

        ddef = self.find_deadline(name)
        current = _deadlines.open_deadlines(item)
        if ddef is None or name not in current:
            return
        rec = _deadlines.instantiate(item, ddef, current[name].get("origin", ""),
                                     WorkCalendar.for_site(site if site is not None else _site_of(item)),
                                     current[name].get("start"))
        if rec is None:
            current.pop(name)
        else:
            current[name] = rec
        _deadlines.store(item, current)


def _snapshot(item: Any) -> list[dict[str, Any]]:
    """The deadline snapshot kept in the history entry (plain data)."""
    return [{"name": d["name"], "title": d["title"], "due": d["due"]}
            for d in sorted(_deadlines.open_deadlines(item).values(), key=lambda d: d["due"])]


def _site_of(item: Any) -> Any:
    from ..content_types.site import find_site

    try:
        return find_site(item)
    except (LookupError, AttributeError):
        return None


def _audit(item: Any, site: Any, actor: str, transition: Transition, old: str, comment: str) -> None:
    site = site if site is not None else _site_of(item)
    if site is None or "audit" not in site:
        return
    from ..audit.log import record

    record(site, "transition", actor, getattr(item, "item_id", ""), transition=transition.name,
           title=transition.title, old=old, new=transition.target, comment=comment or None)


def _plain(value: Any) -> Any:
    """History keeps plain data only (pickles outlive code)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(value)
    if value is colander.null:
        return None
    return value


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
        """Shipped definitions, then ``<profile_dir>/workflows/*.toml`` (same file name overrides).

        (The profile's ``definitions/`` folder belongs to the content types.)  Every file is
        checked against :func:`.schema.workflow_schema` first; all problems are raised together.
        """
        found = load_checked("duban_archive.workflows", "definitions", profile_dir, workflow_schema,
                             profile_folder=PROFILE_FOLDER)
        for source, data in found.values():
            wf = compile_workflow(source, data, checked=True)
            self.workflows[wf.name] = wf
        return self


PROFILE_FOLDER = "workflows"


def compile_workflow(source: str, data: dict[str, Any], checked: bool = False) -> Workflow:
    """A workflow from a parsed file: the schema first (unless ``checked``), then what refers
    to other parts of the file (states, transitions, deadlines, vocabularies)."""
    if not checked:
        validate(source, workflow_schema(), data)
    head = data["workflow"]
    states: dict[str, State] = {}
    for sname, sdata in data["states"].items():
        where = f"states.{sname}"
        perms = sdata["permissions"]
        states[sname] = State(
            name=sname,
            title=sdata["title"],
            permissions={p: tuple(ts) for p, ts in perms.items()},
            inherit=bool(sdata.get("inherit", False)),
            final=bool(sdata.get("final", False)),
            worklist=sdata.get("worklist"),
            worklist_roles=tuple(sdata.get("worklist_roles", ())),
            deadlines=_deadlines.compile_deadlines(source, where, sdata.get("deadlines")),
            stop_clock=bool(sdata.get("stop_clock", False)),
        )
    initial = head["initial_state"]
    if initial not in states:
        raise DefinitionError(source, f"workflow.initial_state: '{initial}' 不是已定义的状态"
                                      f"（可选：{', '.join(states)}）")
    field_compiler = TypeRegistry()
    transitions: dict[str, Transition] = {}
    vocab = data.get("vocabularies", {})
    problems: list[str] = []
    for tname, tdata in data.get("transitions", {}).items():
        where = f"transitions.{tname}"
        sources = tdata["from"]
        if isinstance(sources, str):
            sources = [sources]
        for s in sources:
            if s not in states:
                problems.append(f"{where}.from: 未知状态 '{s}'")
        target = tdata["to"]
        if target not in states:
            problems.append(f"{where}.to: 未知状态 '{target}'")
        fields = []
        for i, fdata in enumerate(tdata.get("fields", [])):
            try:
                fields.append(field_compiler._field(source, fdata, vocab, f"{where}.fields[{i}]"))
            except DefinitionError as exc:
                problems += [m for _, m in exc.problems]
        guard_kw = bool(tdata.get("guard")) and "principals" in inspect.signature(
            resolve(tdata["guard"])).parameters
        kinds = tdata.get("requires_attachments", [])
        if isinstance(kinds, str):
            kinds = [kinds]
        transitions[tname] = Transition(
            name=tname,
            title=tdata["title"],
            sources=tuple(sources),
            target=target,
            roles=tuple(tdata.get("roles", ())),
            permission=tdata.get("permission"),
            guard=tdata.get("guard"),
            fields=fields,
            before=tdata.get("before"),
            after=tdata.get("after"),
            auto=bool(tdata.get("auto", False)),
            system=bool(tdata.get("system", False)),
            request_by=tdata.get("request_by"),
            requires_attachments=tuple(kinds),
            deadlines=_deadlines.compile_deadlines(source, where, tdata.get("deadlines")),
            clears=tuple(tdata.get("clears", ())),
            guard_kw=guard_kw,
            options=dict(tdata.get("options") or {}),
        )
    wf_deadlines = _deadlines.compile_deadlines(source, "workflow", head.get("deadlines"))
    everything = list(wf_deadlines) + [d for st in states.values() for d in st.deadlines] + [
        d for t in transitions.values() for d in t.deadlines]
    for d in everything:
        for tn in d.done_by:
            if tn not in transitions:
                problems.append(f"deadline '{d.name}'.done_by: 未知流转 '{tn}'")
        for sn in d.until:
            if sn not in states:
                problems.append(f"deadline '{d.name}'.until: 未知状态 '{sn}'")
    for tname, t in transitions.items():
        for c in t.clears:
            if not any(d.name == c for d in everything):
                problems.append(f"transitions.{tname}.clears: 未知时限 '{c}'")
    if problems:
        raise DefinitionError(source, problems=[(source, p) for p in problems])
    return Workflow(name=head["name"], title=head["title"],
                    initial=initial, states=states, transitions=transitions, source=source,
                    deadlines=wf_deadlines)
