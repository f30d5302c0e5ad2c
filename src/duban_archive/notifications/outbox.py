"""The persistent outbox: every reminder and notice, its channel and its fate.

Messages are written inside the transaction that decides them (a workflow
step, a tick) and delivered later by :mod:`.delivery`, so a refused request
sends nothing and a crash loses nothing.  Two indexes keep ``tick`` cheap
with 100k open items: ``queue`` (deliver-at epoch -> message ids) for
messages waiting for a channel and ``schedule`` (next fire epoch -> item ids)
for items whose next reminder is known.  Both are OOBTrees keyed by time, so
finding what is due is a range query, never a scan.  An item's own plan — ``(next fire epoch,
checked epoch)`` — lives on the item (``item.reminder_plan``), which every transition rewrites
anyway: kept in a shared ``item_fire`` tree it cost a ~1 KiB bucket write per transition (issue 16).
Outboxes from before keep that tree as a read-only fallback until evolve step 9 moves its entries.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent

from ..timeutil import now

#: message status -> title (UI, API)
STATUSES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "cancelled": "已取消",
}
CHANNELS = {"inbox": "站内消息", "email": "电子邮件", "sms": "短信"}
KINDS = {
    "notice": "交办通知",
    "reminder": "提醒",
    "overdue": "逾期催办",
    "monthly": "月度进展催报",
    "escalation": "督办",
    "accountability": "责任追究",
    "disposal": "销毁审批",
}


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class Message(Persistent):
    """One message to one recipient over one channel (plain attributes only).

    Fields still at their class default are not stored (smaller pickles: a
    tick writes thousands of these).
    """

    status = "pending"
    attempts = 0
    last_error = ""
    sent_at: datetime | None = None
    claimed_by = ""
    claimed_at: datetime | None = None
    #: epoch under which the message sits in ``Outbox.queue`` (None: not queued)
    queue_key: int | None = None

    def __init__(self, msg_id: str, *, kind: str, channel: str, recipient: str, address: str,
                 subject: str, body: str, item_id: str = "", rule: str = "",
                 not_before: datetime | None = None, created: datetime | None = None) -> None:
        self.msg_id = msg_id
        self.kind = kind
        self.channel = channel
        self.recipient = recipient
        self.address = address
        self.subject = subject
        self.body = body
        self.item_id = item_id
        self.rule = rule
        self.created = created or now()
        self.not_before = not_before or self.created

    def as_json(self) -> dict[str, Any]:
        from ..timeutil import isoformat

        return {
            "id": self.msg_id, "kind": self.kind, "kind_title": KINDS.get(self.kind, self.kind),
            "channel": self.channel, "recipient": self.recipient, "subject": self.subject,
            "body": self.body, "item": self.item_id or None, "rule": self.rule,
            "status": self.status, "status_title": STATUSES.get(self.status, self.status),
            "attempts": self.attempts, "error": self.last_error or None,
            "created": isoformat(self.created), "not_before": isoformat(self.not_before),
            "sent_at": isoformat(self.sent_at),
        }


class Appended(OOBTree):
    """An OOBTree whose new keys come at the end (time-ordered message ids, item ids by 事项编号).

    Appends fill the last bucket and split it every ~15 keys; each split rewrote an inner node of up to
    250 keys (~10 KiB: ~700 bytes a message on average, issue 16).  Inner nodes of 48 keys cost a
    fifth of that; buckets keep their size, so appends split (and can conflict) no more often."""

    max_leaf_size = 30
    max_internal_size = 48


class Inbox(Persistent):
    """A user's in-app messages (the bell): message id -> read flag."""

    def __init__(self) -> None:
        self.entries = Appended()
        self.unread = Length()

    def add(self, msg_id: str) -> None:
        if msg_id not in self.entries:
            self.entries[msg_id] = False
            self.unread.change(1)

    def mark_read(self, msg_id: str) -> bool:
        if self.entries.get(msg_id) is False:
            self.entries[msg_id] = True
            self.unread.change(-1)
            return True
        return False


class ItemFire(OOBTree):
    """item id -> (next fire epoch, checked epoch): where plans were kept before they moved onto the
    items (evolve step 3 made it; step 9 empties it).  Read as a fallback, entries only removed."""

    max_leaf_size = 30
    max_internal_size = 250


