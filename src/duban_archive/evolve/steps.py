"""The evolve steps themselves.  Never edit a released step; add a new one."""

from __future__ import annotations

from .registry import step


@step(1, "remap_acls")
def remap_acls(site, registry) -> str:
    """Recompute every item's ACL from its workflow's current permission maps."""
    count = 0
    for item in site.item_index.values():
        registry.duban_workflows[item.workflow].apply_acl(item)
        count += 1
    return f"重算 {count} 个事项的权限"


# -- 2: text policy (issue 12) --------------------------------------------------------------------

_TEXT_KINDS = ("text", "textarea", "user", "phone", "choice", "multi_choice", "unit", "units")


def _cleaned(value, multiline: bool):
    """``value`` repaired (text, or a tuple/list/set of texts), or ``None`` when it is fine."""
    from ..validation import clean_text

    if isinstance(value, str):
        new = clean_text(value, multiline=multiline)
        return new if new != value else None
    if isinstance(value, tuple | list | set | frozenset) and any(isinstance(v, str) for v in value):
        cleaned = type(value)(clean_text(v, multiline=multiline) if isinstance(v, str) else v for v in value)
        return cleaned if cleaned != value else None
    return None


def _repair_fields(obj, typedef) -> int:
    """Repair the text fields of an item or a record (feedback, 批示) in place; returns how many changed."""
    if typedef is not None:
        fields = [(f.name, f.kind == "textarea") for f in typedef.fields if f.kind in _TEXT_KINDS]
    else:  # a type no longer defined: every plain text attribute, newlines kept
        fields = [(k, True) for k, v in vars(obj).items() if not k.startswith(("_", "p_")) and isinstance(v, str)]
    changed = 0
    for name, multiline in fields:
        new = _cleaned(getattr(obj, name, None), multiline)
        if new is not None:
            setattr(obj, name, new)
            changed += 1
    return changed


def _repair_history(item) -> int:
    """History entries are plain dicts in a PersistentList: a repaired entry replaces the old one."""
    changed = 0
    for i, entry in enumerate(list(getattr(item, "history", ()) or ())):
        if not isinstance(entry, dict):
            continue
        fixes = {k: new for k, v in entry.items() if (new := _cleaned(v, multiline=True)) is not None}
        if fixes:
            item.history[i] = {**entry, **fixes}
            changed += len(fixes)
    return changed


def _texts_of(item, types):
    """Every text an item's dossier prints from the item itself and its records."""
    for obj in (item, *item.feedback.values(), *item.instructions.values()):
        typedef = types.get(obj.type_name)
        for f in (typedef.fields if typedef is not None else ()):
            value = getattr(obj, f.name, None)
            if isinstance(value, str):
                yield value
    for att in item.attachments.values():
        yield att.title or ""
        yield att.filename or ""


@step(2, "repair_text")
def repair_text(site, registry) -> str:
    """Text stored before the text policy: lone surrogates and control characters removed (tab and
    newline kept in multi-line fields; in one-line fields they become a space), NFC — in items'
    fields, history comments, feedback, 批示 and attachment titles/file names.  Each changed
    item is queued for the full-text index.  Archived items are frozen and left alone (the
    ledger export cleans what it writes).  Items still holding a character no dossier font
    draws are named: someone must edit them before they can be filed.
    """
    from ..archive.fonts import missing_glyphs
    from ..catalog.queue import queue_item
    from ..content_types.attachment import safe_filename
    from ..validation import clean_text

    types = registry.duban_types
    items = fixes = 0
    frozen: list[str] = []
    unprintable: list[str] = []
    for item in list(site.item_index.values()):
        if getattr(item, "archived", False):
            if any(clean_text(t, multiline=True) != t for t in _texts_of(item, types)):
                frozen.append(item.item_id)
            continue
        changed = _repair_fields(item, types.get(item.type_name)) + _repair_history(item)
        for folder in (item.feedback, item.instructions):
            for rec in folder.values():
                changed += _repair_fields(rec, types.get(rec.type_name))
        for att in item.attachments.values():
            title = clean_text(att.title or "")
            filename = safe_filename(att.filename or "")
            if title != (att.title or ""):
                att.title = title or filename
                changed += 1
            if filename != att.filename:
                att.filename = filename
                changed += 1
        if changed:
            items += 1
            fixes += changed
            queue_item(site, item.item_id, registry)
        if any(missing_glyphs(t) for t in _texts_of(item, types) if not t.isascii()):
            unprintable.append(item.item_id)
    out = f"修复 {items} 个事项的文本（{fixes} 处：孤立代理项、控制字符、NFC），已排入全文索引"
    if frozen:
        out += f"；{len(frozen)} 个已归档事项含不合规字符，已冻结未改：{'、'.join(frozen[:20])}"
    if unprintable:
        out += f"；{len(unprintable)} 个事项含无可用字体的字符，须人工修改后才能归档：{'、'.join(unprintable[:20])}"
    return out


