"""Catalogs: the ZODB listing index (``listing.py``) and the whoosh full-text catalog.

The listing index changes inside the transaction (it is ZODB); full-text
index actions are queued in the transaction and applied after commit.
"""

from __future__ import annotations


def includeme(config) -> None:
    from ..events import ObjectAdded, ObjectModified, StateChanged
    from .subscribers import listing_on_change

    for event in (ObjectAdded, ObjectModified, StateChanged):
        config.add_subscriber(listing_on_change, event)

    from .fulltext import setup as setup_fulltext  # whoosh full-text catalog (fulltext.py)

    setup_fulltext(config)