class Outbox(Persistent):
    type_name = "outbox"
    __name__: str | None = None
    __parent__: Any = None
    #: the plans of an outbox from before evolve step 9 (None on new outboxes)
    item_fire: Any = None

    def __init__(self) -> None:
        #: msg id ("<time_ns>-<hex>", sorts by creation) -> Message
        self.messages = Appended()
        #: deliver-at epoch -> OOTreeSet of pending msg ids
        self.queue = OOBTree()
        #: item id -> OOTreeSet of msg ids
        self.by_item = Appended()
        #: dedupe key -> msg id (a reminder is produced once)
        self.keys = OOBTree()
        #: next fire epoch -> OOTreeSet of item ids (each item's plan is ``item.reminder_plan``)
        self.schedule = OOBTree()
        #: username -> Inbox
        self.inboxes = OOBTree()

    # -- messages --------------------------------------------------------
    def add(self, msg: Message, key: str | None = None) -> Message | None:
        """Store ``msg`` (None if ``key`` was already produced).

        An item's dedupe keys sit in its ``by_item`` set beside its message ids (as ``k|<key>``):
        that small set is written anyway, where a ``keys`` bucket of ~60-character keys cost ~2.5 KiB
        per message (issue 16).  ``keys`` holds the keys of messages without an item, and those
        produced before (still honoured).
        """
        if key is not None:
            if key in self.keys:
                return None
            if msg.item_id:
                ids = self.by_item.get(msg.item_id)
                if ids is not None and DEDUPE + key in ids:
                    return None
            else:
                self.keys[key] = msg.msg_id
        self.messages[msg.msg_id] = msg
        if msg.item_id:
            _set_add(self.by_item, msg.item_id, msg.msg_id)
            if key is not None:
                self.by_item[msg.item_id].add(DEDUPE + key)
        if msg.channel == "inbox":  # transactional: delivered with the commit itself
            self.inbox(msg.recipient).add(msg.msg_id)
            msg.status, msg.sent_at, msg.attempts = "sent", msg.created, 1
        else:
            self.enqueue(msg, msg.not_before)
        return msg

    def item_message_ids(self, item_id: str) -> list[str]:
        """Ids of the item's messages, oldest first (its dedupe keys left out)."""
        return [m for m in self.by_item.get(item_id, ()) if not m.startswith(DEDUPE)]

    def inbox(self, username: str) -> Inbox:
        box = self.inboxes.get(username)
        if box is None:
            box = self.inboxes[username] = Inbox()
        return box

    def unread_count(self, username: str) -> int:
        box = self.inboxes.get(username)
        return box.unread() if box is not None else 0

    def enqueue(self, msg: Message, at: datetime) -> None:
        """(Re)place ``msg`` in the delivery queue at ``at``."""
        self.unqueue(msg)
        msg.queue_key = epoch(at)
        _set_add(self.queue, msg.queue_key, msg.msg_id)

    def unqueue(self, msg: Message) -> None:
        if msg.queue_key is not None:
            _set_discard(self.queue, msg.queue_key, msg.msg_id)
            msg.queue_key = None

    def due_ids(self, moment: datetime, limit: int | None = None) -> list[str]:
        out: list[str] = []
        for _, ids in self.queue.items(max=epoch(moment)):
            for msg_id in ids:
                out.append(msg_id)
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def cancel_for_item(self, item_id: str, kinds: tuple[str, ...], reason: str) -> int:
        """Cancel pending messages of these kinds for the item (it no longer needs them)."""
        n = 0
        for msg_id in self.item_message_ids(item_id):
            msg = self.messages[msg_id]
            if msg.status == "pending" and msg.kind in kinds:
                self.unqueue(msg)
                msg.status, msg.last_error = "cancelled", reason
                n += 1
        return n

    def since(self, moment: datetime) -> Iterator[Message]:
        lo = f"{int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000:020d}"
        return iter(self.messages.values(min=lo))

    def for_item(self, item_id: str) -> list[Message]:
        return [self.messages[m] for m in self.item_message_ids(item_id)]

    # -- reminder schedule ----------------------------------------------
    def plan_of(self, item: Any) -> tuple | None:
        """``(next fire epoch or -1, checked epoch)`` of ``item`` (None: never planned)."""
        plan = getattr(item, "reminder_plan", None)
        if plan is None and self.item_fire is not None:
            plan = self.item_fire.get(item.item_id)
        return plan

    def schedule_item(self, item: Any, fire_at: datetime | None, checked: datetime) -> None:
        """Remember ``item``'s next fire time (``schedule``) and when it was last checked (on the item)."""
        old = self.plan_of(item)
        old_fire = _fire(old[0]) if old is not None else None
        new_epoch = epoch(fire_at) if fire_at is not None else None
        if old_fire is not None and old_fire != new_epoch:
            _set_discard(self.schedule, old_fire, item.item_id)
        if new_epoch is not None and old_fire != new_epoch:
            _set_add(self.schedule, new_epoch, item.item_id)
        plan = (NO_FIRE if new_epoch is None else new_epoch, epoch(checked))
        if getattr(item, "reminder_plan", None) != plan:
            item.reminder_plan = plan
        self._forget_legacy(item.item_id)

    def unschedule(self, item_id: str, item: Any = None) -> None:
        """Forget the plan of ``item`` (or of a vanished item, by id)."""
        old = self.plan_of(item) if item is not None else (
            self.item_fire.get(item_id) if self.item_fire is not None else None)
        if old is not None and _fire(old[0]) is not None:
            _set_discard(self.schedule, old[0], item_id)
        if item is not None and getattr(item, "reminder_plan", None) is not None:
            item.reminder_plan = None
        self._forget_legacy(item_id)

    def _forget_legacy(self, item_id: str) -> None:
        if self.item_fire is not None and item_id in self.item_fire:
            del self.item_fire[item_id]

    def due_items(self, moment: datetime, limit: int | None = None) -> list[str]:
        out: list[str] = []
        for _, ids in self.schedule.items(max=epoch(moment)):
            out.extend(ids)
            if limit is not None and len(out) >= limit:
                break
        return out

    def checked(self, item: Any) -> int | None:
        got = self.plan_of(item)
        return got[1] if got is not None else None


