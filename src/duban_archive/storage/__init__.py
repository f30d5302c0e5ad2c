"""Where the object database lives and who may open it.

Three layouts, one code path (``zodbconn.uri``):

* **embedded** (tests, single scripts): FileStorage with its *native* blob
  directory, described in ``var/zodb.conf``.  Never zodburi's ``file://…?
  blobstorage_dir=`` wrapper: ``ZODB.blob.BlobStorage.tpc_abort`` removes the
  aborting transaction's blob files *after* the commit lock is released, and
  under concurrency it removed files another transaction had just committed.
  FileStorage's own blob support cleans up under its commit lock.
* **zeo** (``make run``): the web process starts a ZEO server on the Unix
  socket ``var/zeo.sock`` (same FileStorage + native blob dir, see
  :mod:`.zeo`) and connects to it with a shared blob directory.  Any other
  process on the same var dir — ``duban-archive tick / fixity / reindex /
  import-ledger / pack / backup``, a second ``pserve`` — finds the live socket
  and connects as another client, so admin work runs beside the site.
* **relstorage** (several machines or many web processes): an explicit
  ``zodbconn.uri = zconfig:///…/relstorage.conf`` naming PostgreSQL; see
  HACKING.md "Storage".

:func:`.config.database_uri` picks the layout when the ini names no URI.
"""
