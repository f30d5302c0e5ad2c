"""Pack, backup and restore of a data directory (``duban-archive pack / backup / restore``).

* :func:`pack` packs through the application's own database object, so it
  works the same embedded and as a ZEO client (the server does the packing),
  and audit-logs it.
* :func:`backup` needs no database connection: ZODB's **repozo** copies
  ``Data.fs`` up to its last committed transaction (incrementally when it can,
  gzip-compressed) while the site keeps writing, then the blob files not yet in
  the backup are copied.  Repozo first, blobs second: a blob file is on disk
  before the transaction that references it commits, so every blob the copied
  ``Data.fs`` refers to is already there when the blobs are copied.
* :func:`restore` rebuilds ``Data.fs`` with ``repozo -R`` and copies the blobs
  back, into a data directory nobody is using.

Pack, backup, restore and the scheduled fixity check take the exclusive lock
``var/maintenance.lock`` (``fcntl.flock``): a pack moves away blob revisions a
backup could be copying or a fixity run could be hashing.

Expected refusals raise :class:`MaintenanceError` with a Chinese message and
change nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..filelock import exclusive
from ..timeutil import isoformat, now

log = logging.getLogger(__name__)

LOCK_NAME = "maintenance.lock"
SECRET = "secret"
MANIFEST = "backup.json"
REPOZO_DIR = "repozo"
BLOBS_DIR = "blobs"
#: audit commits attempted after a pack (conflicts on the audit log are normal)
COMMIT_ATTEMPTS = 5
BACKOFF = 0.05
COPY_CHUNK = 1 << 20


class MaintenanceError(RuntimeError):
    """An expected refusal or failure: one Chinese line for the admin, nothing changed."""


class MaintenanceBusy(MaintenanceError):
    """Another pack / backup / restore / scheduled check holds ``var/maintenance.lock``."""


# -- the lock -------------------------------------------------------------------------------------

@contextlib.contextmanager
def maintenance_lock(var: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold ``var/maintenance.lock`` exclusively (:mod:`duban_archive.filelock`); wait up to ``wait`` seconds."""
    var.mkdir(parents=True, exist_ok=True)
    path = var / LOCK_NAME

    def busy() -> MaintenanceBusy:
        return MaintenanceBusy(f"另一个维护任务（压缩、备份、恢复或固定性校验）正在 {var} 上运行，请稍后再试"
                               f"（锁文件 {path}）")

    with exclusive(path, wait, busy, poll=0.2) as fd:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield


# -- pack -----------------------------------------------------------------------------------------

def local_datafs(registry) -> Path | None:
    """``var/Data.fs`` when the database is that file (embedded or the var dir's ZEO server)."""
    from urllib.parse import unquote

    from ZODB.FileStorage import FileStorage

    from .zeo import socket_path

    var = Path(registry.settings["duban.var_dir"])
    storage = registry._zodb_databases[""].storage
    if isinstance(storage, FileStorage):
        return Path(storage.getName())
    uri = str(registry.settings.get("zodbconn.uri") or "")
    if uri.startswith("zeo://") and unquote(uri[len("zeo://"):].split("?", 1)[0]) == str(socket_path(var)):
        return var / "Data.fs"
    return None


def _size(path: Path | None) -> int | None:
    try:
        return path.stat().st_size if path is not None else None
    except FileNotFoundError:
        return None


def pack(registry, days: int, *, actor: str = "system:cli", wait: float = 0.0) -> dict[str, Any]:
    """Pack the database keeping ``days`` days of history; audit-log it.

    Returns ``{"days", "datafs", "before", "after", "seconds", "audited"}`` (sizes
    in bytes, None when the database is not a local FileStorage).
    """
    with maintenance_lock(Path(registry.settings["duban.var_dir"]), wait=wait):
        return pack_locked(registry, days, actor=actor)


