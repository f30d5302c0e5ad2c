"""The full-text queue under concurrent writers and the indexer's deletions."""

from __future__ import annotations

import logging

import transaction
from BTrees.OOBTree import OOBTree
from ZODB.POSException import ConflictError

from duban_archive.catalog import indexer as indexer_module
from duban_archive.catalog import queue as queue_module
from duban_archive.catalog.fulltext import get_catalog
from duban_archive.catalog.queue import SENTINEL, FulltextState, get_state
from duban_archive.content_types.site_access import ROOT_KEY


class Conn:
    """A connection of the app's database with its own transaction manager (a request, the indexer)."""

    def __init__(self, app) -> None:
        self.db = app.registry._zodb_databases[""]
        self.tm = transaction.TransactionManager()
        self.conn = self.db.open(transaction_manager=self.tm)
        self.tm.begin()

    @property
    def state(self) -> FulltextState:
        return get_state(self.conn.root()[ROOT_KEY])

    def commit(self) -> bool:
        """True when committed, False on a conflict (aborted); a new transaction begins either way."""
        try:
            self.tm.commit()
            return True
        except ConflictError:
            self.tm.abort()
            return False
        finally:
            self.tm.begin()

    def close(self) -> None:
        self.tm.abort()
        self.conn.close()


def _drain(app) -> None:
    c = Conn(app)
    c.state.take(list(c.state.keys()))
    assert c.commit()
    c.close()


def test_two_writers_enqueue_at_once_without_conflicts(app):
    _drain(app)
    a, b = Conn(app), Conn(app)
    conflicts = 0
    written = []
    try:
        for n in range(120):
            for k, c in enumerate((a, b)):
                c.state.enqueue(f"item-{k}-{n}")
                c.state.enqueue(f"item-{k}-{n}-again")
            for c in (a, b):
                if c.commit():
                    written.append(n)
                else:
                    conflicts += 1
        c = Conn(app)
        entries = list(c.state.items())
        c.close()
    finally:
        a.close()
        b.close()
    # one bucket split in the same shard (1 in 16) can still conflict: a request would retry
    assert conflicts <= 4, conflicts
    assert len(entries) == 120 * 2 * 2 - 2 * conflicts  # a conflicting transaction's two entries are gone
    keys = [k for k, _ in entries]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # one queue, in time order
    assert SENTINEL not in keys


def test_take_while_writers_enqueue_never_conflicts(app):
    """The indexer deletes the entries it applied while requests commit new ones (both orders)."""
    _drain(app)
    writer, indexer = Conn(app), Conn(app)
    try:
        for n in range(100):
            writer.state.enqueue(f"item-{n}")
            writer.state.enqueue(f"item-{n}-b")
            assert writer.commit()
            indexer.tm.abort()
            indexer.tm.begin()  # the indexer's snapshot: these two are queued
            seen = [key for key, _ in indexer.state.items()]
            assert len(seen) == 2, list(indexer.state.items())
            writer.state.enqueue(f"late-{n}")  # meanwhile a request queues more, perhaps in the same shard
            if n % 2:
                assert writer.commit()
                indexer.state.take(seen)
                assert indexer.commit(), f"indexer cleanup conflicted in round {n}"
            else:
                indexer.state.take(seen)
                assert indexer.commit()
                assert writer.commit(), f"request conflicted with the cleanup in round {n}"
            indexer.tm.abort()
            indexer.tm.begin()
            indexer.state.take([k for k, _ in indexer.state.items()])  # the late one
            assert indexer.commit()
        check = Conn(app)
        assert list(check.state.items()) == [] and check.state.pending() == 0
        assert all(list(shard.keys()) == [SENTINEL] for shard in check.state.shards)
        check.close()
    finally:
        writer.close()
        indexer.close()


def test_indexer_cycle_with_a_commit_in_the_middle(app, make_item, monkeypatch, caplog):
    """A real indexer cycle while another transaction queues an item: its cleanup commits."""
    catalog = get_catalog(app.registry)
    catalog.inline = False
    items = [make_item(title=f"防汛物资储备{n}") for n in range(5)]
    other = Conn(app)
    real = indexer_module.build_document
    calls = []

    def build_and_meanwhile_enqueue(item, *args, **kw):
        if not calls:
            other.state.enqueue(items[0])  # a request edits item 0 while the indexer works
            assert other.commit()
        calls.append(item.item_id)
        return real(item, *args, **kw)

    monkeypatch.setattr(indexer_module, "build_document", build_and_meanwhile_enqueue)
    try:
        with caplog.at_level(logging.INFO, logger="duban_archive.catalog.indexer"):
            assert catalog.indexer._cycle(200) == 5
        assert "conflicted" not in caplog.text
        check = Conn(app)
        assert [item_id for _, item_id in check.state.items()] == [items[0]]  # only the late entry
        assert check.state.pending() == 1
        check.close()
    finally:
        other.close()


def test_a_state_pickled_before_the_shards_is_drained_and_grows_shards(app):
    c = Conn(app)
    site = c.conn.root()[ROOT_KEY]
    old = FulltextState()
    legacy = OOBTree({f"{1_700_000_000_000_000_000 + n:020d}-{n:08x}": f"old-{n}" for n in range(3)})
    state = old.__dict__
    queued, saved = state["queued"], state["saved"]
    queued.change(3)
    state.clear()
    state.update(queue=legacy, queued=queued, saved=saved)  # what the old class pickled
    site.add("fulltext2", old)
    assert c.commit()
    c.db.cacheMinimize()
    c.close()

    c = Conn(app)
    st = c.conn.root()[ROOT_KEY]["fulltext2"]
    assert st.shards == () and [i for _, i in st.items()] == ["old-0", "old-1", "old-2"]
    key = st.enqueue("new-0")  # the first enqueue adds the shards
    assert len(st.shards) == queue_module.SHARDS
    assert [i for _, i in st.items()] == ["old-0", "old-1", "old-2", "new-0"] and st.pending() == 4
    st.take([k for k, _ in st.items(limit=2)])
    assert c.commit()
    assert [i for _, i in st.items()] == ["old-2", "new-0"] and st.pending() == 2
    st.take([key])
    assert [i for _, i in st.items()] == ["old-2"] and st.pending() == 1
    c.close()
