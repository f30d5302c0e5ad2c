"""事项编号 stay unique when two requests create items at the same moment."""

import threading

import transaction
from ZODB.POSException import ConflictError

from duban_archive.content_types.actions import create_item
from duban_archive.content_types.site_access import open_site
from duban_archive.timeutil import today

FIELDS = {"title": "同时立项", "source": "会议", "content": "内容", "requirement": "要求", "lead_unit": "zjj"}


def test_concurrent_creation_never_shares_a_number(app):
    numbers: list[str] = []
    conflicts: list[int] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        tm = transaction.TransactionManager()
        for attempt in range(5):  # what pyramid_retry does for a request
            with open_site(app.registry, tm=tm) as site:
                item = create_item(site, site.boards["zdgz"], dict(FIELDS), "supervisor", app.registry)
                if attempt == 0:
                    barrier.wait(timeout=30)  # both drew a number before either commits
                try:
                    number = item.number
                    tm.commit()
                    numbers.append(number)
                    return
                except ConflictError:
                    conflicts.append(attempt)
                    tm.abort()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    year = today().year
    assert sorted(numbers) == [f"ZDGZ-{year}-0001", f"ZDGZ-{year}-0002"]
    assert conflicts, "the second commit must have conflicted on the counter"
    with open_site(app.registry) as site:
        assert sorted(i.number for i in site.boards["zdgz"].values()) == sorted(numbers)
        assert len(site.boards["zdgz"]) == 2
