"""``duban-archive pack / backup / restore``: database maintenance, also while the site serves.

Exit 0 on success, 1 on a refusal or failure (one Chinese line on stderr,
nothing changed).  ``backup`` and ``restore`` never open the database
through the application: they work on the files of the data directory named
by the ini (``var/`` beside it, or ``$DUBAN_VAR_DIR``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: seconds a command waits for another maintenance task (e.g. the nightly pack) to finish
DEFAULT_WAIT = 600.0


def register(sub) -> None:
    p = sub.add_parser("pack", help="压缩数据库：清除超过保留天数的历史版本（站点运行时也可执行）")
    p.add_argument("ini")
    p.add_argument("--days", type=int, default=7, help="保留最近多少天的历史，默认 7；0 表示只保留当前版本")
    p.add_argument("--wait", type=float, default=DEFAULT_WAIT,
                   help=f"若另一个维护任务正在运行，最多等待的秒数，默认 {DEFAULT_WAIT:.0f}")
    p.set_defaults(func=cmd_pack)

    p = sub.add_parser("backup", help="备份数据库（repozo，可增量）和附件文件到目录 DEST（站点运行时也可执行）")
    p.add_argument("ini")
    p.add_argument("dest", help="备份目录；再次备份到同一目录时只追加变化的部分")
    p.add_argument("--wait", type=float, default=DEFAULT_WAIT,
                   help=f"若另一个维护任务正在运行，最多等待的秒数，默认 {DEFAULT_WAIT:.0f}")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="从备份目录 SRC 恢复数据库和附件到 ini 指定的数据目录（站点须已停止）")
    p.add_argument("ini")
    p.add_argument("src", help="backup 命令写入的备份目录")
    p.add_argument("--force", action="store_true", help="数据目录中已有数据库时仍覆盖它")
    p.set_defaults(func=cmd_restore)


def _mb(size: int | None) -> str:
    return "未知" if size is None else f"{size / (1 << 20):.1f} MB"


def _var_of(ini: str) -> Path:
    from pyramid.paster import get_appsettings

    from ..settings import var_dir

    settings = get_appsettings(ini)
    return var_dir(settings.global_conf, settings)


def _explicit_database(ini: str) -> str | None:
    """The ini's own ``zodbconn.uri`` (RelStorage or another server), which these commands do not copy."""
    from pyramid.paster import get_appsettings

    return get_appsettings(ini).get("zodbconn.uri") or None


NOT_FILESTORAGE = ("此站点的数据库不在数据目录中（zodbconn.uri = {uri}）：backup / restore 只处理 Data.fs 和附件目录；"
                   "PostgreSQL（RelStorage）请用 pg_dump / pg_restore 备份和恢复，见 production.ini")


def _filestorage_var(ini: str) -> tuple[Path | None, int | None]:
    """The data directory whose Data.fs and blobs backup/restore handle, or the refusal's exit code."""
    if not os.path.exists(ini):
        return None, _refuse(f"找不到配置文件 {ini}")
    if uri := _explicit_database(ini):
        return None, _refuse(NOT_FILESTORAGE.format(uri=uri))
    return _var_of(ini), None


def _refuse(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return 1


def cmd_pack(args) -> int:
    from ..scripts.env import load_registry
    from .maintenance import MaintenanceError, pack

    if not os.path.exists(args.ini):
        return _refuse(f"找不到配置文件 {args.ini}")
    if args.days < 0:
        return _refuse(f"--days 不能为负数：{args.days}")
    registry = load_registry(args.ini)
    try:
        result = pack(registry, args.days, actor="system:cli", wait=args.wait)
    except MaintenanceError as exc:
        return _refuse(str(exc))
    finally:
        for db in registry._zodb_databases.values():
            db.close()
    line = f"数据库已压缩（保留 {result['days']} 天历史，用时 {result['seconds']:.1f} 秒）"
    if result["datafs"]:
        line += f"：Data.fs {_mb(result['before'])} → {_mb(result['after'])}"
    print(line + ("，已记入审计日志" if result["audited"] else ""))
    if not result["audited"]:
        print("警告：本次压缩未能记入审计日志（站点未初始化或审计日志多次写入冲突）", file=sys.stderr)
    return 0


def cmd_backup(args) -> int:
    from .maintenance import MaintenanceError, backup

    var, refusal = _filestorage_var(args.ini)
    if var is None:
        return refusal or 1
    try:
        m = backup(var, Path(args.dest), wait=args.wait)
    except MaintenanceError as exc:
        return _refuse(str(exc))
    kind = {"full": "完整备份", "incremental": "增量备份", "unchanged": "数据库自上次备份以来无变化"}
    print(f"已备份 {var} 到 {Path(args.dest).resolve()}：{kind[m['repozo']['kind']]}"
          f"（备份库共 {len(m['repozo']['files'])} 个文件，{_mb(m['repozo']['bytes'])}）；"
          f"附件文件 {m['blobs']['files']} 个，新复制 {m['blobs']['copied']} 个（{_mb(m['blobs']['bytes_copied'])}）；"
          f"用时 {m['seconds']:.1f} 秒")
    return 0


def cmd_restore(args) -> int:
    from .maintenance import MaintenanceError, restore

    var, refusal = _filestorage_var(args.ini)
    if var is None:
        return refusal or 1
    try:
        r = restore(Path(args.src), var, force=args.force)
    except MaintenanceError as exc:
        return _refuse(str(exc))
    print(f"已从 {r['source']} 恢复数据库到 {r['datafs']}（{_mb(r['size'])}，"
          f"数据截至 {r['last_transaction'] or '未知'}），附件文件 {r['blobs']['files']} 个")
    print(f"请执行 duban-archive reindex {args.ini} 重建全文索引，然后启动站点")
    return 0
