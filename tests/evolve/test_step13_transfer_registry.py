"""Evolve step 13: a 档案室 made before 移交 existed gets its (empty) transfer registry, once."""

from __future__ import annotations

import transaction

from duban_archive.archive.model import archive_root
from duban_archive.archive.transfer import TransferRegistry, candidates, registry_of
from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import transfer_registry


def test_step13_gives_an_old_archive_its_transfer_registry(app):
    with open_site(app.registry) as site:
        assert [name for _, name, _ in pending(site)] == []  # a new site is born at the latest generation
        root = archive_root(site)
        assert getattr(root, "transfers", None) is None  # ArchiveRecords know nothing of transfers
        assert registry_of(site) is None and candidates(site) == []  # readable without it
        assert transfer_registry(site, app.registry) == "建立移交登记簿"
        assert isinstance(root.transfers, TransferRegistry) and len(root.transfers.by_item) == 0
        assert transfer_registry(site, app.registry) == "移交登记簿已存在"
        transaction.commit()
    with open_site(app.registry) as site:
        assert registry_of(site) is site["archive"].transfers


def test_step13_leaves_a_site_without_archive_alone():
    class NoArchive:
        def get(self, name):
            return None

    assert transfer_registry(NoArchive(), None).startswith("尚无档案室")  # made on first use then
