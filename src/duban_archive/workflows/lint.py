"""``check-workflows``: problems a definition can load with but should not have.

Start-up already refuses what cannot work (unknown states, roles, hooks);
this lint reports what works badly: states nobody can reach, non-final
states with no way out, transitions anyone could take (no roles, permission
or guard), states with an empty permission map, and the names other
subsystems rely on (``closed``, ``close``, ``file`` -> ``archived``).
"""

from __future__ import annotations

from .engine import Workflow


def check(wf: Workflow) -> list[str]:
    problems: list[str] = []
    reachable = {wf.initial}
    frontier = [wf.initial]
    while frontier:
        state = frontier.pop()
        for t in wf.transitions.values():
            if state in t.sources and t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    for name, st in wf.states.items():
        where = f"{wf.source}: states.{name}（{st.title}）"
        if name not in reachable:
            problems.append(f"{where}: 不可达状态 (unreachable state)")
        outgoing = [t for t in wf.transitions.values() if name in t.sources]
        if not st.final and not outgoing:
            problems.append(f"{where}: 非终态却没有任何流转可离开 (dead end that is not final)")
        if st.final and outgoing:
            problems.append(f"{where}: 终态仍有流转 {sorted(t.name for t in outgoing)}")
        if not st.permissions or not any(st.permissions.values()):
            problems.append(f"{where}: 没有权限映射 (state without permission map)")
        elif "view" not in st.permissions:
            problems.append(f"{where}: 权限映射缺少 view，任何人都看不到此状态的事项")
    for name, t in wf.transitions.items():
        where = f"{wf.source}: transitions.{name}（{t.title}）"
        if not (t.roles or t.permission or t.guard):
            problems.append(f"{where}: 没有任何守卫（roles / permission / guard）(transition without guard)")
        if t.auto and not t.guard:
            problems.append(f"{where}: 自动流转没有 guard，将在进入状态后立即触发")
    if "closed" not in wf.states:
        problems.append(f"{wf.source}: 缺少状态 closed（归档子系统依赖 closed -> file -> archived）")
    if "close" not in wf.transitions or wf.transitions["close"].target != "closed":
        problems.append(f"{wf.source}: 缺少指向 closed 的流转 close（评分子系统依赖）")
    file_t = wf.transitions.get("file")
    if file_t is None or file_t.target != "archived" or "closed" not in file_t.sources:
        problems.append(f"{wf.source}: 缺少流转 file（closed -> archived）")
    return problems
