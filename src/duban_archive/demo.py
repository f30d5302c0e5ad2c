"""A living demo site: a month of items in every state, across the boards.

A newcomer who logs in to an empty site sees empty boards everywhere and
learns nothing.  ``duban-archive init --demo`` (and ``make run``) therefore
walks items through the *real* workflows as the demo users, with the clock
set back over the past month: every transition is validated, guarded,
audited, indexed and deadline-planned exactly as if people had done it.
Nothing here knows a workflow by name: at each step it takes one of the
transitions the demo users may take (forward steps preferred, a push-back
now and then), fills the transition's fields from their definitions and
uploads the attachments a step requires — so it keeps working when a site
profile changes the definitions.
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pyramid.threadlocal import manager

from .content_types.actions import add_attachment, add_feedback, create_item
from .security.roles import user_principals
from .timeutil import frozen_now, now
from .workflows.engine import WorkflowError

log = logging.getLogger(__name__)

#: (title, source, content) — the kind of work a county 督查室 follows
SUBJECTS = [
    ("老旧小区改造加装电梯", "县政府常务会议", "完成东城片区 6 个老旧小区加装电梯选址、公示与开工"),
    ("背街小巷路灯修复", "12345 热线集中反映", "排查修复城区背街小巷损坏路灯，夜间照明全覆盖"),
    ("农贸市场周边占道经营整治", "县委督查通知", "整治农贸市场周边占道经营，设置临时疏导点"),
    ("城区积水点改造", "领导批示件", "对汛期反映的 5 处积水点实施排水管网改造"),
    ("学校周边交通安全整治", "人大代表建议", "上下学时段增派警力，完善学校周边标志标线"),
    ("建筑工地扬尘治理", "生态环境督察反馈", "落实工地围挡、喷淋、车辆冲洗，严控扬尘"),
    ("公交线路优化调整", "政协委员提案", "根据新建小区分布优化 3 条公交线路"),
    ("保障性住房分配", "重点工作任务", "完成第四批保障性住房资格审核与分配"),
    ("政务服务“一网通办”", "重大改革事项", "梳理高频事项清单，年内实现网上办理"),
    ("河道垃圾清理", "互联网+督查 平台交办", "清理城区河道漂浮垃圾，建立日常保洁机制"),
    ("小区物业服务投诉", "12345 热线工单", "督促物业企业整改服务不到位问题并回访"),
    ("冬季供暖保障", "县政府专题会议", "检修供热管网，确保居民室温达标"),
]
#: how many steps each item of a board takes (the walk also stops where nobody can act)
DEPTHS = (0, 1, 2, 3, 5, 8, 12, 20)
#: closed items filed into the 档案室 (each renders a dossier: a second or two)
FILED = 2
#: transitions taken only now and then, so most items move forward
PUSH_BACKS = ("decline", "return", "redo", "reject_", "cancel", "request_cancel", "transfer", "request_transfer")
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def add_demo_items(site: Any, registry: Any, *, per_board: int = 8, days: int = 30, seed: int = 2026,
                   commit: Callable[[], None] | None = None) -> list[str]:
    """Create ``per_board`` items on each board spread over the last ``days`` days (once per site).

    ``commit`` is called after each item (the caller's transaction), so a long run
    keeps its transactions small.
    """
    if site.settings.get("demo_items") or len(site.item_index):
        return []
    # subscribers (listing index, reminders, full-text queue) look the registry up
    manager.push({"registry": registry, "request": None})
    try:
        return _add(site, registry, per_board, days, seed, commit)
    finally:
        manager.pop()


def _add(site: Any, registry: Any, per_board: int, days: int, seed: int,
         commit: Callable[[], None] | None) -> list[str]:
    rnd = random.Random(seed)
    users = _demo_users(site)
    if "supervisor" not in users:
        return []
    units = [u for u in ("zjj", "jtj") if u in site["units"]]
    start = now() - timedelta(days=days)
    counts: dict[str, int] = {}
    for board in site.boards.values():
        for i in range(per_board):
            title, source, content = SUBJECTS[(i + len(counts) * 3) % len(SUBJECTS)]
            moment = start + timedelta(hours=rnd.randrange(0, days * 24 - 48))
            lead = units[i % len(units)] if units else None
            try:
                item = _create(site, registry, board, title, source, content, lead, moment, rnd)
            except Exception:  # a profile type we cannot fill: leave that board empty
                log.warning("演示数据：版块 %s 无法创建事项", board.board_id, exc_info=True)
                break
            depth = DEPTHS[i % len(DEPTHS)]  # spread the items over the workflow's states
            _walk(site, registry, item, users, moment, depth, rnd)
            counts[board.board_id] = counts.get(board.board_id, 0) + 1
            if commit is not None:
                commit()
    filed = _file_some(site, registry, users)
    site.settings["demo_items"] = True
    return ([f"演示事项 {site.boards[b].title}：{n} 件" for b, n in counts.items()]
            + ([f"演示归档：{filed} 件"] if filed else []))


def _file_some(site: Any, registry: Any, users: dict[str, list[str]]) -> int:
    """File a few closed items so the 档案室 is not empty (the real filing: 档号, dossier, package)."""
    from .archive.filing import file_item

    officer = next((u for u in site["users"].values() if "records_officer" in u.roles), None)
    if officer is None:
        return 0
    closed = [i for i in site.item_index.values() if i.state == "closed"]
    filed = 0
    for item in closed[:FILED]:
        try:
            file_item(site, item, registry, retention=None, actor=officer.username,
                      principals=users[officer.username])
            filed += 1
        except Exception:  # a dossier that cannot be rendered here: the item stays 待归档
            log.warning("演示数据：事项 %s 未能归档", item.number, exc_info=True)
    return filed


def _demo_users(site: Any) -> dict[str, list[str]]:
    """username -> principals, for the demo users that exist."""
    out = {}
    for user in site["users"].values():
        if getattr(user, "active", True):
            out[user.username] = ["system.Everyone", "system.Authenticated",
                                  *user_principals(user.username, user.roles, user.unit)]
    return out


def _create(site, registry, board, title, source, content, lead, moment, rnd) -> Any:
    typedef = registry.duban_types[board.item_type]
    cstruct: dict[str, Any] = {}
    for f in typedef.fields:
        value = {"title": title, "source": source, "content": content, "requirement": "按期反馈办理进展，办结时附照片",
                 "lead_unit": lead, "registered_on": moment.date().isoformat(),
                 "deadline": (moment + timedelta(days=rnd.choice((7, 15, 30, 45)))).date().isoformat()
                 }.get(f.name)
        if value is None and f.required:
            value = _sample(f, moment, rnd)
        if value is not None:
            cstruct[f.name] = value
    schema = typedef.schema("add", site=site)
    appstruct = schema.deserialize(cstruct)
    with frozen_now(moment):
        return create_item(site, board, appstruct, "supervisor", registry)


def _walk(site, registry, item, users, moment: datetime, depth: int, rnd: random.Random) -> None:
    wf = registry.duban_workflows[item.workflow]
    for _ in range(depth):
        moment = moment + timedelta(hours=rnd.randrange(2, 30))
        if moment >= now():
            return
        options = [(name, t) for name, p in users.items() for t in wf.available(item, p)]
        if not options:
            return
        forward = [o for o in options if not o[1].name.startswith(PUSH_BACKS)]
        pool = forward if forward and rnd.random() > 0.15 else options
        username, transition = rnd.choice(pool)
        data = {f.name: _sample(f, moment, rnd) for f in transition.fields if f.required or rnd.random() < 0.5}
        with frozen_now(moment):
            for kind in transition.requires_attachments:
                add_attachment(site, item, io.BytesIO(PDF), "盖章报告.pdf", kind, "盖章报告", username,
                               max_bytes=1 << 20, registry=registry)
            if transition.name == "request_closure" and "feedback_report" in registry.duban_types:
                try:
                    add_feedback(site, item, {"done": "已完成现场整改", "progress": "主体工作已完成，群众反映良好",
                                              "next_steps": "建立长效管理机制"}, username, registry)
                except Exception:  # a profile's feedback type with other fields: the step goes on without
                    log.debug("演示数据：反馈未添加", exc_info=True)
            try:
                wf.fire(item, transition.name, username, users[username], data, site=site)
            except WorkflowError:
                continue  # a guard said no (a date rule, say): try another step


def _sample(f: Any, moment: datetime, rnd: random.Random) -> Any:
    """A plausible value for one field definition (as the API would receive it)."""
    kind = f.kind
    if kind in ("date",):
        return (moment + timedelta(days=rnd.choice((10, 20, 30)))).date().isoformat()
    if kind == "datetime":
        return moment.isoformat()
    if kind == "choice":
        return f.choices[0].value if f.choices else ""
    if kind == "multi_choice":
        return [f.choices[0].value] if f.choices else []
    if kind == "bool":
        return True
    if kind == "int":
        return 1
    if kind == "unit":
        return "jtj"
    if kind == "units":
        return []
    if kind == "phone":
        return "13800000000"
    if kind == "user":
        return "handler"
    if getattr(f, "unique", False):  # 工单编号 / 线索编号: one per item (issue 15)
        return f"{moment:%Y%m%d%H%M}{rnd.randrange(10_000):04d}"
    text = {"reason": "情况已核实，按规定办理", "comment": "同意", "signed_by": "张局长"}.get(f.name)
    return text or f"{f.title}：已按要求落实"[: (f.max_length or 200)]
