"""The ZConfig section of our FileStorage, shared by the embedded and the ZEO layouts."""

from __future__ import annotations

from pathlib import Path


def filestorage_section(var: Path, indent: str = "  ") -> str:
    """FileStorage with its native blob directory (never the BlobStorage wrapper).

    ``pack-keep-old false``: a pack leaves no full ``Data.fs.old`` / ``blobs.old``
    beside the data; ``duban-archive backup`` is where old states are kept.
    """
    return (f"{indent}<filestorage>\n"
            f"{indent}  path {var / 'Data.fs'}\n"
            f"{indent}  blob-dir {var / 'blobs'}\n"
            f"{indent}  pack-keep-old false\n"
            f"{indent}</filestorage>\n")
