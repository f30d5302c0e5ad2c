"""RelStorage on PostgreSQL: many web processes (on one or several machines) on one database.

The ini names the database with an explicit URI, which overrides
``duban.storage``::

    zodbconn.uri = zconfig:///srv/duban/relstorage.conf#main

``relstorage.conf`` is a ZConfig file as :func:`write_relstorage_conf` writes it
(``#main`` names its ``<zodb main>`` section).  Every process that opens the
site — each ``pserve``, ``duban-archive indexer``, ``duban-archive tick``, and
one-off commands such as ``reindex`` or ``pack`` — reads the same file and is
one more client of PostgreSQL; nobody holds a lock file, so commands run
beside the serving site.

Choices made in the file:

* ``keep-history false``: a history-free database.  Nothing here uses ZODB's
  undo or old object revisions: an item's history (``item.history``) and the
  audit log (``site["audit"]``) are append-only data *inside* the database.
  History-free tables stay the size of the live data, every write is one row
  instead of two, and a pack (``duban-archive pack``) is only the garbage
  collection of unreachable objects — no transaction log to trim, so
  ``--days`` does not matter there.
* ``shared-blob-dir false``: attachment blobs live in PostgreSQL (in chunks,
  as large objects) together with the objects that reference them, so one
  ``pg_dump`` of the database is a complete, consistent backup, and a second
  machine needs no shared file system.  ``blob-dir`` is then only a local
  download cache (at most ``blob-cache-size``); processes on one machine may
  share it (RelStorage locks each cached file while it downloads it).
* ``create-schema true`` (RelStorage's default): opening the storage creates
  missing tables, sequences and procedures and otherwise changes nothing.  Two
  processes opening an *empty* database at the same instant could both try to
  create the tables, so create the schema first — :func:`create_schema`, or
  simply ``duban-archive init INI``, which opens the database once — and only
  then start the web processes.

The ``repozo`` based ``duban-archive backup`` / ``restore`` work on a local
``Data.fs`` only; on RelStorage back up with PostgreSQL's own tools
(``pg_dump -Fc``; blobs included).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from .config import CACHE_SIZE

#: RelStorage's pickle cache shared by the connections of one process (MB)
CACHE_LOCAL_MB = 100
#: the local blob download cache is trimmed back below this size
BLOB_CACHE_SIZE = "2gb"

CONF_NAME = "relstorage.conf"


def conf_text(dsn: str, blob_cache_dir: Path) -> str:
    """The ZConfig text for a history-free RelStorage on PostgreSQL ``dsn`` (a libpq DSN)."""
    if "\n" in dsn or "\r" in dsn:
        raise ValueError("PostgreSQL DSN 不能包含换行 / the DSN must be one line")
    dsn = dsn.strip().replace("$", "$$")  # ZConfig substitutes $name
    return ("# written by duban_archive.storage.relstorage.write_relstorage_conf\n"
            "# zodbconn.uri = zconfig://<this file>#main\n"
            "%import relstorage\n"
            "<zodb main>\n"
            f"  cache-size {CACHE_SIZE}\n"
            "  <relstorage>\n"
            "    # history lives in item.history and the audit log; pack = garbage collection\n"
            "    keep-history false\n"
            "    # blobs are stored in PostgreSQL; blob-dir is only this machine's cache\n"
            "    shared-blob-dir false\n"
            f"    blob-dir {blob_cache_dir}\n"
            f"    blob-cache-size {BLOB_CACHE_SIZE}\n"
            f"    cache-local-mb {CACHE_LOCAL_MB}\n"
            "    create-schema true\n"
            "    <postgresql>\n"
            f"      dsn {dsn}\n"
            "    </postgresql>\n"
            "  </relstorage>\n"
            "</zodb>\n")


def write_relstorage_conf(var: Path, dsn: str, blob_cache_dir: Path | None = None) -> Path:
    """Write ``var/relstorage.conf`` for PostgreSQL ``dsn``; returns its path.

    ``dsn`` is a libpq connection string (``host=… port=… dbname=… user=…``;
    a password is better kept in ``~/.pgpass`` than here).  The blob cache
    defaults to ``var/blobcache``.  Name the file in the ini with
    :func:`relstorage_uri`: ``zodbconn.uri = zconfig://<path>#main``.
    """
    var = Path(var)
    var.mkdir(parents=True, exist_ok=True)
    cache = Path(blob_cache_dir) if blob_cache_dir is not None else var / "blobcache"
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o700)  # ZODB warns about blob directories others may read
    path = var / CONF_NAME
    text = conf_text(dsn, cache.resolve())
    if not path.exists() or path.read_text("utf-8") != text:
        path.write_text(text, "utf-8")
    return path


def relstorage_uri(conf: Path) -> str:
    """``zconfig:///…/relstorage.conf#main`` — the ``zodbconn.uri`` for ``conf``."""
    return f"zconfig://{quote(str(Path(conf).resolve()))}#main"


def open_storage(conf: Path):
    """The RelStorage that ``conf`` describes, opened (creating the schema when it is missing)."""
    import ZConfig
    import ZODB.config

    config, _ = ZConfig.loadConfig(ZODB.config.getDbSchema(), str(conf))
    for database in config.database:
        if database.name == "main":
            return database.config.storage.open()
    raise LookupError(f"{conf} 中没有 <zodb main> 段")


def create_schema(conf: Path) -> None:
    """Create RelStorage's tables in the database ``conf`` names, if they are missing.

    Idempotent: RelStorage's ``prepare`` adds only what is absent.  Run it (or
    ``duban-archive init``) once before starting several processes on an
    empty database.
    """
    open_storage(conf).close()
