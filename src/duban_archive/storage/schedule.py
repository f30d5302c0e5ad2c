"""Scheduled maintenance: a nightly pack and a fixity check every few days.

With ``duban.run_workers = true`` the web process runs a :class:`MaintenanceWorker`
thread.  Settings (all optional):

* ``duban.pack_days`` — history kept by the scheduled pack, default 7;
  ``0`` / ``off`` turns the scheduled pack off (``duban-archive pack`` still works);
* ``duban.pack_at`` — time of day (China Standard Time) of the maintenance
  window, default ``03:30``;
* ``duban.fixity_every_days`` — run ``archive.fixity.run_fixity`` in the window
  every N days, default 7; ``0`` / ``off`` turns it off.

A task runs only within :data:`WINDOW` after ``pack_at`` (a site started at
noon waits for the next night).  When it last ran is kept in
``var/maintenance.json``, so a restart does not run it again; the first start
on a data directory writes a baseline there and runs nothing.  Several
processes on one data directory decide under ``var/maintenance.lock``, so
only one of them runs each task.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from ..settings import asbool
from ..timeutil import as_cst, isoformat, now
from .maintenance import MaintenanceBusy, maintenance_lock, pack_locked

log = logging.getLogger(__name__)

STATE_FILE = "maintenance.json"
#: a task is run only this long after ``pack_at`` (a missed night is caught up on start-up within it)
WINDOW = timedelta(hours=3)
ACTOR = "system:schedule"


@dataclass(frozen=True)
class Schedule:
    pack_days: int | None = 7  # None: no scheduled pack
    pack_at: dtime = dtime(3, 30)
    fixity_every_days: int | None = 7  # None: no scheduled fixity


def _days(settings: dict[str, Any], key: str, default: int) -> int | None:
    raw = str(settings.get(key, "") or "").strip().lower()
    if not raw:
        return default
    if raw in ("off", "false", "no", "none"):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{key} = {raw!r}：应为天数（整数）或 off") from None
    if value < 0:
        raise ValueError(f"{key} = {raw!r}：天数不能为负数")
    return value or None


def parse_schedule(settings: dict[str, Any]) -> Schedule:
    """The schedule from the ini settings; a bad value is a ValueError with a Chinese message."""
    raw = str(settings.get("duban.pack_at", "") or "03:30").strip()
    try:
        hours, minutes = raw.split(":")
        at = dtime(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"duban.pack_at = {raw!r}：应为一天中的时刻，如 03:30") from None
    return Schedule(pack_days=_days(settings, "duban.pack_days", 7), pack_at=at,
                    fixity_every_days=_days(settings, "duban.fixity_every_days", 7))


# -- the decisions (pure) -------------------------------------------------------------------------

def latest_slot(moment: datetime, at: dtime) -> datetime:
    """The most recent ``at`` o'clock (CST) at or before ``moment``."""
    moment = as_cst(moment)
    slot = moment.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return slot if slot <= moment else slot - timedelta(days=1)


def pack_due(moment: datetime, last: datetime, schedule: Schedule) -> bool:
    """Pack now?  Once per night, within the window after ``pack_at``, if not done since."""
    if schedule.pack_days is None:
        return False
    slot = latest_slot(moment, schedule.pack_at)
    return as_cst(moment) - slot <= WINDOW and as_cst(last) < slot


def fixity_due(moment: datetime, last: datetime, schedule: Schedule) -> bool:
    """Check fixity now?  Within the window, when ``fixity_every_days`` calendar days have passed."""
    if schedule.fixity_every_days is None:
        return False
    slot = latest_slot(moment, schedule.pack_at)
    last = as_cst(last)
    return (as_cst(moment) - slot <= WINDOW and last < slot
            and (slot.date() - last.date()).days >= schedule.fixity_every_days)


# -- var/maintenance.json -------------------------------------------------------------------------

