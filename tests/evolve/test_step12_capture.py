"""Evolve step 12: old uploads get their capture-time checks; replaced package versions read 被替代."""

from __future__ import annotations

import transaction

from duban_archive.archive.capture import pending_ids, queue_of, run_pending
from duban_archive.archive.filing import correct_metadata, file_item
from duban_archive.content_types.site_access import open_site
from duban_archive.evolve import pending
from duban_archive.evolve.steps import capture_checks_and_superseded_versions
from tests.archive.conftest import OFFICER, closed_item  # noqa: F401 - the fixture


def test_step12_queues_unchecked_uploads_and_marks_replaced_versions(app, closed_item):  # noqa: F811
    item_id = closed_item(photos=1, signed=1)
    with open_site(app.registry) as site:
        assert [name for _, name, _ in pending(site)] == []  # a new site is born at generation 12
        item = site.get_item(item_id)
        file_item(site, item, app.registry, retention="D30", actor="records_officer", principals=OFFICER)
        correct_metadata(site, item, app.registry, {"title": "更正后的题名"}, reason="错字", actor="records_officer")
        # as a site from before issue 13 left it: nothing queued, v1 not marked
        q = queue_of(site)
        for key in list(pending_ids(site, 1000)):
            del q[key]
        site["archive"][item_id].versions[0].superseded_by = None
        site.generation = 7
        transaction.commit()
    with open_site(app.registry) as site:
        assert "capture_checks_and_superseded_versions" in [n for _, n, _ in pending(site)]
        said = capture_checks_and_superseded_versions(site, app.registry)
        assert said.startswith("2 个附件排入采集检测队列；1 个归档包版本标为被替代")
        assert site["archive"][item_id].versions[0].superseded_by == 2
        assert capture_checks_and_superseded_versions(site, app.registry).startswith("0 个")  # idempotent
        transaction.commit()
    assert run_pending(app.registry) == 2
    with open_site(app.registry) as site:
        checked = [a.original_checks for a in site.get_item(item_id).attachments.values()]
        assert all(c and c["usability"][0]["passed"] is True for c in checked)
