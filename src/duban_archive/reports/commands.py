"""``duban-archive import-ledger INI FILE.xlsx [--board B] [--actor USER]`` and ``export-ledger``."""

from __future__ import annotations

import argparse
import io
import sys
import time

#: commits tried beside a running site before giving up
ATTEMPTS = 5


def register(subparsers) -> None:
    p = subparsers.add_parser("import-ledger", help="导入已有的 Excel 电子台账（任一行有误则全部不导入）")
    p.add_argument("ini")
    p.add_argument("file", help="Excel 文件 (.xlsx)，第 1 行为列名（如 事项名称、承办单位、完成时限）")
    p.add_argument("--board", default="rcgl", help="导入到的版块（默认 rcgl 日常管理事项）")
    p.add_argument("--actor", default="supervisor", help="记入审计日志的操作人（默认 supervisor）")
    p.add_argument("--check", action="store_true", help="只逐行校验并列出错误，不导入（预览）")
    p.set_defaults(func=import_command)
    e = subparsers.add_parser("export-ledger", help="导出电子台账 Excel")
    e.add_argument("ini")
    e.add_argument("file", help="输出文件 (.xlsx)")
    e.add_argument("--board", default=None, help="只导出此版块")
    e.set_defaults(func=export_command)


def import_command(args: argparse.Namespace) -> int:
    """Import all or nothing; beside a running ZEO site a conflicting commit is tried again."""
    import transaction
    from transaction.interfaces import TransientError

    from ..content_types.site_access import open_site
    from ..scripts.env import load_registry
    from .ledger import LedgerImportError, import_ledger

    try:
        with open(args.file, "rb") as f:
            data = io.BytesIO(f.read())
    except OSError:
        print(f"错误：找不到或无法读取文件 {args.file}", file=sys.stderr)
        return 2
    registry = load_registry(args.ini)  # joins the site's ZEO server when it runs (storage/__init__.py)
    if args.check:
        return check_command(registry, data, args.board)
    for attempt in range(ATTEMPTS):
        with open_site(registry) as site:
            try:
                data.seek(0)
                result = import_ledger(site, registry, data, args.board, args.actor)
                transaction.commit()
            except LedgerImportError as exc:
                transaction.abort()
                print(str(exc), file=sys.stderr)
                for line in exc.errors:
                    print(f"  {line}", file=sys.stderr)
                return 1
            except TransientError:  # the running site wrote the same objects meanwhile: nothing was kept
                transaction.abort()
                if attempt + 1 == ATTEMPTS:
                    print("错误：站点正忙，多次重试仍与其他操作冲突，未导入任何事项，请稍后重试", file=sys.stderr)
                    return 1
                time.sleep(0.2 * (attempt + 1))
                continue
        break
    print(f"已导入 {len(result.created)} 件事项：{', '.join(result.created)}")
    return 0


def check_command(registry, data: io.BytesIO, board: str) -> int:
    """``--check``: the preview on the command line (exit 1 when any row would be refused)."""
    from ..content_types.site_access import open_site
    from .ledger_import import LedgerImportError, check_ledger

    with open_site(registry) as site:
        try:
            check = check_ledger(site, registry, data, board)
        except LedgerImportError as exc:
            problems = exc.errors
            rows = valid = 0
        else:
            problems = [p.line() for p in check.problems]
            rows, valid = check.rows, len(check.valid)
    print(f"共 {rows} 行数据，{valid} 行无误，{len(problems)} 处错误（未写入任何数据）")
    for line in problems:
        print(f"  {line}")
    return 1 if problems else 0


def export_command(args: argparse.Namespace) -> int:
    from ..content_types.site_access import open_site
    from ..scripts.env import load_registry
    from .ledger import export_ledger

    registry = load_registry(args.ini)
    with open_site(registry) as site:
        items = [i for i in site.item_index.values() if args.board in (None, i.board_id)]
        data = export_ledger(site, registry, items)
    with open(args.file, "wb") as f:
        f.write(data)
    print(f"已导出 {len(items)} 件事项到 {args.file}")
    return 0
