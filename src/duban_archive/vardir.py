"""The data directory ``var/``: private to the account running the site, usable or refused clearly.

``var/`` holds ``Data.fs`` (every record and the audit log), ``blobs/`` (attachments, packages),
``index/`` (the full-text index), ``cache/text`` (extracted text), ``log/`` and ``secret``; no
other account on the machine may read any of it.  :func:`prepare` (called by
``settings.prepare_settings`` before anything is opened):

* sets the process umask to ``077``: everything this process and its children (``runzeo``, the
  render workers, whoosh, ZODB) create from then on is ``0700`` (directories) / ``0600`` (files);
* creates the sub-directories, and refuses a directory it cannot create or write with ONE line
  naming it (:class:`VarDirUnusable`) instead of a traceback from deep inside ZODB;
* takes the group and other bits off everything already there (:func:`tighten`: sites set up
  before this fix, files copied in by hand or restored), at every start — a ``stat`` per file,
  nothing written when nothing is loose, so it needs no evolve step.  Owner bits are kept (ZODB
  makes committed blob files read-only; they stay so).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

UMASK = 0o077
PRIVATE = 0o077  # the bits no file under var/ may have


class VarDirUnusable(SystemExit):
    """A data directory this process cannot use.

    A ``SystemExit``: ``pserve`` ends with this one line instead of a traceback; the
    ``duban-archive`` CLI prints it as its other one-line errors (``scripts/cli.py``).
    """


def unusable_message(path: Path, reason: str) -> str:
    return (f"错误：数据目录不可用：{path} 无法写入（{reason}）。请检查该目录的所有者和权限（应属于运行本系统的用户，"
            f"权限 700），或用 DUBAN_VAR_DIR 指向可写的目录。 / Error: the data directory {path} is not writable "
            f"({reason}): check its owner and permissions, or point DUBAN_VAR_DIR at a writable directory.")


def _reason(exc: OSError | None) -> str:
    if exc is None or not exc.strerror:
        return "权限不足或只读文件系统 / permission denied or read-only file system"
    return exc.strerror


def prepare(var: Path, subdirs: Iterable[str]) -> None:
    """Umask, sub-directories, a writability check and :func:`tighten`, in that order."""
    os.umask(UMASK)
    dirs = [var, *(var / sub for sub in subdirs)]
    for path in dirs:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = path  # name the directory that refused: the nearest one that exists
            while not where.exists() and where.parent != where:
                where = where.parent
            raise VarDirUnusable(unusable_message(where, _reason(exc))) from exc
    for path in dirs:  # there already, but read-only (a 0500 directory, a read-only mount)
        if not os.access(path, os.W_OK | os.X_OK):
            raise VarDirUnusable(unusable_message(path, _reason(None)))
    tighten(var)


def tighten(var: Path) -> int:
    """Remove group/other permission bits from ``var`` and everything below it; returns how many
    entries changed.  Symlinks are not followed; entries the process does not own are reported in
    the log, not fatal."""
    changed = failed = 0

    def fix(path: str) -> None:
        nonlocal changed, failed
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                return
            mode = stat.S_IMODE(st.st_mode)
            if mode & PRIVATE:
                os.chmod(path, mode & ~PRIVATE)
                changed += 1
        except FileNotFoundError:  # removed meanwhile (a temp file)
            return
        except OSError:
            failed += 1

    for root, _dirs, files in os.walk(var):  # every directory comes round as ``root``
        fix(root)
        for name in files:
            fix(os.path.join(root, name))
    if changed:
        log.info("data directory %s: took group/other access off %d entries", var, changed)
    if failed:
        log.warning("data directory %s: could not tighten the permissions of %d entries (not ours?)", var, failed)
    return changed