def pack_locked(registry, days: int, *, actor: str) -> dict[str, Any]:
    """:func:`pack` for a caller that already holds the maintenance lock (the scheduler)."""
    if days < 0:
        raise MaintenanceError(f"保留天数不能为负数：{days}")
    db = registry._zodb_databases[""]
    datafs = local_datafs(registry)
    before = _size(datafs)
    started = time.monotonic()
    db.pack(days=days)
    result = {"days": days, "datafs": str(datafs) if datafs else None, "before": before,
              "after": _size(datafs), "seconds": round(time.monotonic() - started, 3)}
    result["audited"] = _audit_pack(registry, actor, result)
    log.info("pack: kept %s days of history, Data.fs %s -> %s bytes in %.1f s", days, before,
             result["after"], result["seconds"])
    return result


def _audit_pack(registry, actor: str, result: dict[str, Any]) -> bool:
    """One audit entry in its own transaction; False when the site is missing or every commit conflicted."""
    import transaction
    from transaction.interfaces import TransientError

    from ..audit.log import record
    from ..content_types.site_access import open_site

    tm = transaction.TransactionManager()
    try:
        with open_site(registry, tm=tm) as site:
            for attempt in range(COMMIT_ATTEMPTS):
                try:
                    record(site, "pack", actor, "", days=result["days"], size_before=result["before"],
                           size_after=result["after"])
                    tm.commit()
                    return True
                except TransientError:
                    tm.abort()
                    time.sleep(random.uniform(0, BACKOFF * (2 ** attempt)))
                    tm.begin()
    except LookupError:  # no site in this database (yet): nothing to audit into
        return False
    log.warning("pack: the audit entry conflicted %s times and was not written", COMMIT_ATTEMPTS)
    return False


# -- blob copies ----------------------------------------------------------------------------------

def _blob_files(root: Path) -> Iterator[Path]:
    """Committed blob files under ``root`` (relative paths) plus ``.layout``; never ``tmp/``."""
    if (root / ".layout").is_file():
        yield Path(".layout")
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == root:
            dirnames[:] = [d for d in dirnames if d != "tmp"]  # uncommitted uploads
        for name in filenames:
            if name.endswith(".blob"):
                yield Path(dirpath, name).relative_to(root)


def _copy_file(src: Path, dst: Path) -> None:
    """A real copy (never a link: a hard link would share the inode a later bit flip rots)."""
    tmp = dst.with_name(f".{dst.name}.part")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout, COPY_CHUNK)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, tmp)
    os.replace(tmp, dst)


def copy_blobs(src: Path, dst: Path) -> dict[str, int]:
    """Copy the blob files of ``src`` that ``dst`` lacks (or holds with another size).

    Committed blob files never change, so a file already present with the same
    size is the same file.  A file that vanishes meanwhile (an aborted
    transaction's, or one a pack removed) is skipped.
    """
    dst.mkdir(parents=True, exist_ok=True)
    os.chmod(dst, 0o700)  # ZODB refuses world-readable blob dirs
    total = copied = copied_bytes = vanished = 0
    for rel in _blob_files(src):
        source, target = src / rel, dst / rel
        try:
            size = source.stat().st_size
        except FileNotFoundError:
            vanished += 1
            continue
        counted = rel.name.endswith(".blob")  # not the layout marker
        total += counted
        try:
            if target.stat().st_size == size:
                continue
        except FileNotFoundError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _copy_file(source, target)
        except FileNotFoundError:
            vanished += 1
            total -= counted
            continue
        copied += counted
        copied_bytes += size if counted else 0
    return {"files": total, "copied": copied, "bytes_copied": copied_bytes, "vanished": vanished}


# -- repozo ---------------------------------------------------------------------------------------

def _repozo(args: list[str]) -> None:
    """Run ZODB's repozo in this process; its failures become MaintenanceError."""
    from ZODB.scripts import repozo

    try:
        repozo.main(args)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise MaintenanceError(f"repozo 失败：{exc.code}") from None


def _repozo_files(repo: Path) -> list[str]:
    return sorted(p.name for p in repo.iterdir() if p.is_file()) if repo.is_dir() else []


