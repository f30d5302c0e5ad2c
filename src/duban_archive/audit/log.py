"""Append-only audit log.

Unlike Substance D's bounded log, nothing is ever dropped: auditors must be
able to reconstruct who saw and changed what, years later.  Entries are plain
dicts keyed by ``<time_ns>-<random>`` in an OOBTree, so concurrent writers
append into different buckets instead of fighting over a counter; a second
OOBTree maps each item id to the keys of its entries.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from ..timeutil import isoformat, now

ACTIONS = {
    "create": "创建",
    "edit": "修改",
    "upload": "上传附件",
    "download": "下载附件",
    "view": "查看",
    "transition": "流转",
    "feedback": "提交反馈",
    "instruction": "批示",
    "search": "检索",
    "file": "归档",
    "correct": "著录更正",
    "fixity": "固定性校验",
    "login": "登录",
    "login_failed": "登录失败",
    "user": "用户管理",
    "export": "导出",
    "legal_hold": "冻结/解除冻结",
    "dispose": "销毁",
}


class AuditLog(Persistent):
    def __init__(self) -> None:
        self.entries = OOBTree()
        self.by_target = OOBTree()

    def append(self, action: str, actor: str | None, target: str = "", **detail: Any) -> str:
        key = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
        entry = {"time": now(), "action": action, "actor": actor or "", "target": target}
        entry.update({k: v for k, v in detail.items() if v is not None})
        self.entries[key] = entry
        if target:
            keys = self.by_target.get(target)
            if keys is None:
                keys = self.by_target[target] = OOTreeSet()
            keys.add(key)
        return key

    def for_target(self, target: str) -> Iterator[dict[str, Any]]:
        for key in self.by_target.get(target, ()):
            yield self.entries[key]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.entries.values())

    def since(self, moment_ns: int) -> Iterator[dict[str, Any]]:
        return iter(self.entries.values(min=f"{moment_ns:020d}"))


def audit_log(site) -> AuditLog:
    return site["audit"]


def record(site, action: str, actor: str | None, target: str = "", **detail: Any) -> str:
    """Append an entry to the site's audit log (inside the current transaction)."""
    return site["audit"].append(action, actor, target, **detail)


def as_json(entry: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in entry.items():
        out[k] = isoformat(v) if k == "time" else _jsonable(v)
    out["action_title"] = ACTIONS.get(entry.get("action", ""), entry.get("action", ""))
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if isinstance(v, list | tuple | set | frozenset):
        return [_jsonable(x) for x in (sorted(v) if isinstance(v, set | frozenset) else v)]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return isoformat(v) if hasattr(v, "isoformat") else str(v)
