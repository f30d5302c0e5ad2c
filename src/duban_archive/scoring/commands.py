"""``duban-archive explain-score INI UNIT PERIOD [--rules NAME] [--json]`` — 规则核对 from the shell.

Reads only (its transaction is aborted, nothing is written), so it works beside a running site: with
``var/zeo.sock`` answering it joins as a ZEO client (``scripts/env.load_registry``); an embedded site
that holds the storage is the usual one-line refusal (exit 3).
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("explain-score", help="规则核对：逐项列出单位在考核期间的每一项加分、扣分及其规则和事项")
    p.add_argument("ini")
    p.add_argument("unit", help="承办单位代码（如 zjj）")
    p.add_argument("period", help="考核期间：2026-05、2026-Q2、2026-H1 或 2026")
    p.add_argument("--rules", default=None, help="计分规则（默认为本系统选定的规则）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（与 GET /api/v1/scores/explain 相同）")
    p.set_defaults(func=explain_command)


def explain_command(args: argparse.Namespace) -> int:
    import transaction

    from ..content_types.site_access import open_site
    from ..errors import Refusal
    from ..scripts.env import load_registry
    from . import scoring_rules
    from .explain import explain, explain_text

    registry = load_registry(args.ini)
    if args.rules and args.rules not in registry.duban_scoring_rules_all:
        print(f"错误：未知的计分规则 {args.rules}（可选：{'、'.join(registry.duban_scoring_rules_all)}）",
              file=sys.stderr)
        return 2
    rules = scoring_rules(registry, args.rules)
    with open_site(registry) as site:
        try:
            data = explain(site, rules, args.unit, args.period)
        except Refusal as exc:
            print(f"错误：{exc.message}：" + "；".join(f"{k} {v}" for k, v in (exc.fields or {}).items()),
                  file=sys.stderr)
            return 2
        finally:
            transaction.abort()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        print(explain_text(data))
    return 0
