"""Board listing (sort, page, filter), the home page worklist, pluggable panels and nav."""

from __future__ import annotations

import re
from datetime import date

from duban_archive.testing import login


def numbers(page) -> list[str]:
    return re.findall(r'<td class="text-nowrap"><a href="[^"]+">([A-Z]+-\d{4}-\d{4})</a></td>', page.text)


def test_sort_page_and_filter(testapp, make_item, monkeypatch):
    monkeypatch.setattr("duban_archive.views.board.PAGE_SIZE", 2)
    a = make_item(title="甲", deadline=date(2026, 3, 1), lead_unit="zjj")
    b = make_item(title="乙", deadline=date(2026, 1, 1), lead_unit="jtj", assist_units=set())
    c = make_item(title="丙", deadline=date(2026, 2, 1), lead_unit="cgj", assist_units=set())
    login(testapp, "supervisor")
    first = testapp.get("/boards/zdgz")
    assert "共 3 件" in first.text and "第 1 / 2 页" in first.text
    assert numbers(first) == [a.upper(), b.upper()]
    second = testapp.get(re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&"))
    assert numbers(second) == [c.upper()]
    by_deadline = testapp.get("/boards/zdgz?sort=deadline&order=desc")
    assert numbers(by_deadline) == [a.upper(), c.upper()]
    only_jtj = testapp.get("/boards/zdgz?unit=jtj")
    assert numbers(only_jtj) == [a.upper(), b.upper()]  # 甲 has 交通局 as assisting unit
    assert "共 2 件" in only_jtj.text
    none = testapp.get("/boards/zdgz?state=closed")
    assert "没有符合条件的事项" in none.text
    testapp.get("/boards/zdgz?sort=evil&page=-3&unit=nope")  # bad parameters fall back, no error


def test_home_shows_worklist_and_unit_items(testapp, make_item):
    item_id = make_item(title="待审签的事项")
    page = login(testapp, "leader")
    worklist = page.text.split('id="worklist"', 1)[1].split("</section>", 1)[0]
    assert "待审签的事项" in worklist and item_id.upper() in worklist
    testapp.reset()
    page = login(testapp, "handler")
    assert "待审签的事项" not in page.text  # not visible to the unit before assignment


def test_registered_item_panels_render_with_permission(testapp, make_item, configure):
    from html import escape

    def includeme(config):
        config.add_item_panel("test-panel", "测试栏目", lambda request, item: f"<p id='tp'>{escape(item.title)}</p>",
                              permission="edit", order=30)
        config.add_item_panel("test-broken", "坏栏目", lambda request, item: 1 / 0, order=40)

    configure(includeme)
    item_id = make_item(title="带栏目的事项")
    login(testapp, "supervisor")
    page = testapp.get(f"/boards/zdgz/{item_id}")
    assert "测试栏目" in page.text and "<p id='tp'>带栏目的事项</p>" in page.text
    assert "此栏目暂时无法显示" in page.text  # a broken panel does not take the page down
    testapp.reset()
    login(testapp, "leader")  # may view, may not edit: no panel
    assert "测试栏目" not in testapp.get(f"/boards/zdgz/{item_id}").text