# -- 3: lean writes (issue 16) ----------------------------------------------------------------------

@step(3, "lean_writes")
def lean_writes(site, registry) -> str:
    """Smaller write transactions for existing sites.

    * The listing index is rebuilt in the issue-16 layout (per-board, per-principal postings in
      small-bucket sets, sort orders as sorted sets, what each item is indexed under kept on the
      item as ``_listing_doc``); the hypatia catalog it replaces is dropped.
    * The audit log's shards are retired as read-only sources beside new small-bucket shards
      (no entry is copied or moved).
    * The outbox's ``item_fire`` map moves into a small-bucket tree.

    Idempotent: a second run rebuilds the listing again and leaves the rest as it is.
    """
    from ..catalog.listing import rebuild
    from ..notifications.outbox import get_outbox, lean_item_fire

    parts = [f"重建列表索引：{rebuild(site, registry)} 个事项"]
    if "audit" in site and site["audit"].retire_shards():
        parts.append("审计日志改用小分桶（原分片只读保留）")
    moved = lean_item_fire(get_outbox(site))
    if moved:
        parts.append(f"提醒计划 {moved} 条移入小分桶")
    return "；".join(parts)


# -- 6: 12345 派单 facts (issue 14, seed 003) --------------------------------------------------------


@step(6, "hotline_dispatch_facts")
def hotline_dispatch_facts(site, registry) -> str:
    """12345 tickets written before issue 14: ``dispatched_at`` was an editable field that moved every
    ticket clock; it is set back to the time of the ticket's last 派单 (history), each correction audited.
    不当退单 was flagged at the unit's second 退单; it is now the platform's re-dispatch to the unit that
    declined (seed 003 附件5 四(一)2(1)), recorded with its date in ``undue_declines`` for scoring — rebuilt
    from the history, the declining unit being the ticket's lead unit (the only one 退单 is offered to).
    """
    from ..audit.log import record
    from ..timeutil import as_cst

    fixed = flagged = 0
    for item in site.item_index.values():
        if getattr(item, "workflow", None) != "hotline":
            continue
        unit = getattr(item, "lead_unit", "") or ""
        last_dispatch = None
        declined_by = None
        undue: list[tuple[str, object]] = []
        for e in item.history:
            t = e.get("transition")
            if t == "decline":
                declined_by = unit
            elif t == "dispatch":
                if e.get("from") == "declined" and declined_by and declined_by == unit:
                    undue.append((unit, e["time"]))
                last_dispatch = e["time"]
        if last_dispatch is not None:
            old = getattr(item, "dispatched_at", None)
            if old is None or as_cst(old) != as_cst(last_dispatch):
                item.dispatched_at = last_dispatch
                record(site, "edit", "system", item.item_id, field="dispatched_at", old=old, new=last_dispatch,
                       reason="evolve 6: 派单时间以派单记录为准")
                fixed += 1
        if declined_by:
            item.last_declined_by = declined_by
        if undue and not getattr(item, "undue_declines", None):
            item.undue_declines = tuple(undue)
            flagged += 1
    return f"更正 {fixed} 件 12345 工单的派单时间，重建 {flagged} 件的不当退单记录"


# -- 7: 持续推进 report clock by board (issue 14, seed 002) ------------------------------------------


@step(7, "long_running_monthly_reports")
def long_running_monthly_reports(site, registry) -> str:
    """持续推进 items of boards that report monthly (the "1" board, 重点工作 …) were given the weekly
    重点工程 cadence (``next_report``): replace it with the monthly clock (``monthly_report``: the end of
    the month, the end of the next once this month's report is in); re-plan their reminders."""
    from ..catalog.listing import reindex_item
    from ..notifications.reminders import reschedule
    from ..workflows import deadlines as dl
    from ..workflows.calendar import WorkCalendar

    cal = WorkCalendar.for_site(site)
    moved = []
    for item in list(site.item_index.values()):
        current = dl.open_deadlines(item)
        if "next_report" not in current or getattr(item, "archived", False):
            continue
        wf = registry.duban_workflows[item.workflow]
        old = wf.find_deadline("next_report")
        if old is None or not old.boards or item.board_id in old.boards:
            continue
        origin = current.pop("next_report").get("origin", "state")
        new = wf.find_deadline("monthly_report")
        if new is not None:
            rec = dl.instantiate(item, new, origin, cal)
            if rec is not None:
                current["monthly_report"] = rec
        dl.store(item, current)
        reindex_item(site, item, registry)
        if hasattr(registry, "duban_reminder_rules"):
            reschedule(site, item, registry)
        moved.append(item.item_id)
    return f"{len(moved)} 个持续推进事项改为按月报送进展" + (f"：{'、'.join(moved[:20])}" if moved else "")