def load_state(var: Path) -> dict[str, Any]:
    try:
        data = json.loads((var / STATE_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError:
        log.warning("%s is not valid JSON; starting a new schedule baseline", var / STATE_FILE)
        return {}
    return data if isinstance(data, dict) else {}


def save_state(var: Path, state: dict[str, Any]) -> None:
    path = var / STATE_FILE
    tmp = path.with_name(f".{STATE_FILE}.part")
    tmp.write_text(json.dumps(state, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def last_run(state: dict[str, Any], task: str) -> datetime | None:
    """When ``task`` last started, else the baseline; None before the first start."""
    entry = state.get(task)
    raw = entry.get("at") if isinstance(entry, dict) else None
    raw = raw or state.get("baseline")
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


# -- the worker -----------------------------------------------------------------------------------

class MaintenanceWorker(threading.Thread):
    """Runs due maintenance every ``poll`` seconds; ``stop()`` ends it at the next wake-up."""

    def __init__(self, registry, schedule: Schedule, poll: float = 60.0,
                 clock: Callable[[], datetime] = now) -> None:
        super().__init__(name="duban-maintenance", daemon=True)
        self.registry, self.schedule, self.poll, self.clock = registry, schedule, poll, clock
        self.var = Path(registry.settings["duban.var_dir"])
        self.stopped = threading.Event()

    def run(self) -> None:
        delay = min(5.0, self.poll)
        while not self.stopped.wait(delay):
            try:
                self.run_once(self.clock())
            except MaintenanceBusy:
                log.info("maintenance: another maintenance task holds the lock; trying again later")
            except Exception:
                log.exception("maintenance: scheduled run failed")
            delay = self.poll

    def stop(self) -> None:
        self.stopped.set()

    def due(self, moment: datetime, state: dict[str, Any]) -> list[str]:
        tasks = []
        for task, decide in (("pack", pack_due), ("fixity", fixity_due)):
            last = last_run(state, task)
            if last is not None and decide(moment, last, self.schedule):
                tasks.append(task)
        return tasks

    def run_once(self, moment: datetime) -> list[str]:
        """Run what is due at ``moment``; returns the tasks run.  Raises MaintenanceBusy."""
        state = load_state(self.var)
        if state.get("baseline") and not self.due(moment, state):
            return []
        with maintenance_lock(self.var):
            state = load_state(self.var)  # another process may have run it meanwhile
            if not state.get("baseline"):
                state["baseline"] = isoformat(moment)
                save_state(self.var, state)
                return []
            done = []
            for task in self.due(moment, state):
                if self.stopped.is_set():
                    break
                # recorded before running: a task that fails or is killed is not retried until its next turn
                state[task] = {"at": isoformat(moment), "ok": None}
                save_state(self.var, state)
                state[task].update(self._run(task))
                save_state(self.var, state)
                done.append(task)
            return done

    def _run(self, task: str) -> dict[str, Any]:
        if task == "pack":
            try:
                result = pack_locked(self.registry, self.schedule.pack_days or 0, actor=ACTOR)
            except Exception as exc:
                log.exception("maintenance: scheduled pack failed")
                return {"ok": False, "error": str(exc) or type(exc).__name__}
            return {"ok": True, "before": result["before"], "after": result["after"],
                    "audited": result["audited"]}
        try:
            from ..archive.fixity import run_fixity

            report = run_fixity(self.registry, actor=ACTOR)
        except Exception as exc:
            log.exception("maintenance: scheduled fixity check could not run (archive.fixity.run_fixity raised)")
            return {"ok": False, "error": str(exc) or type(exc).__name__}
        summary = {"ok": report.ok, "checked": report.checked, "missing": report.missing,
                   "mismatched": report.mismatched, "audited": report.audited}
        (log.info if report.ok else log.error)(
            "maintenance: fixity checked %s files, %s missing, %s mismatched", report.checked,
            report.missing, report.mismatched)
        return summary


def includeme(config) -> None:
    """Validate the schedule settings; with ``duban.run_workers = true`` start the worker."""
    settings = config.get_settings()
    schedule = parse_schedule(settings)  # a bad value refuses start-up
    registry = config.registry
    registry.duban_maintenance_schedule = schedule
    if not asbool(settings.get("duban.run_workers", "false")):
        return
    from pyramid.events import ApplicationCreated

    poll = float(settings.get("duban.maintenance_poll") or 60)

    def start(event) -> None:  # once the app exists: its ZODB database is opened by then
        worker = MaintenanceWorker(registry, schedule, poll=poll)
        registry.duban_maintenance = worker
        worker.start()

    config.add_subscriber(start, ApplicationCreated)
