"""``duban-archive`` — one console script, subcommands contributed by subpackages.

Each module in :data:`COMMAND_MODULES` defines ``register(subparsers)``; a
subpackage adds its commands (tick, reindex, fixity ...) without touching
this file's logic.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from ..definitions import DefinitionError

# setuptools' notice about pyramid's use of pkg_resources is for developers, not for an office's admin
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

COMMAND_MODULES = [
    "duban_archive.scripts.site_commands",
    "duban_archive.scripts.check_definitions",
    "duban_archive.workflows.commands",
    "duban_archive.catalog.commands",
    "duban_archive.archive.commands",
    "duban_archive.notifications.commands",
    "duban_archive.reports.commands",
    "duban_archive.scoring.commands",
    "duban_archive.storage.commands",
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
    except DefinitionError as exc:  # the site refuses to start: every problem, one a line, no traceback
        print("错误：定义文件有误，站点不能启动 / invalid definition files:", file=sys.stderr)
        for line in exc.lines:
            print(f"  {line}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # a data directory it cannot write (vardir.VarDirUnusable): one line
        message = storage_refusal(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 3
    except Exception as exc:  # noqa: BLE001 — a storage that cannot be opened: one line, never a traceback
        message = storage_refusal(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 3


def storage_refusal(exc: BaseException) -> str | None:
    """The one-line answer for a database this command cannot open, or None."""
    from zc.lockfile import LockError

    from ..storage.zeo import StorageBusy
    from ..vardir import VarDirUnusable

    if isinstance(exc, VarDirUnusable):
        return str(exc)  # already "错误：…" naming the directory
    if isinstance(exc, StorageBusy):
        return f"错误：{exc}"
    if isinstance(exc, LockError):
        return ("错误：数据库正被另一个进程独占使用（站点以 duban.storage = embedded 运行）。"
                "请在 ini 中设置 duban.storage = zeo 并重启站点，或先停止站点再执行此命令。 / "
                "The database is locked by another process: run the site with duban.storage = zeo, "
                "or stop it first.")
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