# -- 8: 三员分立 (issue 15) ----------------------------------------------------------------------------


@step(8, "three_administrators")
def three_administrators(site, registry) -> str:
    """The single ``admin`` role is split in three (GB/T 39784): every ``admin`` account becomes
    系统管理员 (``sysadmin``: accounts, units, settings — its password and sessions unchanged, so
    nobody is locked out); for 安全保密管理员 and 安全审计员, when nobody holds them, accounts
    ``secadmin`` / ``secauditor`` are created with one-time passwords written once to a 0600 file
    in the var dir (after commit; the output names the file, never a password).  Items whose ACL still
    names ``role:admin`` get theirs recomputed from the definitions (view: ``sysadmin``; the audit
    trail: no more) and are re-listed.  Idempotent: a second run finds nothing to do."""
    from pathlib import Path

    from ..audit.log import record
    from ..security.administrators import ensure_three_administrators
    from ..security.roles import ADMIN_ROLES

    renamed = []
    for user in list(site["users"].values()):
        roles = tuple(user.roles)
        if "admin" not in roles:
            continue
        new = tuple(sorted({"sysadmin", *(r for r in roles if r != "admin" and r not in ADMIN_ROLES)}))
        user.roles = new
        user.revision = getattr(user, "revision", 0) + 1
        record(site, "user", "system:evolve", f"user:{user.username}", op="roles", old=roles, new=new,
               note="三员分立：原系统管理员（admin）改为系统管理员（sysadmin）")
        renamed.append(user.username)
    # item ACLs name the old role: recompute them from the definitions (view: sysadmin; the
    # audit trail no more) and re-list the items, whose listing keys follow the ACL
    from ..catalog.listing import reindex_item

    remapped = 0
    for item in list(site.item_index.values()):
        if not any("role:admin" == ace[1] for ace in getattr(item, "__acl__", ()) or ()):
            continue
        registry.duban_workflows[item.workflow].apply_acl(item)
        reindex_item(site, item, registry)
        remapped += 1
    admin_unit = next((site["users"][u].unit for u in renamed if site["users"][u].unit), None)
    var = Path(registry.settings.get("duban.var_dir") or ".")
    created, path = ensure_three_administrators(site, var, "system:evolve", unit=admin_unit)
    parts = [f"{len(renamed)} 个原管理员账号改为系统管理员" + (f"：{'、'.join(renamed)}" if renamed else ""),
             f"重算 {remapped} 个事项的权限"]
    if created:
        parts.append(f"新建三员账号 {'、'.join(created)}，一次性密码写入 {path}（仅属主可读，交接后请删除）")
    return "；".join(parts)


# -- 11: per-board forms (issue 15) ----------------------------------------------------------------


@step(11, "board_forms")
def board_forms(site, registry) -> str:
    """Per-board forms: the 工单编号 / 线索编号 already entered are claimed in ``site.unique_values`` (so a new
    item cannot take them; duplicates among old items are listed, both keep their values), and the items of
    workflows granting ``view_caller_phone`` get it in their ACLs (12345 来电号码 in full only for those who
    must call back).  Items created before 工单编号 existed have none: they load and show 「—」."""
    from ..content_types.unique import rebuild

    duplicates = rebuild(site, registry)
    remapped = 0
    for item in site.item_index.values():
        wf = registry.duban_workflows.get(getattr(item, "workflow", ""))
        if wf is not None and any("view_caller_phone" in st.permissions for st in wf.states.values()):
            wf.apply_acl(item)
            remapped += 1
    note = f"；重复的编号（保留原值，请核对）：{'；'.join(duplicates[:20])}" if duplicates else ""
    return f"登记唯一编号，重算 {remapped} 个事项的来电号码查看权限{note}"


