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
    v = sub.add_parser("verify-package", help="校验归档包（BagIt zip）：bagit、SHA-256 与 SM3 摘要、立档单位 SM2 签名、"
                                             "元数据 XML Schema；不需要站点数据库，任何持有公钥者均可校验")
    v.add_argument("file", help="归档包 zip 文件，或 DA/T 48 电子文件封装包（eep.xml）")
    v.add_argument("--public-key", help="立档单位公布的 SM2 公钥：PEM 文件、十六进制文件或十六进制字符串；"
                                        "省略时用包内公钥，只能证明封包后未被改动")
    v.set_defaults(func=cmd_verify_package)
    register_capture(sub)


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


def cmd_verify_package(args) -> int:
    """Exit 0 when the package passes every check that ran, 1 when anything failed, 2 on bad input."""
    from pathlib import Path

    from .checks import FAILED, readable
    from .signing import KeyError_, read_public
    from .verify import verify_package

    try:
        key = read_public(args.public_key) if args.public_key else None
    except KeyError_ as exc:
        print(f"错误：公钥无法读取：{exc}", file=sys.stderr)
        return 2
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"错误：无法读取 {args.file}：{exc.strerror or exc}", file=sys.stderr)
        return 2
    if data.lstrip()[:1] == b"<":  # a DA/T 48 EEP (eep.xml) rather than a BagIt zip
        from .verify import verify_eep_report

        summary = verify_eep_report(data, key)
    else:
        summary = verify_package(data, key)
    from ..timeutil import isoformat, now

    code = summary.get("archival_code") or "（未知）"
    print(readable(summary, archival_code=code, checked_at=isoformat(now()) or ""))
    if summary.get("key"):
        print(f"签名公钥：{summary['key']}")
    if summary["conclusion"] == FAILED:
        print("校验未通过：" + "；".join(summary["failed"]), file=sys.stderr)
        return 1
    print("校验通过（病毒检测不在本工具范围内，标为未检测）")
    return 0


def register_capture(sub) -> None:
    p = sub.add_parser("capture-checks", help="采集检测：对排队的上传原件做签名验证与完整解码，结果记在附件上"
                                              "（未运行后台线程的部署用 cron 或 --loop 运行）")
    p.add_argument("ini")
    p.add_argument("--loop", type=float, default=0.0, metavar="SECONDS",
                   help="不退出，每隔 SECONDS 秒检查一次队列")
    p.set_defaults(func=cmd_capture_checks)


def cmd_capture_checks(args) -> int:
    import time

    from ..scripts.env import load_registry
    from .capture import run_pending

    registry = load_registry(args.ini)
    try:
        while True:
            done = run_pending(registry)
            print(f"采集检测：已检测 {done} 个原件")
            if not args.loop:
                return 0
            time.sleep(args.loop)
    except KeyboardInterrupt:
        return 0
    finally:
        for db in registry._zodb_databases.values():
            db.close()
