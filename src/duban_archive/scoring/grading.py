"""Grading on 办结 (seed 000 五; seed 002 第十六条): A 优秀 · B 良好 · C 合格 · D 不合格.

Every workflow's ``close`` transition gets a required ``grade`` choice (unless
its definition already has one) and, where ``grading.toml`` lists stages for
the workflow (互联网+督查: the seven rows of seed 000's 评价表), optional
per-stage grades.  A subscriber stores ``item.grade`` (str) and
``item.stage_grades`` (dict) from the history entry the engine wrote.
"""

from __future__ import annotations

from typing import Any

from ..content_types.registry import TypeRegistry
from ..events import StateChanged

GRADE_FIELD = "grade"
STAGE_PREFIX = "stage_"


#: where a site profile keeps its ``grading.toml`` (``definitions/`` belongs to the content types)
PROFILE_FOLDER = "scoring/definitions"


def load_grading(profile_dir: str | None = None) -> dict[str, Any]:
    """``definitions/grading.toml`` (a site profile's ``scoring/definitions/grading.toml`` wins),
    checked against :func:`.schema.grading_schema`."""
    from ..definitions import load_checked
    from .schema import grading_schema

    found = load_checked("duban_archive.scoring", "definitions", profile_dir, grading_schema,
                         profile_folder=PROFILE_FOLDER)
    grading = dict(found["grading"][1])
    grading["source"] = found["grading"][0]
    return grading


def grade_flag(grading: dict[str, Any] | None, value: str | None, key: str, default: bool = False) -> bool:
    """``praise`` / ``criticise`` / ``highlight`` of grade ``value`` in ``grading.toml``."""
    for g in (grading or {}).get("grades", ()):
        if g["value"] == value:
            return bool(g.get(key, default))
    return default


def check_grade(item, transition, appstruct, actor) -> None:
    """Before 办结: under ``[d_grade] <workflow> = "return"`` a D may not close the item (seed 002
    第十六条: 不合格的事项由立项主体退回承办单位继续办理落实)."""
    from ..workflows.engine import WorkflowError

    grading = getattr(transition, "duban_grading", None) or {}  # set by register_grade_fields
    if grading.get("d_grade", {}).get(item.workflow, "keep") != "return":
        return
    if grade_flag(grading, str(appstruct.get(GRADE_FIELD) or ""), "criticise"):
        raise WorkflowError(400, "经评估为不合格的事项不能办结，由立项主体退回承办单位继续办理落实", {
            GRADE_FIELD: "评价为不合格（D）的事项不能办结：请选择“不同意办结”，退回承办单位继续办理落实"})


def check_stages(workflows, grading: dict[str, Any]) -> None:
    """Each ``[[stages.<workflow>]]`` must name a known workflow (a misspelt one was silently ignored)."""
    from ..definitions import DefinitionError, unknown_message

    names = {wf.name for wf in workflows}
    problems = [(grading.get("source", "grading.toml"), f"{key}.{name}: {unknown_message(name, names, '流程')}")
                for key in ("stages", "d_grade") for name in grading.get(key, {}) if name not in names]
    if problems:
        raise DefinitionError("", problems=problems)


def grade_titles(grading: dict[str, Any]) -> dict[str, str]:
    return {g["value"]: g["title"] for g in grading["grades"]}


def register_grade_fields(workflows, grading: dict[str, Any]) -> None:
    """Add the grade fields to each workflow's close transition (idempotent)."""
    check_stages(workflows, grading)
    compiler = TypeRegistry()
    vocab = {"grade": [{"value": g["value"], "title": f"{g['value']} {g['title']}"} for g in grading["grades"]]}
    criteria = "；".join(f"{g['value']}（{g['title']}）：{g['criteria']}" for g in grading["grades"])
    for wf in workflows:
        close = wf.transitions.get("close")
        if close is None:
            continue
        names = {f.name for f in close.fields}
        if grading.get("d_grade", {}).get(wf.name) == "return" and close.before is None:
            close.before = "duban_archive.scoring.grading:check_grade"
        if close.before == "duban_archive.scoring.grading:check_grade":
            setattr(close, "duban_grading", grading)  # noqa: B010  (the hook reads the switch from here)
        if GRADE_FIELD not in names:
            close.fields.append(compiler._field("scoring/definitions/grading.toml", {
                "name": GRADE_FIELD, "title": "办理评价", "kind": "choice", "vocabulary": "grade",
                "required": True, "description": criteria}, vocab, "grade"))
        for i, stage in enumerate(grading.get("stages", {}).get(wf.name, [])):
            name = f"{STAGE_PREFIX}{stage['name']}"
            if name not in names:
                close.fields.append(compiler._field("scoring/definitions/grading.toml", {
                    "name": name, "title": f"{i + 1}. {stage['group']} · {stage['title']}", "kind": "choice",
                    "vocabulary": "grade"}, vocab, name))


def on_close(event: StateChanged) -> None:
    if event.transition != "close":
        return
    fields = (event.entry or {}).get("fields") or {}
    grade = fields.get(GRADE_FIELD)
    if grade:
        item = event.object
        item.grade = str(grade)
        item.stage_grades = {k[len(STAGE_PREFIX):]: str(v) for k, v in fields.items()
                             if k.startswith(STAGE_PREFIX) and v}