@step(12, "capture_checks_and_superseded_versions")
def capture_checks_and_superseded_versions(site, registry) -> str:
    """Issue 13: attachments uploaded before the capture-time checks ran in the background are queued
    for them (they showed 「待检测」 for ever otherwise); package versions replaced by a 著录更正 are
    marked ``superseded_by`` (被替代) on the archive record — the old packages themselves never change."""
    from ..archive.capture import queue_of
    from ..timeutil import now

    queued = 0
    for att_id, att in site.attachment_index.items():
        if getattr(att, "original_checks", None) is None:
            q = queue_of(site)
            if q is not None and att_id not in q:
                q[att_id] = now()
                queued += 1
    marked = 0
    archive = site.get("archive")
    for rec in (archive.values() if archive is not None else ()):
        versions = list(getattr(rec, "versions", ()))
        for older, newer in zip(versions, versions[1:], strict=False):
            if getattr(older, "superseded_by", None) != newer.version:
                older.superseded_by = newer.version
                marked += 1
    return f"{queued} 个附件排入采集检测队列；{marked} 个归档包版本标为被替代"


# -- 13: 移交 registry (issue 13) ----------------------------------------------------------------

@step(13, "transfer_registry")
def transfer_registry(site, registry) -> str:
    """The 档案室 keeps its 移交 batches and, per record, the batch holding it
    (``site["archive"].transfers``, :mod:`duban_archive.archive.transfer`).  Sites whose 档案室
    exists get the empty registry now, so the first transfers do not all write the 档案室 itself."""
    from ..archive.transfer import registry_of

    root = site.get("archive")
    if root is None:
        return "尚无档案室：移交登记簿在首次移交时建立"
    if getattr(root, "transfers", None) is not None:
        return "移交登记簿已存在"
    registry_of(site, create=True)
    return "建立移交登记簿"


# -- 9: lean transactions (issue 16, deliverable 2) -------------------------------------------------


@step(9, "lean_transactions")
def lean_transactions(site, registry) -> str:
    """Stored structures of issue 16's lean writes, for sites stored before them.

    * Items: the pickled ``__acl__`` is dropped (the ACL is derived from workflow, state and units);
      state, 最近更新, deadlines, next deadline, listing keys and reminder plan move into the item's
      ``ItemStatus`` (what a transition rewrites); deadlines are stored as positional tuples.
      Archived items too: only how these are stored changes, not what they say.
    * Reminder plans move from the outbox's ``item_fire`` tree onto their items; the tree is dropped.
      The outbox's message and per-item trees and the inboxes are copied into trees with small inner
      nodes (``outbox.Appended``; the messages themselves are not copied).
    * The audit log's small-bucket shards are retired as read-only sources beside new paged shards
      (no entry is copied or moved).
    * Items whose listing keys differ from what their derived ACL gives (a permission map changed
      since their ACL was stored) are re-listed.

    Idempotent: a second run finds nothing to do.
    """
    from ..catalog.listing import get_listing
    from ..notifications.outbox import appended_trees, get_outbox, plans_onto_items
    from ..workflows import deadlines as dl

    items = acls = relisted = 0
    listing = get_listing(site)
    jar = getattr(site, "_p_jar", None)
    for item in site.item_index.values():
        item._p_activate()
        changed = False
        if "__acl__" in vars(item):
            wf = registry.duban_workflows.get(getattr(item, "workflow", ""))
            if wf is not None:
                wf.apply_acl(item)  # drops the stored ACL
            else:
                del vars(item)["__acl__"]
                item._p_changed = True
            acls += 1
            changed = True
        if getattr(item, "_status", None) is None and hasattr(item, "status"):
            item.status()
            changed = True
        if isinstance(getattr(item, "deadlines", None), dict):
            dl.store(item, dl.open_deadlines(item))
            changed = True
        # the derived ACL follows the definitions as they are now: re-list the item where its listing
        # keys (from the ACL it had stored) differ — writes nothing where they agree
        before = getattr(item, "_listing_doc", None)
        listing.index(item, registry)
        relisted += getattr(item, "_listing_doc", None) != before
        items += changed
        if jar is not None and items and items % 2000 == 0:  # a 100k-item site: memory stays flat
            jar.transaction_manager.get().savepoint(optimistic=True)
            jar.cacheGC()
    parts = [f"{items} 个事项改为精简存储（其中 {acls} 个去掉存储的权限表）"]
    if relisted:
        parts.append(f"{relisted} 个事项按现行权限重新列入列表索引")
    box = get_outbox(site)
    moved = plans_onto_items(box, site)
    if moved:
        parts.append(f"{moved} 个事项的提醒计划移到事项上")
    copied = appended_trees(box)
    if copied:
        parts.append(f"消息索引 {copied} 棵树改用小内节点")
    if "audit" in site and site["audit"].retire_shards():
        parts.append("审计日志改为分页存储（原分片只读保留）")
    return "；".join(parts)
