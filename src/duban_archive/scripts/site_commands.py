"""Site commands: init, adduser, passwd, evolve."""

from __future__ import annotations

import getpass
import sys

import transaction


def register(sub) -> None:
    p = sub.add_parser("init", help="创建站点（版块、单位、角色），--demo 加演示用户和一个月的演示事项；可重复执行")
    p.add_argument("ini")
    p.add_argument("--demo", nargs="?", const="full", choices=("full", "empty"), default=None,
                   help="添加演示单位、每个角色一个演示用户，以及各版块一个月的演示事项（--demo=empty：不要演示事项）")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("adduser", help="添加用户")
    p.add_argument("ini")
    p.add_argument("username")
    p.add_argument("--title", default="", help="姓名/显示名")
    p.add_argument("--role", action="append", default=[], help="角色，可多次指定")
    p.add_argument("--unit", default=None, help="所属单位 id")
    p.add_argument("--password", default=None, help="密码（省略则交互输入）")
    p.set_defaults(func=cmd_adduser)

    p = sub.add_parser("passwd", help="设置用户密码（此前的登录会话和 API 令牌全部失效）")
    p.add_argument("ini")
    p.add_argument("username")
    p.add_argument("--password", default=None, help="新密码（省略则交互输入两次）")
    p.add_argument("--temporary", action="store_true", help="临时密码：用户下次登录时须修改")
    p.set_defaults(func=cmd_passwd)

    p = sub.add_parser("evolve", help="执行尚未执行的数据演进步骤")
    p.add_argument("ini")
    p.add_argument("--list", action="store_true", help="只列出待执行的步骤")
    p.set_defaults(func=cmd_evolve)


def _close(registry) -> None:
    """Release Data.fs (its lock) so the same process may open it again."""
    for db in getattr(registry, "_zodb_databases", {}).values():
        db.close()


def cmd_init(args) -> int:
    from ..content_types.bootstrap import DEMO_PASSWORD, add_demo_content, ensure_site
    from .env import load_registry

    registry = load_registry(args.ini)
    db = registry._zodb_databases[""]
    conn = db.open()
    try:
        # one ensure_site call, so the first run reports that it created the site
        site, done = ensure_site(conn.root(), registry)
        if args.demo:
            done += add_demo_content(site)
        done += _three_administrators(site, registry)
        transaction.commit()
        if args.demo == "full":
            from ..demo import add_demo_items

            print("正在生成演示事项……", flush=True)
            done += add_demo_items(site, registry, commit=transaction.commit)
            transaction.commit()
    finally:
        transaction.abort()
        conn.close()
        _close(registry)
    for line in done or ["站点已是最新，无需更改"]:
        print(line)
    if args.demo:
        print(f"演示用户（admin 系统管理员, secadmin 安全保密管理员, secauditor 安全审计员, supervisor, leader, "
              f"unit_head, handler, handler2, records_officer, auditor）的密码均为：{DEMO_PASSWORD}  "
              "—— 生产环境请务必修改")
    return 0


def _three_administrators(site, registry) -> list[str]:
    """三员分立: an account for each administrator role nobody holds yet (passwords to a 0600 file)."""
    from pathlib import Path

    from ..content_types.site import SCHEMA_GENERATION
    from ..security.administrators import ensure_three_administrators

    if getattr(site, "generation", 0) < SCHEMA_GENERATION:  # admin -> sysadmin is evolve step 8's
        return ["站点数据尚未演进到最新，三员账号未检查：请先执行 duban-archive evolve"]
    created, path = ensure_three_administrators(site, Path(registry.settings["duban.var_dir"]), "cli")
    if not created:
        return []
    return [f"三员账号 {'、'.join(created)}：一次性密码将写入 {path}（仅属主可读；首次登录须修改，交接后请删除该文件）"]


def cmd_adduser(args) -> int:
    from .env import load_registry

    password = args.password or getpass.getpass("密码：")
    registry = load_registry(args.ini)
    try:
        return _adduser(args, registry, password)
    finally:
        _close(registry)


def _adduser(args, registry, password: str) -> int:
    from ..audit.log import record
    from ..content_types.site_access import open_site
    from ..security.roles import separation_problem
    from ..security.users import User

    with open_site(registry) as site:
        if args.username in site["users"]:
            print(f"错误：用户 {args.username} 已存在", file=sys.stderr)
            return 1
        if args.unit and args.unit not in site["units"]:
            print(f"错误：单位 {args.unit} 不存在", file=sys.stderr)
            return 1
        problem = separation_problem(args.role)
        if problem:
            print(f"错误：{problem}", file=sys.stderr)
            return 1
        try:
            user = User(args.username, args.title or args.username, args.role, args.unit)
            user.set_password(password)
        except ValueError as exc:
            print(f"错误：{exc}", file=sys.stderr)
            return 1
        site["users"].add_user(user)
        record(site, "user", "cli", f"user:{args.username}", detail="adduser", roles=list(args.role))
        transaction.commit()
    print(f"已添加用户 {args.username}")
    return 0


def cmd_passwd(args) -> int:
    from .env import load_registry

    password = args.password
    if password is None:
        password = getpass.getpass("新密码：")
        if getpass.getpass("再次输入新密码：") != password:
            print("错误：两次输入的密码不一致", file=sys.stderr)
            return 1
    registry = load_registry(args.ini)
    try:
        return _passwd(args, registry, password)
    finally:
        _close(registry)


def _passwd(args, registry, password: str) -> int:
    from ..content_types.site_access import open_site
    from ..security.passwords import change_password, policy_problems, reset_password, site_policy

    with open_site(registry) as site:
        user = site["users"].get(args.username)
        if user is None:
            print(f"错误：用户 {args.username} 不存在", file=sys.stderr)
            return 1
        problems = policy_problems(password, args.username, site_policy(site))
        if problems:
            print(f"错误：{'；'.join(problems)}", file=sys.stderr)
            return 1
        if args.temporary:
            reset_password(site, user, password, "cli", via="cli")
        else:
            change_password(site, user, password, "cli", via="cli")
        transaction.commit()
    note = "；该用户下次登录时须修改密码" if args.temporary else ""
    print(f"已设置用户 {args.username} 的密码，此前的登录会话和 API 令牌均已失效{note}")
    return 0


def cmd_evolve(args) -> int:
    from .env import load_registry

    registry = load_registry(args.ini)
    try:
        return _evolve(args, registry)
    finally:
        _close(registry)


def _evolve(args, registry) -> int:
    from ..content_types.site_access import open_site
    from ..evolve import pending

    with open_site(registry) as site:
        steps = pending(site)
        if not steps:
            print(f"数据已是最新（第 {site.generation} 代）")
            return 0
        for generation, name, fn in steps:
            if args.list:
                print(f"待执行：{generation} {name}")
                continue
            result = fn(site, registry)
            site.generation = generation
            transaction.commit()
            print(f"已执行 {generation} {name}：{result}")
    return 0
