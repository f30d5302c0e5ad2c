"""An exclusive ``flock`` on a lock file, waited for up to a deadline.

``flock`` locks belong to the open file, so a holder that exits or dies
releases them; never nest one lock in one process (the inner call would wait
for the outer one).  Used by the full-text index's single writer
(``catalog/store.py``) and by the maintenance tasks (``storage/maintenance.py``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def exclusive(path: Path, timeout: float | None, busy: Callable[[], Exception],
              poll: float = 0.02) -> Iterator[int]:
    """Hold ``path`` locked; raise ``busy()`` after ``timeout`` seconds (None: wait for ever, 0: never).

    Yields the lock file's descriptor (a holder may note itself in the file).
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(poll)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