def _wait_for_a_new_second(repo: Path) -> None:
    """Let the UTC second change until no repository file carries it.

    Repozo names its files by the second.  A full and an incremental file of
    the same second sort in the wrong order (``.fsz`` after ``.deltafsz``),
    so ``repozo -R`` would then skip the incremental and splice the next one
    in at the wrong offset: a corrupt restore.  Two backups of the same second
    also share one ``.index`` file name.
    """
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        if not any(name.startswith(stamp) for name in _repozo_files(repo)):
            return
        time.sleep(0.1)


def _expected_size(repo: Path) -> int | None:
    """The end position the newest full backup's ``.dat`` records for its last file."""
    dats = sorted(p for p in repo.iterdir() if p.name.endswith(".dat"))
    if not dats:
        return None
    lines = dats[-1].read_text().split("\n")
    fields = [line.split() for line in lines if line.strip()]
    try:
        return int(fields[-1][2])
    except (IndexError, ValueError):
        return None


def _is_data_file(name: str) -> bool:
    return name.endswith((".fs", ".fsz", ".deltafs", ".deltafsz"))


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _copy_secret(src: Path, dst: Path) -> None:
    """The instance secret (``var/secret``, signs sessions and tokens), kept private (0600)."""
    if not (src / SECRET).is_file():
        return
    tmp = dst / f".{SECRET}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write((src / SECRET).read_bytes())
    os.replace(tmp, dst / SECRET)


# -- backup ---------------------------------------------------------------------------------------

def backup(var: Path, dest: Path, *, wait: float = 0.0) -> dict[str, Any]:
    """Back ``var`` up into ``dest`` (``dest/repozo``, ``dest/blobs``, ``dest/backup.json``).

    Incremental: repozo adds a delta when ``Data.fs`` only grew since the last
    backup into ``dest`` (a full copy after a pack), and only new blob files
    are copied.  Safe while the site serves; needs no database connection.
    """
    var, dest = Path(var).resolve(), Path(dest).resolve()
    datafs = var / "Data.fs"
    if not datafs.is_file():
        raise MaintenanceError(f"找不到数据库文件 {datafs}，没有可备份的内容")
    if _inside(dest, var / BLOBS_DIR) or dest == var:
        raise MaintenanceError(f"备份目录 {dest} 不能是数据目录或其附件目录，请换一个目录")
    with maintenance_lock(var, wait=wait):
        started = time.monotonic()
        repo = dest / REPOZO_DIR
        repo.mkdir(parents=True, exist_ok=True)
        before = set(_repozo_files(repo))
        _wait_for_a_new_second(repo)
        _repozo(["-B", "-Q", "-z", "-r", str(repo), "-f", str(datafs)])
        files = _repozo_files(repo)
        new = [n for n in files if n not in before]
        blobs = copy_blobs(var / BLOBS_DIR, dest / BLOBS_DIR)
        _copy_secret(var, dest)  # sessions and tokens stay valid on the restored site
        new_data = [n for n in new if _is_data_file(n)]
        manifest: dict[str, Any] = {
            "time": isoformat(now()),
            "source": str(var),
            "repozo": {
                "directory": REPOZO_DIR,
                "files": [n for n in files if _is_data_file(n)],
                "new": new_data,
                "kind": ("full" if any(n.endswith((".fs", ".fsz")) for n in new_data)
                         else "incremental" if new_data else "unchanged"),
                "bytes": sum((repo / n).stat().st_size for n in files if _is_data_file(n)),
            },
            "blobs": {"directory": BLOBS_DIR, **blobs},
            "seconds": round(time.monotonic() - started, 3),
        }
        tmp = dest / f".{MANIFEST}.part"
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
        os.replace(tmp, dest / MANIFEST)
    log.info("backup of %s into %s: %s, %s blob files copied", var, dest, manifest["repozo"]["kind"],
             blobs["copied"])
    return manifest


# -- restore --------------------------------------------------------------------------------------

