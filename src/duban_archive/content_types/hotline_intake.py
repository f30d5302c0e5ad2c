"""12345 intake (seed 003 附件2 四(一) 多端受理): a repeat of a ticket already answered is not accepted.

「相关诉求已经按照法律、法规、规章和相关政策规定办理完毕并回复后，诉求人仍以同一事实、同一理由重复反映的，不再受理。」
The type's ``[repeat]`` table says what makes a repeat: every field in ``match`` equal (text compared without
surrounding or inner whitespace) to a ticket of the same type whose state is one of ``states``
(办理完毕并回复).  A blank value in a match field means the question cannot be answered: accepted.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import Refusal

_SPACE = re.compile(r"\s+")


def _norm(value: Any) -> str:
    return _SPACE.sub("", str(value or "")).lower()


def find_repeat(site, board, values: dict[str, Any], typedef) -> Any | None:
    match = typedef.repeat.get("match", ())
    states = typedef.repeat.get("states", ())
    wanted = {name: _norm(values.get(name)) for name in match}
    if not match or not all(wanted.values()):
        return None
    for item in site.item_index.values():
        if getattr(item, "type_name", None) != typedef.name or item.state not in states:
            continue
        if all(_norm(getattr(item, name, None)) == v for name, v in wanted.items()):
            return item
    return None


def refuse_repeat(site, board, values: dict[str, Any], typedef) -> None:
    """``before_create`` of 12345 tickets: raise a Refusal (nothing written) for a repeat complaint."""
    earlier = find_repeat(site, board, values, typedef)
    if earlier is None:
        return
    titles = {f.name: f.title for f in typedef.fields}
    note = f"与已办结并答复的工单 {earlier.number} 相同"
    raise Refusal(
        f"该诉求已于工单 {earlier.number} 办理完毕并答复，诉求人以同一事实、同一理由重复反映的，不再受理"
        "（请向诉求人做好解释工作）",
        {name: f"{titles.get(name, name)}{note}" for name in typedef.repeat.get("match", ())},
        status=409,
    )
