"""Commands: ``duban-archive indexer INI`` and ``duban-archive reindex INI``.

``indexer`` is the production single writer: it applies the queue the web
processes write, in a loop (``--once`` to drain and exit).  It needs a ZODB
that several processes can open (ZEO or RelStorage); with the embedded
FileStorage the web process indexes in-process instead.  ``reindex`` rebuilds
the whole index from ZODB beside the live one and switches atomically.
"""

from __future__ import annotations

import sys
import time


def register(sub) -> None:
    p = sub.add_parser("indexer", help="全文索引进程：把事务中排队的索引任务写入全文索引（单写入者）")
    p.add_argument("ini")
    p.add_argument("--once", action="store_true", help="处理完当前队列后退出")
    p.add_argument("--interval", type=float, default=2.0, help="队列为空时的轮询间隔（秒）")
    p.add_argument("--batch", type=int, default=200, help="每批处理的条目数")
    p.set_defaults(func=cmd_indexer)

    p = sub.add_parser("reindex", help="从数据库重建全文索引（带进度条），完成后原子切换")
    p.add_argument("ini")
    p.add_argument("--procs", type=int, default=2, help="并行分析的进程数（默认 2）")
    p.add_argument("--quiet", action="store_true", help="不显示进度条")
    p.set_defaults(func=cmd_reindex)


def _catalog(ini: str):
    from ..scripts.env import load_registry

    registry = load_registry(ini)
    return registry.duban_fulltext


def cmd_indexer(args) -> int:
    catalog = _catalog(args.ini)

    def report(n: int) -> None:
        print(f"已索引 {n} 条", flush=True)

    try:
        while True:
            done = catalog.indexer.apply_pending(lock_timeout=None, batch=args.batch, on_batch=report)
            if args.once:
                print(f"完成：本次共处理 {done} 条索引任务", flush=True)
                return 0
            if not done:
                time.sleep(args.interval)
    finally:
        _close(catalog)


def _close(catalog) -> None:
    for db in catalog.indexer.registry._zodb_databases.values():
        db.close()


def cmd_reindex(args) -> int:
    from tqdm import tqdm

    catalog = _catalog(args.ini)
    bar = None if args.quiet else tqdm(total=0, unit="件", desc="重建全文索引", file=sys.stderr)

    def progress(n: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = n
            bar.refresh()

    start = time.monotonic()
    skipped: dict[str, str] = {}
    numbers: dict[str, str] = {}
    try:
        try:
            n = catalog.indexer.rebuild(procs=max(1, args.procs), progress=progress, skipped=skipped)
        except Exception as exc:  # noqa: BLE001 - a message and exit status 2, never a traceback
            if bar is not None:
                bar.close()
                bar = None
            print(f"重建全文索引失败：{type(exc).__name__}: {exc}", file=sys.stderr)
            return 2
        if skipped:
            numbers = _numbers(catalog, skipped)
    finally:
        if bar is not None:
            bar.close()
        _close(catalog)
    elapsed = time.monotonic() - start
    rate = n / elapsed if elapsed > 0 else 0.0
    print(f"已重建全文索引：{n} 件，用时 {elapsed:.1f} 秒（{rate:.0f} 件/秒）")
    if skipped:
        print(f"以下 {len(skipped)} 件事项无法建立索引，已跳过（已在事项上标注，修改后会自动重新索引）：")
        for item_id, reason in sorted(skipped.items(), key=lambda kv: numbers.get(kv[0], kv[0])):
            print(f"  {numbers.get(item_id, '')}（{item_id}）：{reason}")
        return 1
    return 0


def _numbers(catalog, item_ids) -> dict[str, str]:
    """Item numbers (事项编号) of ``item_ids``, for people reading the report."""
    from ..content_types.site_access import open_site

    out: dict[str, str] = {}
    try:
        with open_site(catalog.indexer.registry) as site:
            for item_id in item_ids:
                item = site.get_item(item_id)
                if item is not None:
                    out[item_id] = item.number
    except Exception:  # noqa: BLE001 - ids alone still say which items
        pass
    return out