def restore(src: Path, var: Path, force: bool = False) -> dict[str, Any]:
    """Recover ``src`` (a :func:`backup` directory) into the data directory ``var``.

    Refuses, changing nothing, while a ZEO server serves ``var``, while any
    process holds ``var/Data.fs``, and when ``var/Data.fs`` exists unless
    ``force``.  The full-text index of ``var`` is not restored: rebuild it
    with ``duban-archive reindex``.
    """
    from zc.lockfile import LockError, LockFile

    from .zeo import server_alive, socket_path

    src, var = Path(src).resolve(), Path(var).resolve()
    repo = src / REPOZO_DIR
    if not any(_is_data_file(n) for n in _repozo_files(repo)):
        raise MaintenanceError(f"{src} 不是备份目录：其中没有 {REPOZO_DIR}/ 下的 repozo 备份文件")
    if _inside(var, src) or _inside(src, var):
        raise MaintenanceError(f"备份目录 {src} 与数据目录 {var} 不能相互包含")
    datafs = var / "Data.fs"
    if server_alive(var):
        raise MaintenanceError(f"站点正在运行（{socket_path(var)} 上有数据库服务），不能恢复到正在使用的数据目录；"
                               "请先停止站点，或恢复到一个新的数据目录（DUBAN_VAR_DIR）")
    if datafs.exists() and not force:
        raise MaintenanceError(f"{datafs} 已存在，恢复会覆盖现有数据库；确认要覆盖请加 --force，"
                               "或恢复到一个新的数据目录（DUBAN_VAR_DIR）")
    if not var.exists():
        var.mkdir(parents=True)
    lock_path = var / "Data.fs.lock"
    had_lock_file = lock_path.exists()
    try:
        fs_lock = LockFile(str(lock_path))
    except LockError:
        raise MaintenanceError(f"{datafs} 正被另一个进程使用（站点或命令正在运行），请先停止它再恢复") from None
    try:
        with maintenance_lock(var):
            started = time.monotonic()
            for stale in ("Data.fs.index", "Data.fs.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    (var / stale).unlink()  # an index of the old file would describe the wrong data
            _repozo(["-R", "-w", "-r", str(repo), "-o", str(datafs)])
            expected = _expected_size(repo)
            if expected is not None and datafs.stat().st_size != expected:
                got = datafs.stat().st_size
                for bad in (datafs, var / "Data.fs.index"):  # nobody may start a site on it
                    bad.unlink(missing_ok=True)
                raise MaintenanceError(
                    f"恢复出的 {datafs} 为 {got} 字节，备份记录应为 {expected} 字节："
                    f"备份目录 {repo} 中的文件不完整或顺序有误，已删除恢复结果")
            blobs = copy_blobs(src / BLOBS_DIR, var / BLOBS_DIR) if (src / BLOBS_DIR).is_dir() else {
                "files": 0, "copied": 0, "bytes_copied": 0, "vanished": 0}
            if force or not (var / SECRET).exists():
                _copy_secret(src, var)
            last = _last_transaction(datafs)
    finally:
        fs_lock.close()
        if not had_lock_file:
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()
    result = {"source": str(src), "var": str(var), "datafs": str(datafs), "size": datafs.stat().st_size,
              "last_transaction": last, "blobs": blobs, "seconds": round(time.monotonic() - started, 3)}
    log.info("restored %s into %s (%s blob files copied)", src, var, blobs["copied"])
    return result


def _last_transaction(datafs: Path) -> str | None:
    """When the restored database was last written (its newest transaction), CST."""
    from datetime import UTC, datetime

    from ZODB.FileStorage import FileStorage
    from ZODB.TimeStamp import TimeStamp

    fs = FileStorage(str(datafs), read_only=True)
    try:
        tid = fs.lastTransaction()
    finally:
        fs.close()
    if not tid or tid == b"\0" * 8:
        return None
    return isoformat(datetime.fromtimestamp(TimeStamp(tid).timeTime(), UTC))
