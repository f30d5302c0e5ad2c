"""Workflow commands: check-workflows, workflow-diagram, remap, calendar, workflow-tick."""

from __future__ import annotations

import sys

import transaction


def register(sub) -> None:
    p = sub.add_parser("check-workflows", help="检查流程定义：不可达状态、非终态死路、无守卫流转、无权限映射的状态")
    p.add_argument("ini")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("workflow-diagram", help="输出流程图 (SVG，或 --format dot)")
    p.add_argument("ini")
    p.add_argument("name", help="流程名，如 duban、internet_plus、hotline")
    p.add_argument("--format", choices=("svg", "dot", "png"), default="svg")
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("remap", help="按当前流程定义重算所有事项的权限 (ACL) 与下一时限")
    p.add_argument("ini")
    p.add_argument("--batch", type=int, default=1000, help="每批提交的事项数")
    p.set_defaults(func=cmd_remap)

    p = sub.add_parser("calendar", help="查看或录入某年的节假日与调休上班日（内置安排之外的年份）")
    p.add_argument("ini")
    p.add_argument("--year", type=int, help="年份")
    p.add_argument("--holidays", default=None, help="放假日期，逗号分隔 YYYY-MM-DD")
    p.add_argument("--workdays", default="", help="调休上班日，逗号分隔 YYYY-MM-DD")
    p.add_argument("--remove", action="store_true", help="删除该年的自定义安排")
    p.set_defaults(func=cmd_calendar)

    p = sub.add_parser("workflow-tick", help="执行到时的自动流转（如 12345 超过退单时限视同签收）；可重复执行")
    p.add_argument("ini")
    p.add_argument("--now", default=None, help="以此时间为当前时间 (ISO 8601)")
    p.set_defaults(func=cmd_tick)


def _registry(ini: str):
    from ..scripts.env import load_registry

    registry = load_registry(ini)
    import atexit

    atexit.register(_close, registry)
    return registry


def _close(registry) -> None:
    """Release the FileStorage lock (commands may run one after another in one process)."""
    for db in getattr(registry, "_zodb_databases", {}).values():
        db.close()


def cmd_check(args) -> int:
    from .lint import check

    registry = _registry(args.ini)
    problems = 0
    for wf in registry.duban_workflows:
        found = check(wf)
        problems += len(found)
        print(f"{wf.name}（{wf.title}）：{'通过' if not found else f'{len(found)} 个问题'}")
        for line in found:
            print(f"  - {line}")
    _close(registry)
    return 1 if problems else 0


def cmd_diagram(args) -> int:
    from .diagram import svg, to_dot

    registry = _registry(args.ini)
    _close(registry)  # drawing needs the definitions only
    wf = registry.duban_workflows.get(args.name)
    if wf is None:
        names = "、".join(w.name for w in registry.duban_workflows)
        print(f"错误：没有名为 {args.name} 的流程，可选：{names}", file=sys.stderr)
        return 2
    if args.format == "dot":
        sys.stdout.write(to_dot(wf).source)
    elif args.format == "png":
        sys.stdout.buffer.write(to_dot(wf).pipe(format="png"))
    else:
        sys.stdout.write(svg(wf))
    return 0


def remap_site(site, registry, batch: int = 1000, commit=None) -> int:
    """Recompute every item's ACL (and reindex it); returns how many items."""
    from ..catalog.listing import reindex_item

    count = 0
    for item in list(site.item_index.values()):
        wf = registry.duban_workflows.get(item.workflow)
        if wf is None or item.state not in wf.states:
            print(f"跳过 {item.item_id}：流程 {item.workflow} 中没有状态 {item.state}", file=sys.stderr)
            continue
        wf.apply_acl(item)
        reindex_item(site, item, registry)
        count += 1
        if commit and count % batch == 0:
            commit()
    return count


def cmd_remap(args) -> int:
    from ..audit.log import record
    from ..content_types.site_access import open_site

    registry = _registry(args.ini)
    with open_site(registry) as site:
        count = remap_site(site, registry, args.batch, transaction.commit)
        record(site, "edit", "cli", "workflows", field="acl", new=f"remap {count}")
        transaction.commit()
    _close(registry)
    print(f"已按当前流程定义重算 {count} 个事项的权限")
    return 0


def cmd_calendar(args) -> int:

    registry = _registry(args.ini)
    try:
        return _calendar(args, registry)
    finally:
        _close(registry)


def _calendar(args, registry) -> int:
    from ..content_types.site_access import open_site
    from .calendar import SETTINGS_KEY, package_knows, remove_year, set_year, validate_year

    with open_site(registry) as site:
        if args.year is None:
            table = site.settings.get(SETTINGS_KEY) or {}
            print("内置安排：2004–2026 年（chinese_calendar）")
            for y in sorted(table, key=int):
                print(f"{y}：节假日 {len(table[y].get('holidays', ()))} 天，调休上班 "
                      f"{len(table[y].get('workdays', ()))} 天{'（覆盖内置）' if package_knows(int(y)) else ''}")
            return 0
        if args.remove:
            ok = remove_year(site, args.year)
            transaction.commit()
            print(f"已删除 {args.year} 年的自定义安排" if ok else f"{args.year} 年没有自定义安排")
            return 0
        if args.holidays is None:
            print("错误：请用 --holidays 给出放假日期", file=sys.stderr)
            return 2
        holidays = [d.strip() for d in args.holidays.split(",") if d.strip()]
        workdays = [d.strip() for d in args.workdays.split(",") if d.strip()]
        errors = validate_year(args.year, holidays, workdays)
        if errors:
            for k, v in errors.items():
                print(f"错误（{k}）：{v}", file=sys.stderr)
            return 1
        set_year(site, args.year, holidays, workdays)
        transaction.commit()
    print(f"已保存 {args.year} 年：节假日 {len(set(holidays))} 天，调休上班 {len(set(workdays))} 天")
    return 0


def run_automatic(site, registry) -> int:
    """Fire due automatic transitions on open items that have any; returns how many fired."""
    from ..catalog.listing import items_in_states

    waiting = {s for wf in registry.duban_workflows for t in wf.transitions.values() if t.auto for s in t.sources}
    fired = 0
    for item in items_in_states(site, waiting):  # from the listing index, not a scan of every item
        wf = registry.duban_workflows.get(item.workflow)
        if wf is None or not any(t.auto and item.state in t.sources for t in wf.transitions.values()):
            continue
        fired += len(wf.run_automatic(item, site=site))
    return fired


def cmd_tick(args) -> int:
    import contextlib

    from ..content_types.site_access import open_site
    from ..timeutil import frozen_now, parse_iso

    registry = _registry(args.ini)
    clock = frozen_now(parse_iso(args.now)) if args.now else contextlib.nullcontext()
    with clock, open_site(registry) as site:
        fired = run_automatic(site, registry)
        transaction.commit()
    _close(registry)
    print(f"已执行 {fired} 个自动流转")
    return 0
