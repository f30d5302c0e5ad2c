"""Where the full-text index lives, and the single-writer lock (engine-independent).

``<var>/index/CURRENT`` names the active generation directory
(``<var>/index/g<ns>-v<format>``; the engine writes its files there, and names its
format: a generation of another format is rebuilt, never read).  A rebuild writes a new generation beside the live
one and switches with an atomic ``os.replace`` of CURRENT, so a crash during a
rebuild leaves the old index in service and a reader never sees a half-built
one.  ``<var>/index/applier.lock`` (``flock``) makes one writer at a time per
machine — threads and processes alike; the kernel drops it when the holder
dies, even by ``kill -9``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..filelock import exclusive


class LockTimeout(Exception):
    pass


class IndexStore:
    """The index directory of one data directory (one per process, shared by threads).

    ``version`` is the engine's index format: generations of another one are out of date.
    """

    def __init__(self, root: str | Path, version: int | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.version = str(version)

    # -- generations -----------------------------------------------------
    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    def current_name(self) -> str | None:
        try:
            name = self.current_file.read_text().strip()
        except FileNotFoundError:
            return None
        return name if name and (self.root / name).is_dir() else None

    def exists(self) -> bool:
        return self.current_name() is not None

    def new_generation(self) -> Path:
        """An empty directory for a new generation (the engine writes it, :meth:`activate` switches)."""
        path = self.root / f"g{time.time_ns()}-v{self.version}"
        path.mkdir()
        return path

    def activate(self, path: Path) -> None:
        tmp = self.root / "CURRENT.tmp"
        tmp.write_text(path.name)
        os.replace(tmp, self.current_file)
        for old in self.root.iterdir():
            if old.is_dir() and old.name.startswith("g") and old.name != path.name:
                shutil.rmtree(old, ignore_errors=True)

    def up_to_date_schema(self) -> bool:
        name = self.current_name()
        return name is not None and name.endswith(f"-v{self.version}")

    # -- writing ---------------------------------------------------------
    @contextlib.contextmanager
    def writer_lock(self, timeout: float | None = 60.0) -> Iterator[None]:
        """Hold the single-writer lock (``timeout=0``: fail at once when busy)."""
        with exclusive(self.root / "applier.lock", timeout, lambda: LockTimeout("全文索引正被另一进程写入")):
            yield


_stores: dict[str, IndexStore] = {}
_stores_lock = threading.Lock()


def get_store(var_dir: str | Path, version: int | str) -> IndexStore:
    root = str(Path(var_dir) / "index")
    with _stores_lock:
        store = _stores.get(root)
        if store is None or store.version != str(version):
            store = _stores[root] = IndexStore(root, version)
        return store
