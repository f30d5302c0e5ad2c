"""``duban-archive`` — one console script, subcommands contributed by subpackages.

Each module in :data:`COMMAND_MODULES` defines ``register(subparsers)``; a
subpackage adds its commands (tick, reindex, fixity ...) without touching
this file's logic.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "duban_archive.scripts.site_commands",
    "duban_archive.workflows.commands",
    "duban_archive.catalog.commands",
    "duban_archive.archive.commands",
    "duban_archive.notifications.commands",
    "duban_archive.reports.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="duban-archive", description="督查督办档案系统 命令行工具")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # subpackage contributes no commands (yet)
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except LookupError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
