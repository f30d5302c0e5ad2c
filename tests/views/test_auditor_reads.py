"""Every look an auditor (审计员) takes through the HTML UI is audit-logged (issue 12).

Each read path is requested as the demo ``auditor``; afterwards the audit trail has one new
entry naming the item (``target``, or ``items`` for a listing) and the ``via``.  Other roles'
looks are not logged.
"""

from __future__ import annotations

import transaction

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

from .conftest import item_url, png_bytes


def reads(app, actor: str = "auditor") -> list[dict]:
    """The ``view`` entries of ``actor``, oldest first."""
    with open_site(app.registry) as site:
        return [e for e in site["audit"] if e["action"] == "view" and e["actor"] == actor]


def one_new_read(app, before: int, via: str) -> dict:
    new = reads(app)[before:]
    assert [e["via"] for e in new] == [via], new
    return new[0]


def test_item_page_listings_and_search_are_logged(app, testapp, make_item):
    item_id = make_item(title="审计抽查：专项资金拨付", lead_unit="zfb")
    login(testapp, "auditor")

    n = len(reads(app))
    testapp.get(item_url(item_id))
    assert one_new_read(app, n, "ui")["target"] == item_id

    n = len(reads(app))
    assert "审计抽查" in testapp.get("/boards/zdgz").text
    entry = one_new_read(app, n, "board")
    assert entry["target"] == "" and entry["items"] == (item_id,) and entry["count"] == 1
    assert entry["board"] == "zdgz" and entry["page"] == 1

    n = len(reads(app))
    assert "审计抽查" in testapp.get("/").text  # 本单位事项: the auditor's unit leads it
    assert one_new_read(app, n, "home")["items"] == (item_id,)

    n = len(reads(app))
    page = testapp.get("/search", params={"q": "专项资金"})
    assert "审计抽查" in page.text
    entry = one_new_read(app, n, "search_results")
    assert entry["items"] == (item_id,) and entry["q"] == "专项资金"

    n = len(reads(app))
    res = testapp.get("/search.xlsx", params={"q": "专项资金"})
    assert res.content_type.endswith("spreadsheetml.sheet")
    assert one_new_read(app, n, "search_export")["items"] == (item_id,)

    n = len(reads(app))  # opening a result: the existing via="search" entry, then the page's own
    testapp.get(page.html.select_one("#results a")["href"]).follow()
    assert [(e["via"], e["target"]) for e in reads(app)[n:]] == [("search", item_id), ("ui", item_id)]


def test_worklist_page_is_logged(app, testapp, make_item):
    item_id = make_item(title="待审签事项")
    with open_site(app.registry) as site:  # an auditor who also signs off (待审签 is a leader's bucket)
        site["users"]["auditor"].roles = ("auditor", "leader")
        transaction.commit()
    login(testapp, "auditor")
    n = len(reads(app))
    assert "待审签事项" in testapp.get("/worklist").text
    assert one_new_read(app, n, "worklist")["items"] == (item_id,)


def test_thumbnail_and_download_name_the_item(app, testapp, in_progress_item):
    att = api(testapp, "handler").upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                                         [("file", "现场.png", png_bytes())]).json["id"]
    login(testapp, "auditor")
    base = f"{item_url(in_progress_item)}/attachments/{att}"

    n = len(reads(app))
    assert testapp.get(base + "/@@thumbnail").content_type == "image/jpeg"
    entry = one_new_read(app, n, "thumbnail")
    assert entry["target"] == in_progress_item and entry["attachment"] == att

    testapp.get(base + "/@@download")  # downloads are logged for everyone, with via
    with open_site(app.registry) as site:
        last = list(site["audit"].for_target(in_progress_item))[-1]
    assert (last["action"], last["actor"], last["attachment"], last["via"]) == ("download", "auditor", att, "ui")


def test_archive_room_is_closed_to_auditors_and_empty_listings_write_nothing(app, testapp, make_item):
    login(testapp, "auditor")
    testapp.get("/archive/", status=403)
    with open_site(app.registry) as site:
        last_txn = site._p_jar.db().lastTransaction()
    assert "共 0 件" in testapp.get("/boards/zdgz").text  # nothing shown, nothing to log
    testapp.get("/worklist")
    with open_site(app.registry) as site:
        assert site._p_jar.db().lastTransaction() == last_txn


def test_other_roles_reads_are_not_logged(app, testapp, in_progress_item):
    att = api(testapp, "handler").upload(f"/api/v1/items/{in_progress_item}/attachments", {"kind": "photo"},
                                         [("file", "现场.png", png_bytes())]).json["id"]
    with open_site(app.registry) as site:
        before = len(site["audit"])
    for user in ("supervisor", "leader", "records_officer"):
        testapp.reset()
        login(testapp, user)
        testapp.get(item_url(in_progress_item))
        testapp.get("/boards/zdgz")
        testapp.get("/")
        testapp.get("/worklist")
        testapp.get("/search", params={"q": "道路整治"})
        testapp.get(f"{item_url(in_progress_item)}/attachments/{att}/@@thumbnail")
    with open_site(app.registry) as site:
        added = [e for e in site["audit"]][before:]
    assert all(e["action"] == "login" for e in added), added
