"""Creating and completing the site tree (idempotent; run by ``duban-archive init``).

Imported by ``site_access`` (``open_site(create=True)``), never the other way round.
"""

from __future__ import annotations

import logging

from ..audit.log import AuditLog
from ..security.units import Unit, Units
from ..security.users import User, Users
from .board import Board
from .folder import Folder
from .site import ROOT_KEY, SCHEMA_GENERATION, Site

log = logging.getLogger(__name__)

DEMO_PASSWORD = "duban-demo"

DEMO_UNITS = [
    # id, title, parent, code, kind
    ("zfb", "市人民政府办公室", None, "BGS", "office"),
    ("zjj", "市住建局", None, "ZJJ", "department"),
    ("jtj", "市交通运输局", None, "JTJ", "department"),
    ("cgj", "市城管局", None, "CGJ", "department"),
    ("dcz", "东城街道办事处", None, "DCJD", "township"),
]

DEMO_USERS = [
    # username, title, roles, unit
    # 三员分立: three administrators, one account each (security/roles.py ADMIN_ROLES)
    ("admin", "系统管理员", ("sysadmin",), "zfb"),
    ("secadmin", "安全保密管理员", ("secadmin",), "zfb"),
    ("secauditor", "安全审计员", ("secauditor",), "zfb"),
    ("supervisor", "督查室 王督查", ("supervisor",), "zfb"),
    ("leader", "李副市长", ("leader",), "zfb"),
    ("unit_head", "住建局 张局长", ("unit_head",), "zjj"),
    ("handler", "住建局 刘承办", ("handler",), "zjj"),
    ("handler2", "交通局 陈承办", ("handler",), "jtj"),
    ("unit_head2", "交通局 赵局长", ("unit_head",), "jtj"),
    ("records_officer", "档案室 孙档案员", ("records_officer",), "zfb"),
    ("auditor", "审计局 周审计", ("auditor",), "zfb"),
    ("approver", "档案室 郑主任（鉴定审批）", ("disposal_approver",), "zfb"),
]


def ensure_site(zroot, registry) -> tuple[Site, list[str]]:
    """Create the site or add what a newer definition set expects; returns what was done."""
    done: list[str] = []
    site = zroot.get(ROOT_KEY)
    if site is None:
        site = zroot[ROOT_KEY] = Site()
        done.append("创建站点")
    for name, factory in (("boards", Folder), ("units", Units), ("users", Users), ("audit", AuditLog)):
        if name not in site:
            site.add(name, factory())
            done.append(f"创建 {name}")
    if "outbox" not in site:  # reminders and notices (duban_archive.notifications)
        from ..notifications.outbox import Outbox

        site.add("outbox", Outbox())
        done.append("创建 outbox")
    if "archive" not in site:  # 档案室: filed items, packages (duban_archive.archive)
        from ..archive.model import ArchiveRecords

        site.add("archive", ArchiveRecords())
        done.append("创建 archive")
    if "listing" not in site:
        from ..catalog.listing import Listing

        site.add("listing", Listing())
        done.append("创建列表索引")
    workflows = getattr(registry, "duban_workflows", None)
    for bdef in registry.duban_boards:
        if bdef.id not in site.boards:
            site.boards.add(bdef.id, Board(bdef.id, bdef.title, bdef.prefix, bdef.workflow, bdef.item_type))
            done.append(f"创建版块 {bdef.title}")
            workflow = workflows.get(bdef.workflow) if workflows is not None else None
            site["listing"].prepare_board(bdef.id, bdef.prefix, tuple(workflow.states) if workflow else ())
        else:  # titles and bindings follow the definitions
            board = site.boards[bdef.id]
            board.title, board.workflow, board.item_type = bdef.title, bdef.workflow, bdef.item_type
    return site, done


def add_demo_content(site) -> list[str]:
    done: list[str] = []
    units = site["units"]
    for uid, title, parent, code, kind in DEMO_UNITS:
        if uid not in units:
            units.add_unit(Unit(uid, title, parent, code, kind))
            done.append(f"单位 {title}")
    users = site["users"]
    for username, title, roles, unit in DEMO_USERS:
        if username not in users:
            user = User(username, title, roles, unit)
            user.set_password(DEMO_PASSWORD)
            users.add_user(user)
            done.append(f"用户 {username}")
    return done


def ensure_site_on_start(app, settings) -> None:
    """``duban.auto_init = true|demo``: create the site (and demo data) on first start."""
    import transaction

    mode = str(settings.get("duban.auto_init", "false")).lower()
    if mode not in ("true", "demo"):
        return
    db = app.registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        with tm:
            site, _ = ensure_site(conn.root(), app.registry)
            if mode == "demo":
                add_demo_content(site)
            if site.generation >= SCHEMA_GENERATION:  # an older site gets them from evolve step 8
                from pathlib import Path

                from ..security.administrators import ensure_three_administrators

                ensure_three_administrators(site, Path(settings["duban.var_dir"]), "system:init")
        if mode == "demo" and not site.settings.get("demo_items"):
            from ..demo import add_demo_items

            log.info("正在生成演示事项（一个月的督办、热线、互联网+督查事项）……")
            with tm:
                add_demo_items(conn.root()[ROOT_KEY], app.registry, commit=tm.commit)
    finally:
        conn.close()
