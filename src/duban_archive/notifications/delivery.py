"""``tick``: produce what is due, then deliver it exactly once.

A tick runs two short transactions on its own connection, around the sending:

1. *schedule* — items whose next fire time has passed get their reminders
   written to the outbox (dedupe keys make this idempotent); and, in the same
   transaction,
2. *claim* — due messages are marked ``sending`` by this worker and moved to
   a lease time in the queue.  Two ticks claiming the same message both write
   it, so ZODB raises a ConflictError in the later one, which retries and
   finds nothing left to claim;
3. *send* — outside any transaction, through the channels;
4. *record* — ``sent`` or, on failure, a retry with back-off (``failed``
   after :data:`MAX_ATTEMPTS`).

A crash after 2 leaves the message ``sending``; once its lease expires a
later tick claims it again, so nothing is lost.  The only window for a
duplicate is a crash between 3 and 4, and the receiver can drop it by the
message id every channel carries.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import transaction
from ZODB.POSException import ConflictError

from ..content_types.site_access import ROOT_KEY
from ..timeutil import frozen_now, now
from .channels import Channels
from .outbox import get_outbox
from .reminders import fire_due

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 5
BATCH = 5000  # messages claimed per transaction
ITEM_BATCH = 2000  # items planned per transaction
MAX_ROUNDS = 100


@dataclass
class TickResult:
    produced: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    automatic: int = 0  # automatic workflow transitions fired (e.g. 超时视同签收)
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = f"产生 {self.produced} 条，认领 {self.claimed} 条，发送成功 {self.sent} 条，失败 {self.failed} 条"
        return text + (f"，自动流转 {self.automatic} 个" if self.automatic else "")


def _retry(tm: transaction.TransactionManager, conn, fn, attempts: int = 8):
    """Run ``fn(site)`` in a transaction, retrying on write conflicts."""
    for i in range(attempts):
        tm.begin()
        try:
            site = conn.root()[ROOT_KEY]
            result = fn(site)
            tm.commit()
            return result
        except ConflictError:
            tm.abort()
            if i == attempts - 1:
                raise
        except BaseException:
            tm.abort()
            raise
    return None


def claim(site, moment: datetime, worker: str, batch: int | None = None) -> list[dict]:
    box = get_outbox(site)
    out = []
    for msg_id in box.due_ids(moment, batch or BATCH):
        msg = box.messages.get(msg_id)
        if msg is None or msg.status not in ("pending", "sending"):
            if msg is not None:
                box.unqueue(msg)
            continue
        msg.status, msg.claimed_by, msg.claimed_at = "sending", worker, moment
        box.enqueue(msg, moment + LEASE)  # comes due again only if this worker dies
        out.append({"id": msg.msg_id, "channel": msg.channel, "address": msg.address,
                    "subject": msg.subject, "body": msg.body})
    return out


def record(site, results: dict[str, str | None], moment: datetime, worker: str) -> tuple[int, int]:
    box = get_outbox(site)
    sent = failed = 0
    for msg_id, error in results.items():
        msg = box.messages.get(msg_id)
        if msg is None or msg.status != "sending" or msg.claimed_by != worker:
            continue  # our lease expired and someone else owns it now
        msg.attempts += 1
        if error is None:
            box.unqueue(msg)
            msg.status, msg.sent_at, msg.last_error = "sent", moment, ""
            sent += 1
        else:
            msg.last_error = error[:500]
            failed += 1
            if msg.attempts >= MAX_ATTEMPTS:
                box.unqueue(msg)
                msg.status = "failed"
            else:
                msg.status = "pending"
                box.enqueue(msg, moment + timedelta(minutes=2 ** msg.attempts))
    return sent, failed


def run_tick(registry, moment: datetime | None = None, worker: str | None = None,
             channels: Channels | None = None) -> TickResult:
    """One tick on a private connection (safe to run concurrently from cron and threads)."""
    from pyramid.threadlocal import manager as threadlocal_manager

    moment = moment or now()
    worker = worker or f"{os.getpid()}-{threading.get_ident()}-{secrets.token_hex(3)}"
    channels = channels or Channels(registry.settings)
    db = registry._zodb_databases[""]
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    threadlocal_manager.push({"registry": registry, "request": None})
    result = TickResult()
    try:
        with frozen_now(moment):
            if conn.root().get(ROOT_KEY) is None:
                raise LookupError("站点尚未初始化：请先运行 duban-archive init INI")
            from ..workflows.commands import run_automatic

            # time-driven transitions first, so their notices go out in this same tick
            result.automatic = _retry(tm, conn, lambda site: run_automatic(site, registry)) or 0
            for _ in range(MAX_ROUNDS):  # bounded transactions, even after a long downtime
                if not _round(registry, tm, conn, moment, worker, channels, result):
                    break
    finally:
        tm.abort()
        threadlocal_manager.pop()
        conn.close()
    return result


def _round(registry, tm, conn, moment: datetime, worker: str, channels: Channels, result: TickResult) -> bool:
    """Produce + claim (one transaction), send, record; True when more may be due."""
    # produce and claim in one transaction: one commit fewer for the messages just made
    produced, more, claimed = _retry(tm, conn, lambda site: (
        *fire_due(site, registry, moment, ITEM_BATCH), claim(site, moment, worker)))
    result.produced += produced
    result.claimed += len(claimed)
    if claimed:
        by_channel: dict[str, list[dict]] = defaultdict(list)
        for m in claimed:
            by_channel[m["channel"]].append(m)
        results: dict[str, str | None] = {}
        for channel, msgs in by_channel.items():
            try:
                results.update(channels.send(channel, msgs))
            except Exception as exc:  # a broken adapter must not lose the batch
                log.exception("channel %s failed", channel)
                results.update({m["id"]: f"渠道异常：{exc}" for m in msgs})
        result.errors.update({k: v for k, v in results.items() if v})
        sent, failed = _retry(tm, conn, lambda site: record(site, results, now(), worker))
        result.sent += sent
        result.failed += failed
    return more or len(claimed) >= BATCH


class Ticker(threading.Thread):
    """``duban.run_workers = true``: tick every ``duban.tick_interval`` seconds in-process."""

    def __init__(self, registry, interval: float = 60.0) -> None:
        super().__init__(name="duban-ticker", daemon=True)
        self.registry, self.interval = registry, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        if self.stopped.wait(min(5.0, self.interval)):
            return
        while not self.stopped.is_set():
            try:
                res = run_tick(self.registry)
                if res.claimed or res.produced:
                    log.info("tick: %s", res.summary())
            except LookupError:
                pass  # site not created yet
            except Exception:
                log.exception("tick failed")
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
