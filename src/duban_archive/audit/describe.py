"""An audit entry in one plain Chinese sentence, for the item page and the API.

Entries store machine keys (``field=deadline``, ``attachment=a3``); people read
「修改「办结时限」：2026-12-20 → 2026-12-31」.  Callers pass the lookups that
depend on the site (field, user, state and unit titles), so this module needs
neither the registry nor the views.

Every word of a sentence is a msgid of the ``duban_archive`` domain (Chinese,
``{name}`` placeholders) passed through ``tr(msgid, mapping)``: the default
:func:`zh` fills the placeholders, so the Chinese sentence (the API's) stays as
it always was; a page in English passes the request's translation
(``views.layout.translate``).  Data (titles, names, reasons) is never translated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..content_types.attachment import KINDS, _human
from ..stored_text import Sentences
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
    "who": "人员", "scope": "范围", "since": "起始时间", "must_change_password": "须修改密码",
    "changes": "修改", "detail": "说明", "created": "新建",
    "transfer": "移交批次", "transferor_unit": "移交单位", "receiver_unit": "接收单位", "carrier": "载体",
    "bytes": "字节数", "received_on": "接收日期", "reviewer": "审核人", "results": "检验结果",
    "manifest_sha256": "清单 SHA-256", "manifest_sm3": "清单 SM3",
}
#: user administration (action ``user``): what ``op`` did, in people's words
USER_OPS = {
    "add": "新建账号", "edit": "修改账号信息", "roles": "授权",
    "reset_password": "重置密码", "change_password": "修改本人密码", "deactivate": "停用账号",
    "reactivate": "启用账号",
    "add_unit": "新建单位", "password_policy": "修改密码策略",
}
#: what follows the account in the sentence
USER_OP_NOTES = {"reset_password": "（临时密码，下次登录须修改）", "deactivate": "（登录会话和令牌随即失效）"}
ACCOUNT_FIELDS = {"title": "姓名", "unit": "所属单位", "phone": "手机", "email": "邮箱"}
VIA = {"ui": "网页", "form": "网页", "api": "接口", "api.worklist": "接口（我的待办）", "api.items": "接口（事项列表）",
       "cli": "命令行"}
#: what an 安全审计员's read of the log covered (``audit.query``)
SCOPES = {"admins": "三员与命令行的操作", "all": "全部"}
SKIP = {"time", "action", "actor", "target"}
#: the sentences' own words with placeholders (the tables above are msgids too); listed for the catalog
SENTENCES = ("「{name}」：{old} → {new}", "（理由：{reason}）", "（{old} → {new}）", "{name}{moved}：{rest}",
             "「{filename}」（{kind}，{size}）", "{label}：{value}", "；", "、", "（空）", "（无）", "是", "否",
             "原系统管理员（admin）", "最短 {min_length} 位、至少 {classes} 类字符", "{op}：{old} → {new}",
             "：{old} → {new}", "（角色：{roles}）", "{field}：{old} → {new}", "：{changes}", "（{title}）")

#: comments the system writes into a step (``archive/filing.py``), read back in the reader's language
SYSTEM_COMMENTS = Sentences(("立卷归档，档号 {code}",))

#: ``tr(msgid, mapping) -> text``
Translate = Callable[[str, Mapping[str, Any]], str]


def zh(msgid: str, mapping: Mapping[str, Any] | None = None) -> str:
    """The Chinese text: the msgid with its placeholders filled (what the API and the log show)."""
    return msgid.format_map(mapping) if mapping else msgid


def system_comment(text: Any, tr: Translate = zh) -> Any:
    """A step's comment: the system's own wording translated, what people typed as it is."""
    return SYSTEM_COMMENTS.localize(text, tr) if tr is not zh and isinstance(text, str) else text


def plain(value: Any, tr: Translate = zh) -> str:
    """A stored value as people write it (dates in CST, lists with 、, booleans 是/否)."""
    if value is None or value == "":
        return tr("（空）", {})
    if isinstance(value, bool):
        return tr("是" if value else "否", {})
    if isinstance(value, tuple | list | set | frozenset):
        return tr("、", {}).join(plain(v, tr) for v in value) or tr("（空）", {})
    if hasattr(value, "isoformat"):
        return display(value)
    return str(value)


def _size(n: Any, tr: Translate = zh) -> str:
    try:
        return _human(int(n))
    except (TypeError, ValueError):
        return plain(n, tr)


def describe(entry: dict[str, Any], *, field_title: Callable[[str], str] = str,
             state_title: Callable[[str], str] = str, transition_title: Callable[[str], str] = str,
             tr: Translate = zh) -> str:
    """One sentence: what was done, with the details that matter, in Chinese (or ``tr``'s language)."""
    action = entry.get("action", "")
    if action in ("edit", "correct") and "field" in entry:
        name = field_title(str(entry["field"]))
        text = tr("「{name}」：{old} → {new}", {"name": name, "old": plain(entry.get("old"), tr),
                                                "new": plain(entry.get("new"), tr)})
        return text + (tr("（理由：{reason}）", {"reason": entry["reason"]}) if entry.get("reason") else "")
    if action == "transition":
        # the engine records title/old/new; escalations record transition/level/reason
        name = tr(str(entry.get("title") or transition_title(str(entry.get("transition", "")))), {})
        old, new = entry.get("old", entry.get("from")), entry.get("new", entry.get("to"))
        moved = tr("（{old} → {new}）", {"old": state_title(str(old)), "new": state_title(str(new))}) \
            if old or new else ""
        rest = _rest(entry, {"transition", "title", "old", "new", "from", "to"}, tr)
        return tr("{name}{moved}：{rest}", {"name": name, "moved": moved, "rest": rest}) if rest else f"{name}{moved}"
    if action == "upload":
        kind = KINDS.get(str(entry.get("kind", "")))
        return tr("「{filename}」（{kind}，{size}）", {
            "filename": plain(entry.get("filename"), tr),
            "kind": tr(kind, {}) if kind else plain(entry.get("kind"), tr), "size": _size(entry.get("size"), tr)})
    if action == "user" and entry.get("op") in USER_OPS:
        return _user_sentence(entry, tr)
    return _rest(entry, set(), tr)


def _role_names(value: Any, tr: Translate = zh) -> str:
    from ..security.roles import ROLES

    legacy = {"admin": "原系统管理员（admin）"}  # the role before 三员分立 (evolve step 8)
    roles = [tr(name, {}) if (name := ROLES.get(str(r)) or legacy.get(str(r))) else str(r) for r in (value or ())]
    return tr("、", {}).join(roles) or tr("（无）", {})


def _policy(value: Any, tr: Translate = zh) -> str:
    policy = dict(value or ())
    return tr("最短 {min_length} 位、至少 {classes} 类字符",
              {"min_length": policy.get("min_length", "?"), "classes": policy.get("classes", "?")})


def _user_sentence(entry: dict[str, Any], tr: Translate = zh) -> str:
    """「授权 user:zhang：承办人 → 承办人、督查室」 — an administrator's act on an account."""
    op = str(entry["op"])
    target = str(entry.get("target") or "").removeprefix("user:").removeprefix("unit:")
    note = USER_OP_NOTES.get(op)
    text = f"{tr(USER_OPS[op], {})} {target}".rstrip() + (tr(note, {}) if note else "")
    done = {"op", "changes", "old", "new", "roles", "title"}
    sep = tr("；", {})
    if op == "password_policy":
        rest = _rest(entry, {"op", "old", "new"}, tr)
        return tr("{op}：{old} → {new}", {"op": tr(USER_OPS[op], {}), "old": _policy(entry.get("old"), tr),
                                          "new": _policy(entry.get("new"), tr)}) + (f"{sep}{rest}" if rest else "")
    if op == "roles" or (op == "add" and "roles" in entry):
        if "old" in entry or "new" in entry:
            text += tr("：{old} → {new}", {"old": _role_names(entry.get("old"), tr),
                                           "new": _role_names(entry.get("new"), tr)})
        else:
            text += tr("（角色：{roles}）", {"roles": _role_names(entry.get("roles"), tr)})
    elif op == "edit" and entry.get("changes"):
        parts = [tr("{field}：{old} → {new}", {"field": _account_field(str(c[0]), tr), "old": plain(c[1], tr),
                                               "new": plain(c[2], tr)})
                 for c in entry["changes"] if isinstance(c, tuple | list) and len(c) == 3]
        text += tr("：{changes}", {"changes": sep.join(parts)})
    elif entry.get("title"):
        text += tr("（{title}）", {"title": plain(entry["title"], tr)})
    rest = _rest(entry, done, tr)
    return text + (f"{sep}{rest}" if rest else "")


def _account_field(name: str, tr: Translate) -> str:
    title = ACCOUNT_FIELDS.get(name)
    return tr(title, {}) if title else name


def _word(table: Mapping[str, str], value: Any, tr: Translate) -> Any:
    """A coded value in people's words (translated), or the value itself when the table does not know it."""
    title = table.get(str(value))
    return tr(title, {}) if title else value


def _rest(entry: dict[str, Any], done: set[str], tr: Translate = zh) -> str:
    parts = []
    for key, value in entry.items():
        if key in SKIP or key in done or key in ("sha256", "sm3"):
            continue
        if key == "via":
            value = _word(VIA, value, tr)
        elif key == "kind":
            value = _word(KINDS, value, tr)
        elif key == "size":
            value = _size(value, tr)
        elif key == "action":
            value = _word(ACTIONS, value, tr)
        elif key == "scope":
            value = _word(SCOPES, value, tr)
        elif key == "comment":
            value = system_comment(value, tr)
        label = LABELS.get(key)
        parts.append(tr("{label}：{value}", {"label": tr(label, {}) if label else key, "value": plain(value, tr)}))
    return tr("；", {}).join(parts)
