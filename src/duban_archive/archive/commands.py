"""``duban-archive fixity INI``: re-verify every stored blob (cron-safe, read-only but the audit log).

Exit 0 when every file is present and matches its digest, 1 when anything is
missing or differs (or the audit entries could not be committed).  A bad blob
is a line of output, never a traceback.
"""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("fixity", help="固定性校验：重算所有附件、归档包和档案 PDF 的摘要，"
                                        "发现缺失或不一致即报告并记入审计日志")
    p.add_argument("ini")
    p.add_argument("--wait", type=float, default=600.0,
                   help="另一个维护任务（压缩、备份）正在运行时最多等待的秒数（默认 600）")
    p.set_defaults(func=cmd_fixity)


def cmd_fixity(args) -> int:
    from pathlib import Path

    from ..scripts.env import load_registry
    from ..storage.maintenance import MaintenanceBusy, maintenance_lock
    from .fixity import MISSING, run_fixity

    registry = load_registry(args.ini)
    try:
        # never beside a pack, which moves blob files away mid-check
        with maintenance_lock(Path(registry.settings["duban.var_dir"]), wait=args.wait):
            report = run_fixity(registry)
    except MaintenanceBusy as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    finally:
        for db in registry._zodb_databases.values():
            db.close()
    print(f"固定性校验：已校验 {report.checked} 个文件，共 {report.bytes} 字节；"
          f"缺失 {report.missing} 个，不一致 {report.mismatched} 个")
    for f in report.findings:
        if f.kind == MISSING:
            print(f"缺失：{f.item} {f.what}：{f.actual}（应有摘要 {f.expected or '无'}）", file=sys.stderr)
        else:
            print(f"不一致：{f.item} {f.what}：应为 {f.expected}，实为 {f.actual}", file=sys.stderr)
    if not report.audited:
        print("警告：审计日志多次写入冲突，本次结果未能记入审计日志，请稍后重新执行", file=sys.stderr)
    if report.ok:
        print("全部一致" + ("，已记入审计日志" if report.audited else ""))
        return 0 if report.audited else 1
    print(f"发现 {len(report.findings)} 处问题（缺失 {report.missing}，不一致 {report.mismatched}）"
          + ("，已记入审计日志" if report.audited else ""), file=sys.stderr)
    return 1
