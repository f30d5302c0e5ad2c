"""The ZEO server that ``make run`` starts beside the web process.

It serves ``var/Data.fs`` with its native blob directory on the Unix socket
``var/zeo.sock`` (a socket file, so nothing listens on the network and only
this user may connect).  The server is a child of the web process and is told
by the kernel to stop when its parent dies (``PR_SET_PDEATHSIG``), so a
killed ``pserve`` never leaves a server holding the database lock.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .filestorage import filestorage_section

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0


def socket_path(var: Path) -> Path:
    return var / "zeo.sock"


def server_alive(var: Path) -> bool:
    """True when a ZEO server answers on ``var/zeo.sock``."""
    path = socket_path(var)
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def write_server_conf(var: Path) -> Path:
    path = var / "zeo.conf"
    path.write_text("# written by duban_archive.storage.zeo when the site starts\n"
                    f"<zeo>\n  address {socket_path(var)}\n</zeo>\n"
                    f"{filestorage_section(var, indent='').replace('<filestorage>', '<filestorage 1>', 1)}"
                    f"<eventlog>\n  <logfile>\n    path {var / 'log' / 'zeo.log'}\n"
                    "    format %(asctime)s %(levelname)s %(message)s\n  </logfile>\n</eventlog>\n",
                    "utf-8")
    return path


class StorageBusy(RuntimeError):
    """Data.fs is held by another process that is not a ZEO server we can join."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_server(var: Path) -> subprocess.Popen:
    """Start ``runzeo`` on ``var`` and wait until it answers."""
    conf = write_server_conf(var)
    sock = socket_path(var)
    if sock.exists():
        sock.unlink()  # left by a server that was killed: nothing answers on it
    log.info("starting ZEO on %s", sock)
    proc = subprocess.Popen([sys.executable, "-m", "ZEO.runzeo", "-C", str(conf)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    deadline = time.monotonic() + START_TIMEOUT
    while not server_alive(var):
        if proc.poll() is not None:
            raise StorageBusy(
                f"无法启动数据库服务（ZEO）：{var / 'Data.fs'} 可能正被另一个进程使用；"
                f"详见 {var / 'log' / 'zeo.log'} / could not start ZEO, see that log")
        if time.monotonic() > deadline:
            proc.kill()
            raise StorageBusy(f"数据库服务（ZEO）{START_TIMEOUT:.0f} 秒内未就绪，详见 {var / 'log' / 'zeo.log'}")
        time.sleep(0.05)
    atexit.register(stop_server, proc)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
