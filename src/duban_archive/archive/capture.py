"""Capture-time checks of every uploaded original, in the background (DA/T 70 at 采集).

Why not in the upload request: verifying a PDF's signatures with pyHanko
and decoding every page or frame takes seconds for a large file, and the
upload must answer at once.  So an upload only *queues* its attachment
(:func:`on_attachment_added`, in the upload's transaction); after the commit
the :class:`CaptureWorker` thread of the process is woken, runs
:func:`.originals.capture_checks` on the committed blob and records the
result on the attachment (``original_checks``, plain data) in a short
transaction of its own, one attachment at a time.  Until then the item page
and the JSON say 「待检测」 (:func:`status`).

The queue (``site["archive"].capture_queue``, attachment id -> time queued)
keeps a sentinel first key, so the worker's deletions merge with the inserts
of concurrent uploads instead of conflicting when a bucket empties.

The worker runs in the process with ``duban.run_workers = true`` (started
with the app) or, with ``duban.capture_worker = true``, in any process that
commits an upload; it also polls (``duban.capture_poll`` seconds), so uploads
committed by other processes are checked too.  Without either, ``duban-archive
capture-checks INI`` empties the queue (cron, or ``--loop`` beside the
external indexer).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import transaction
from BTrees.OOBTree import OOBTree
from ZODB.POSException import ConflictError

from ..content_types.site_access import ROOT_KEY
from ..settings import asbool
from ..timeutil import isoformat, now
from ..txn import after_commit
from .checks import check

log = logging.getLogger(__name__)

SENTINEL = ""
#: statuses of an attachment's capture-time check: key -> (label, Bootstrap badge colour)
STATUSES = {
    "verified": ("已验证", "success"),
    "signature_invalid": ("签名无效", "danger"),
    "undecodable": ("无法解码", "danger"),
    "unchecked": ("未检测", "warning"),
    "pending": ("待检测", "secondary"),
}


def queue_of(site, create: bool = True) -> OOBTree | None:
    from .model import archive_root

    root = archive_root(site) if create else site.get("archive")
    if root is None:
        return None
    q = getattr(root, "capture_queue", None)
    if q is None and create:
        q = root.capture_queue = OOBTree()
        q[SENTINEL] = None
    return q


def enqueue(site, att) -> None:
    q = queue_of(site)
    assert q is not None
    q[att.__name__] = now()


def pending_ids(site, limit: int = 50) -> list[str]:
    q = queue_of(site, create=False)
    if q is None:
        return []
    out = []
    for key in q.keys(min=SENTINEL, excludemin=True):
        out.append(key)
        if len(out) >= limit:
            break
    return out


def on_attachment_added(event) -> None:
    """Subscriber for :class:`~duban_archive.events.ObjectAdded`: queue an attachment, wake the worker after commit."""
    att = event.object
    if getattr(att, "type_name", "") != "attachment":
        return
    from pyramid.threadlocal import get_current_registry

    from ..content_types.site import find_site

    try:
        site = find_site(att)
    except LookupError:
        return
    enqueue(site, att)
    registry = get_current_registry()
    after_commit(lambda: wake(registry), obj=att)


def status(att) -> dict[str, Any]:
    """What the item page and the JSON show of an attachment's capture-time check."""
    found = getattr(att, "original_checks", None)
    if not found:
        key, detail, at = "pending", "上传后在后台检测签名与可读性", None
    else:
        use = found.get("usability") or []
        sigs = found.get("authenticity") or []
        at = found.get("at")
        if any(c.get("passed") is False for c in use):
            key = "undecodable"
        elif any(c.get("passed") is False for c in sigs):
            key = "signature_invalid"
        elif any(c.get("passed") is None for c in [*use, *sigs]):
            key = "unchecked"
        else:
            key = "verified"
        detail = "；".join(str(c.get("detail", "")) for c in [*sigs, *use])
    label, colour = STATUSES[key]
    return {"status": key, "label": label, "colour": colour, "checked_at": at, "detail": detail,
            "signatures": sum(1 for c in (found or {}).get("authenticity") or ())}


# -- the worker --------------------------------------------------------------------------------

def run_pending(registry, *, limit: int | None = None) -> int:
    """Check queued attachments until the queue is empty (or ``limit``); returns how many were recorded."""
    from .originals import capture_checks

    db = registry._zodb_databases[""]
    done = 0
    skip: set[str] = set()
    while limit is None or done < limit:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        att_id = None
        try:
            tm.begin()
            site = conn.root().get(ROOT_KEY)
            ids = [i for i in pending_ids(site, 50) if i not in skip] if site is not None else []
            if not ids:
                return done
            att_id = ids[0]
            att = site.attachment_index.get(att_id)
            q = queue_of(site, create=False)
            if att is not None:
                try:
                    capture_checks(att, registry.settings)
                except ConflictError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a blob gone missing …: recorded, not retried for ever
                    log.exception("capture check of %s could not run", att_id)
                    att.original_checks = {"at": isoformat(now()), "authenticity": [], "usability": [check(
                        "usability.original", f"原件可完整读取：{att.filename}", None,
                        f"未检测：采集检测出错（{type(exc).__name__}）")]}
            if q is not None:
                q.pop(att_id, None)
            tm.get().note(f"采集检测：{att_id}")
            tm.commit()
            done += att is not None
        except ConflictError:  # the attachment or the queue changed meanwhile: the next round retries
            log.info("capture check of %s conflicted; will retry", att_id)
            skip.add(att_id or "")
        except Exception:
            log.exception("capture check of %s failed; it stays queued", att_id)
            if att_id is None:
                return done
            skip.add(att_id)
        finally:
            tm.abort()
            conn.close()
    return done


class CaptureWorker(threading.Thread):
    """Runs :func:`run_pending` when woken after an upload commits, and every ``interval`` seconds."""

    def __init__(self, registry, interval: float = 10.0) -> None:
        super().__init__(name="duban-capture-checks", daemon=True)
        self.registry = registry
        self.interval = interval
        self.wake_event = threading.Event()
        self.idle = threading.Event()
        self.stopping = False

    def run(self) -> None:
        from pyramid.threadlocal import manager

        manager.push({"registry": self.registry, "request": None})
        while not self.stopping:
            self.idle.clear()
            try:
                run_pending(self.registry)
            except Exception:  # noqa: BLE001 - a closed database at shutdown, …: try again later
                log.exception("background capture checks failed; retrying later")
            self.idle.set()
            self.wake_event.wait(self.interval)
            self.wake_event.clear()

    def wake(self) -> None:
        self.idle.clear()
        self.wake_event.set()

    def wait_idle(self, timeout: float) -> bool:
        """For tests and shutdown: wait until the queue was emptied after the last wake-up."""
        return self.idle.wait(timeout)

    def stop(self) -> None:
        self.stopping = True
        self.wake_event.set()


_start_lock = threading.Lock()


def worker_enabled(settings: dict[str, Any]) -> bool:
    return asbool(settings.get("duban.capture_worker", "false")) or asbool(settings.get("duban.run_workers", "false"))


def start_worker(registry) -> CaptureWorker:
    with _start_lock:
        worker = getattr(registry, "duban_capture_worker", None)
        if worker is None or not worker.is_alive():
            worker = CaptureWorker(registry, float(registry.settings.get("duban.capture_poll") or 10))
            registry.duban_capture_worker = worker
            worker.start()
        return worker


def wake(registry) -> None:
    """After an upload committed: wake (or start) this process's worker, when workers run here."""
    settings = getattr(registry, "settings", None) or {}
    if not worker_enabled(settings):
        return
    start_worker(registry).wake()
