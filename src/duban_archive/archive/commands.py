"""``duban-archive fixity INI``: re-verify archived blobs (cron-safe, read-only but the audit log)."""

from __future__ import annotations

import sys

import transaction


def register(sub) -> None:
    p = sub.add_parser("fixity", help="固定性校验：重算所有归档包、档案 PDF 和已归档附件的摘要，"
                                        "发现不符即报告并记入审计日志")
    p.add_argument("ini")
    p.set_defaults(func=cmd_fixity)


def cmd_fixity(args) -> int:
    from ..content_types.site_access import open_site
    from ..scripts.env import load_registry
    from .fixity import verify

    registry = load_registry(args.ini)
    try:
        with open_site(registry) as site:
            report = verify(site)
            transaction.commit()
    finally:
        for db in registry._zodb_databases.values():
            db.close()
    print(f"已校验 {report.checked} 个文件，共 {report.bytes} 字节")
    if report.ok:
        print("全部一致")
        return 0
    for m in report.mismatches:
        print(f"不一致：{m['item']} {m['what']}：应为 {m['expected']}，实为 {m['actual']}", file=sys.stderr)
    print(f"发现 {len(report.mismatches)} 处不一致，已记入审计日志", file=sys.stderr)
    return 1
