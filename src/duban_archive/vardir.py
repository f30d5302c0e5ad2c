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

A full disk (issue 12) must not lock everybody out: a login writes a session id and an audit
entry.  ``var/ballast`` (``duban.ballast_mb``, default 32, 0 = off) is a file of real blocks kept
for that moment: created at start when the file system has room for it twice over
(:func:`ensure_ballast`), deleted by the first request refused for want of space while less than
its size is free (:func:`release_ballast`, called by the 507 views).  The refused request stays
refused; the space it frees is kept for logins and small writes — while ``ballast.released``
exists and less than the ballast's size is free, bodies over :data:`RESERVE_BODY` are refused
up front (:func:`in_reserve`).  The next start with room recreates the ballast.
"""

from __future__ import annotations

import errno
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


# -- the ballast ---------------------------------------------------------------------------------

BALLAST = "ballast"
#: written when the ballast is released: ``pending`` until the release is in the audit log, then ``audited``
RELEASED = "ballast.released"
#: while in reserve, request bodies above this are refused (a login form or token request is far smaller)
RESERVE_BODY = 64 * 1024
_CHUNK = 1 << 20


def ballast_bytes(settings) -> int:
    """``duban.ballast_mb`` in bytes (0: no ballast)."""
    try:
        return max(0, int(float(settings.get("duban.ballast_mb") or 0) * _CHUNK))
    except (TypeError, ValueError):
        log.warning("duban.ballast_mb = %r is not a number: no ballast", settings.get("duban.ballast_mb"))
        return 0


def free_bytes(var: Path) -> int:
    """Bytes this process may still write on ``var``'s file system."""
    st = os.statvfs(var)
    return st.f_bavail * st.f_frsize


def _allocated(path: Path) -> int:
    try:
        return path.stat().st_blocks * 512
    except FileNotFoundError:
        return 0


def _fill(fd: int, size: int) -> None:
    """Give ``fd`` ``size`` bytes of real blocks: ``posix_fallocate``, or zeros where it is not supported."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise
    zeros = bytes(_CHUNK)
    done = 0
    while done < size:
        done += os.write(fd, zeros[: min(_CHUNK, size - done)])


def ensure_ballast(var: Path, size: int) -> bool:
    """Make ``var/ballast`` hold ``size`` bytes of real blocks (0600) when there is room for it twice
    over; returns whether it is there.  ``size`` 0 removes a ballast left from before."""
    path = var / BALLAST
    if size <= 0:
        for name in (BALLAST, RELEASED):
            (var / name).unlink(missing_ok=True)
        return False
    have = _allocated(path)
    if have >= size:
        if path.stat().st_size > size:  # the setting was lowered: give the rest back
            os.truncate(path, size)
        return True
    if free_bytes(var) + have < 2 * size:
        log.warning("data directory %s: less than %d MB free, no room for the %d MB ballast: free disk space",
                    var, 2 * size // _CHUNK, size // _CHUNK)
        return False
    tmp = var / f".{BALLAST}.{os.getpid()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _fill(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.warning("data directory %s: could not create the ballast (%s)", var, exc)
        return False
    (var / RELEASED).unlink(missing_ok=True)
    log.info("data directory %s: %d MB ballast in place (%s)", var, size // _CHUNK, path)
    return True


def release_ballast(var: Path, size: int, quota: bool = False) -> bool:
    """Delete the ballast when ``var``'s file system has less than its size free (or, ``quota``,
    the account's quota is used up: ``statvfs`` does not show it); returns whether this call
    deleted it (one process wins).  Leaves ``ballast.released`` (``pending``) behind."""
    path = var / BALLAST
    if size <= 0 or not path.exists():
        return False
    try:
        if not quota and free_bytes(var) >= size:  # the refusal came from elsewhere (a huge upload, /tmp): keep it
            return False
        path.unlink()
    except OSError:  # another process was first
        return False
    log.critical("DISK FULL: data directory %s is out of space; released the %d MB ballast %s so that "
                 "logins still work. Free disk space now, then restart to recreate the ballast.",
                 var, size // _CHUNK, path)
    mark_released(var, "pending")
    return True


def mark_released(var: Path, state: str) -> None:
    try:
        fd = os.open(var / RELEASED, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(state + "\n")
    except OSError as exc:
        log.error("data directory %s: could not write %s (%s)", var, RELEASED, exc)


def released_state(var: Path) -> str | None:
    """``None`` (ballast not used), ``"pending"`` (its release is not in the audit log yet) or ``"audited"``."""
    try:
        return (var / RELEASED).read_text().strip() or "pending"
    except FileNotFoundError:
        return None
    except OSError:
        return "pending"


def in_reserve(var: Path, size: int) -> bool:
    """The ballast was used and less than its size is free again: keep what is left for logins."""
    if size <= 0 or not (var / RELEASED).exists():
        return False
    try:
        return free_bytes(var) < size
    except OSError:
        return False