#: before an item's dedupe key in its ``by_item`` set (message ids begin with a digit)
DEDUPE = "k|"

#: "nothing scheduled" in ``item_fire`` — never None there: BTrees merge two transactions' changes
#: to one bucket by comparing values, and ``(None, …) < (1798560000, …)`` raises, turning every such
#: merge into a ConflictError (older databases still hold None; :func:`_fire` reads both)
NO_FIRE = -1


def _fire(value: int | None) -> int | None:
    return None if value is None or value < 0 else value


def new_id() -> str:
    """``<ns of now()>-<hex>``: sorts by (possibly simulated) creation time, so ``since`` is a range query."""
    moment = now()
    ns = int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000 + time.time_ns() % 1000
    return f"{ns:020d}-{secrets.token_hex(4)}"


def _set_add(tree: OOBTree, key: Any, value: str) -> None:
    bucket = tree.get(key)
    if bucket is None:
        bucket = tree[key] = OOTreeSet()
    bucket.add(value)


def _set_discard(tree: OOBTree, key: Any, value: str) -> None:
    bucket = tree.get(key)
    if bucket is not None and value in bucket:
        bucket.remove(value)
        if not bucket:
            del tree[key]


def lean_item_fire(box: Outbox) -> int:
    """Move ``item_fire`` into an :class:`ItemFire` (evolve step 3); returns the entries moved (0: done before)."""
    if box.item_fire is None or isinstance(box.item_fire, ItemFire):
        return 0
    fresh = ItemFire()
    fresh.update(box.item_fire)
    box.item_fire = fresh
    return len(fresh)


def appended_trees(box: Outbox) -> int:
    """Copy ``messages``, ``by_item`` and every inbox's entries into :class:`Appended` trees (evolve
    step 9; the values — messages, id sets — are the same objects).  Returns the trees copied."""
    copied = 0
    for owner, name in [(box, "messages"), (box, "by_item"), *((inbox, "entries") for inbox in box.inboxes.values())]:
        tree = getattr(owner, name)
        if not isinstance(tree, Appended):
            fresh = Appended()
            fresh.update(tree)
            setattr(owner, name, fresh)
            copied += 1
    return copied


def plans_onto_items(box: Outbox, site: Any) -> int:
    """Move every plan of ``item_fire`` onto its item and drop the tree (evolve step 9); returns how many.

    Plans of items that no longer exist are dropped with their ``schedule`` entries.
    """
    if box.item_fire is None:
        return 0
    moved = 0
    for item_id, plan in list(box.item_fire.items()):
        item = site.item_index.get(item_id)
        if item is None:
            if _fire(plan[0]) is not None:
                _set_discard(box.schedule, plan[0], item_id)
            continue
        if getattr(item, "reminder_plan", None) is None:
            item.reminder_plan = (NO_FIRE if plan[0] is None else plan[0], plan[1])
            moved += 1
    box.item_fire = None
    return moved


def get_outbox(site) -> Outbox:
    """The site's outbox, created on first use (older sites had none)."""
    box = site.get("outbox")
    if box is None:
        box = site.add("outbox", Outbox())
    return box
