"""``duban-archive tick INI [--now ISO]`` — fire due reminders and escalations, deliver the outbox."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("tick", help="发送到期的提醒、催办与督办（可由 cron 定时运行，幂等）")
    p.add_argument("ini", help="配置文件，如 production.ini")
    p.add_argument("--now", help="以此时刻运行（ISO 8601，如 2026-05-06T08:00:00+08:00；用于补发与测试）")
    p.set_defaults(func=tick_command)


def tick_command(args: argparse.Namespace) -> int:
    from ..scripts.env import load_registry
    from ..timeutil import parse_iso
    from .delivery import run_tick

    registry = load_registry(args.ini)
    moment = None
    if args.now:
        try:
            moment = parse_iso(args.now)
        except ValueError:
            print(f"错误：--now 不是有效的 ISO 8601 时间：{args.now}")
            return 2
    result = run_tick(registry, moment)
    print(result.summary())
    for msg_id, error in sorted(result.errors.items()):
        print(f"  {msg_id}: {error}")
    return 0
