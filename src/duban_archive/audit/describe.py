"""An audit entry in one plain Chinese sentence, for the item page and the API.

Entries store machine keys (``field=deadline``, ``attachment=a3``); people read
「修改「办结时限」：2026-12-20 → 2026-12-31」.  Callers pass the lookups that
depend on the site (field, user, state and unit titles), so this module needs
neither the registry nor the views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..content_types.attachment import KINDS, _human
from ..timeutil import display
from .log import ACTIONS

#: detail keys -> how people call them
LABELS = {
    "transition": "操作", "from": "原状态", "to": "新状态", "comment": "意见", "reason": "理由",
    "title": "标题", "number": "事项编号", "record": "记录", "attachment": "附件", "filename": "文件名",
    "kind": "类别", "size": "大小", "sha256": "SHA-256", "sm3": "SM3", "what": "内容", "version": "版本",
    "via": "途径", "count": "数量", "items": "事项", "q": "检索词", "archival_code": "档号",
    "retention": "保管期限", "piece": "件号", "hold": "冻结", "level": "督办级别", "unit": "单位",
    "points": "分值", "year": "年度", "format": "格式", "client": "来源地址", "op": "操作",
    "roles": "角色", "result": "结果", "expected": "应为", "found": "实为", "approver": "批准人",
    "bucket": "待办分类", "field": "字段", "old": "原值", "new": "新值", "note": "说明",
    "transfer": "移交批次", "transferor_unit": "移交单位", "receiver_unit": "接收单位", "carrier": "载体",
    "bytes": "字节数", "received_on": "接收日期", "reviewer": "审核人", "results": "检验结果",
    "manifest_sha256": "清单 SHA-256", "manifest_sm3": "清单 SM3",
}
VIA = {"ui": "网页", "api": "接口", "api.worklist": "接口（我的待办）", "api.items": "接口（事项列表）",
       "cli": "命令行"}
SKIP = {"time", "action", "actor", "target"}


def plain(value: Any) -> str:
    """A stored value as people write it (dates in CST, lists with 、, booleans 是/否)."""
    if value is None or value == "":
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple | list | set | frozenset):
        return "、".join(plain(v) for v in value) or "（空）"
    if hasattr(value, "isoformat"):
        return display(value)
    return str(value)


def _size(n: Any) -> str:
    try:
        return _human(int(n))
    except (TypeError, ValueError):
        return plain(n)


def describe(entry: dict[str, Any], *, field_title: Callable[[str], str] = str,
             state_title: Callable[[str], str] = str, transition_title: Callable[[str], str] = str) -> str:
    """One sentence: what was done, with the details that matter, in Chinese."""
    action = entry.get("action", "")
    if action in ("edit", "correct") and "field" in entry:
        name = field_title(str(entry["field"]))
        text = f"「{name}」：{plain(entry.get('old'))} → {plain(entry.get('new'))}"
        return text + (f"（理由：{entry['reason']}）" if entry.get("reason") else "")
    if action == "transition":
        # the engine records title/old/new; escalations record transition/level/reason
        name = str(entry.get("title") or transition_title(str(entry.get("transition", ""))))
        old, new = entry.get("old", entry.get("from")), entry.get("new", entry.get("to"))
        moved = f"（{state_title(str(old))} → {state_title(str(new))}）" if old or new else ""
        rest = _rest(entry, {"transition", "title", "old", "new", "from", "to"})
        return f"{name}{moved}" + (f"：{rest}" if rest else "")
    if action == "upload":
        kind = KINDS.get(str(entry.get("kind", "")), plain(entry.get("kind")))
        return f"「{plain(entry.get('filename'))}」（{kind}，{_size(entry.get('size'))}）"
    return _rest(entry, set())


def _rest(entry: dict[str, Any], done: set[str]) -> str:
    parts = []
    for key, value in entry.items():
        if key in SKIP or key in done or key in ("sha256", "sm3"):
            continue
        if key == "via":
            value = VIA.get(str(value), value)
        elif key == "kind":
            value = KINDS.get(str(value), value)
        elif key == "size":
            value = _size(value)
        elif key == "action":
            value = ACTIONS.get(str(value), value)
        parts.append(f"{LABELS.get(key, key)}：{plain(value)}")
    return "；".join(parts)
