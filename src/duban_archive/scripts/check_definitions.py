"""``duban-archive check-definitions [INI | --profile DIR]`` — every definition, every problem.

Checks the shipped definitions plus a site profile (named by the ini's
``duban.profile_dir``, or given directly) with the same loaders the site uses
at start-up: each file against its kind's schema (unknown keys, types, required
keys), then what a file says of other parts of itself, then what kinds say of
each other (a board's workflow and item type, the boards and states a reminder
rule set names, the boards in the 保管期限表, grading stages, the ini's
``duban.scoring_rules``).  It reads files only — no database is opened — so it
runs beside a live site, before a restart.  Exit 0 when clean, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..definitions import DefinitionError

T = TypeVar("T")


def check_all(profile_dir: str | Path | None = None,
              settings: Mapping[str, Any] | None = None) -> list[str]:
    """Every problem of the shipped definitions + ``profile_dir``, one ``"file: key.path: 说明"`` line each."""
    return [f"{source}: {message}" for source, message in problems_of(profile_dir, settings)]


def refuse_bad_definitions(settings: Mapping[str, Any]) -> None:
    """Start-up (``duban_archive.main``): raise one DefinitionError listing every problem, before
    any subsystem loads its part (each loader would stop at its own first bad kind)."""
    found = problems_of(settings.get("duban.profile_dir") or None, settings)
    if found:
        raise DefinitionError("", problems=found)


def problems_of(profile_dir: str | Path | None = None,
                settings: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    """``(file, "key.path: 说明")`` for every problem found (see :func:`check_all`)."""
    from ..archive.rules import check_references as archive_references
    from ..archive.rules import load_rules
    from ..content_types.board import check_boards, load_board_defs
    from ..content_types.registry import TypeRegistry
    from ..notifications.rules import ReminderRules
    from ..notifications.rules import check_references as reminder_references
    from ..scoring.grading import check_stages, load_grading
    from ..scoring.rules import check_choice, load_scoring_rules
    from ..workflows.engine import WorkflowRegistry

    problems: list[tuple[str, str]] = []

    def run(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except DefinitionError as exc:
            problems.extend(exc.problems)
            return None

    types = run(lambda: TypeRegistry().load(profile_dir))
    boards = run(lambda: load_board_defs(profile_dir))
    workflows = run(lambda: WorkflowRegistry().load(profile_dir))
    reminders = run(lambda: ReminderRules.load(profile_dir))
    scoring = run(lambda: load_scoring_rules(profile_dir))
    grading = run(lambda: load_grading(str(profile_dir) if profile_dir else None))
    archive = run(lambda: load_rules(str(profile_dir) if profile_dir else None))

    if boards is not None and types is not None and workflows is not None:
        problems += check_boards(boards, types, workflows)
    # boards a profile's boards file no longer defines may still be named by shipped rules
    dropped = {b.id for b in load_board_defs(None)} - {b.id for b in boards} if boards is not None else set()
    if reminders is not None and boards is not None and workflows is not None:
        problems += reminder_references(reminders, boards, workflows, dropped)
    if archive is not None and boards is not None:
        problems += archive_references(archive, boards, dropped)
    if grading is not None and workflows is not None:
        run(lambda: check_stages(workflows, grading))
    if scoring is not None and settings is not None:
        message = check_choice(scoring, settings.get("duban.scoring_rules"))
        if message:
            problems.append(("duban.scoring_rules", message))
    return problems


def register(sub) -> None:
    p = sub.add_parser(
        "check-definitions",
        help="检查定义文件（类型、版块、流程、提醒规则、计分规则、评价、保管期限表）及站点配置目录：列出全部问题；"
             "只读文件，不打开数据库",
    )
    p.add_argument("ini", nargs="?", help="站点配置文件（读取其中的 duban.profile_dir 与 duban.scoring_rules）")
    p.add_argument("--profile", metavar="DIR", help="直接指定站点配置目录 (profile)")
    p.set_defaults(func=cmd_check_definitions)


def _ini_settings(ini: str) -> dict[str, Any]:
    """The ``[app:main]`` settings of ``ini`` (``%(here)s`` expanded), without building the app."""
    if not os.path.exists(ini):
        raise LookupError(f"找不到配置文件 {ini}")
    from pyramid.paster import get_appsettings

    return dict(get_appsettings(ini))


def cmd_check_definitions(args: argparse.Namespace) -> int:
    settings: dict[str, Any] | None = None
    profile: str | None = args.profile
    if args.ini:
        settings = _ini_settings(args.ini)
        if profile is None:
            profile = (settings.get("duban.profile_dir") or "").strip() or None
    if profile is not None and not Path(profile).is_dir():
        print(f"错误：站点配置目录不存在：{profile}", file=sys.stderr)
        return 2
    problems = check_all(profile, settings)
    where = f"内置定义 + 站点配置目录 {profile}" if profile else "内置定义（未指定站点配置目录）"
    if not problems:
        print(f"{where}：全部通过")
        return 0
    for line in problems:
        print(line)
    print(f"{where}：{len(problems)} 个问题", file=sys.stderr)
    return 1
