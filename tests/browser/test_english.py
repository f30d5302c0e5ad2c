"""English where chosen (issue 15): after choosing English in the nav bar, the chrome of the main
pages — nav, headings, buttons, labels, table headings, tabs — has no Chinese left.

Data stays as entered (item titles, unit and user names, the demo's field values); the test
blanks those elements before it looks.
"""

from __future__ import annotations

import re

import pytest

from ..views.test_english_domain_text import _filed_after_the_whole_conversation
from .conftest import DESKTOP, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium()]

HAN = re.compile(r"[\u4e00-\u9fff]+")

#: the UI's own words
CHROME = ("nav.navbar a, nav.navbar button, h1, h2, h3, h4, h5, h6, main button, main .btn, main label, "
          "main th, .card-header, .nav-tabs .nav-link, .breadcrumb-item, .dropdown-item, legend, main option")
#: data shown inside those elements: titles, names, numbers as entered (attachment titles too)
DATA = ("#item-title, #current-user, [lang=zh-CN], td.card-title-cell, .breadcrumb-item.active, "
        ".dropdown-menu .dropdown-item, #unit-items h2, .card-header .small, .attachment .card-title, "
        "select[name*=unit] option, select[name=board] option, select[name=leader] option, "
        "select[name=parent] option, "
        # the 加扣分 kinds are the wording of the site's scoring rule file (yunhe, suzhou …), as configured
        "#adjust-form #kind option, "
        "h1 small")
#: not translated yet, left out knowingly: the scoring period's title comes from scoring/periods
KNOWN_GAPS = "#period-title"

TEXTS = """([chrome, data]) => {
  for (const el of document.querySelectorAll(data)) el.setAttribute('data-skip', '');
  return Array.from(document.querySelectorAll(chrome))
    .filter(e => !e.closest('[data-skip]') && (e.offsetParent !== null || e.tagName === 'OPTION'
                 || e.closest('.tab-pane, .collapse')))
    .map(e => { const c = e.cloneNode(true); c.querySelectorAll('[data-skip]').forEach(x => x.remove());
                return [e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''),
                        c.textContent.replace(/\\s+/g, ' ').trim()]; })
}"""


def _chinese_left(watched, path: str, data: tuple[str, ...] = ()) -> tuple[int, list[str]]:
    watched.goto(path)
    assert watched.page.locator("html").get_attribute("lang") == "en"
    rows = watched.page.evaluate(TEXTS, [CHROME, ", ".join((DATA, KNOWN_GAPS, *data))])
    return len(rows), [f"{path}: <{tag}> {text!r}" for tag, text in rows if HAN.search(text)]


def test_with_english_chosen_the_main_pages_have_no_chinese_chrome(open_page, demo_server):
    handled = demo_server.item(state="in_progress", lead="zjj")["url"]
    pages = {
        "supervisor": ["/", "/boards/zdgz", "/worklist", demo_server.item(state="assigned")["url"],
                       "/boards/zdgz/@@add", "/search", "/search?q=%E6%94%B9%E9%80%A0", "/dashboard", "/reports",
                       "/scores", "/scores/explain?unit=zjj", "/inbox", "/boards/zdgz/@@import"],
        "handler": [handled, handled + "/@@feedback", handled + "/@@upload", "/@@password"],
        "records_officer": ["/archive", demo_server.item(archived=True)["url"]],
        "admin": ["/@@users", "/@@user-edit?username=handler", "/@@units", "/admin/calendar", "/admin/workflows"],
        "secadmin": ["/@@user-roles?username=handler", "/@@security-settings"],
        "secauditor": ["/@@audit-log"],
    }
    checked, left = 0, []
    for user, paths in pages.items():
        watched = open_page(DESKTOP, user)
        watched.page.click("#main-nav a[lang=en]")  # the nav bar's language switch
        watched.page.wait_for_load_state()
        assert watched.page.locator("html").get_attribute("lang") == "en"
        for path in paths:
            n, bad = _chinese_left(watched, path)
            checked += n
            left += bad
        assert not watched.problems, watched.problems
    assert checked > 300
    assert not left, f"{len(left)} untranslated:\n" + "\n".join(left)


def test_the_login_page_in_english(open_page):
    watched = open_page(DESKTOP, locale="en-US")
    watched.goto("/@@lang?to=en&came_from=%2Flogin")
    n, left = _chinese_left(watched, "/login")
    assert n >= 3
    assert not left, left


#: what the domain writes on the item page: the 四性检测 panel, the timeline, the audit trail (every cell)
DOMAIN_TEXT = "#checks-panel, #history, #audit"
#: data in them: people's and units' names (``.data``), the item's title
DOMAIN_DATA = ".data, #item-title"

WHOLE_TEXT = """([parts, data]) => {
  const out = [];
  for (const root of document.querySelectorAll(parts)) {
    const c = root.cloneNode(true);
    c.querySelectorAll(data).forEach(x => x.remove());
    for (const row of c.querySelectorAll('tr, li, p, dt, dd'))
      out.push([root.id, row.textContent.replace(/\\s+/g, ' ').trim()]);
  }
  return out;
}"""


def test_an_item_after_the_whole_conversation_reads_in_english(open_page, server, testapp, make_item):
    """交办, 退单, 反馈, 退回, 办结, 归档 — then the item page's 四性检测 panel, timeline and audit trail,
    seen by the 业务审计员 in English, hold no Chinese but the names of people and units."""
    item_id = _filed_after_the_whole_conversation(testapp, make_item)
    watched = open_page(DESKTOP, "auditor", base=server)
    watched.goto("/@@lang?to=en&came_from=%2F")
    watched.goto(f"/boards/zdgz/{item_id}")
    assert watched.page.locator("html").get_attribute("lang") == "en"
    watched.page.click(".nav-tabs button[data-bs-target='#tab-history']")
    rows = watched.page.evaluate(WHOLE_TEXT, [DOMAIN_TEXT, DOMAIN_DATA])
    seen = {part for part, _ in rows}
    assert seen == {"checks-panel", "history", "audit"}, seen
    text = "\n".join(t for _, t in rows)
    for words in ("Decline", "Reason for declining", "Not our unit's duty", "Return", "Photos are blurred",
                  "Request closure", "Close", "Filing", "Filed, archival code", "Feedback submitted",
                  "Partly not checked", "Virus scan", "Original matches its digest at capture: roof.png"):
        assert words in text, words
    left = [f"#{part}: {t}" for part, t in rows if HAN.search(t)]
    assert not left, f"{len(left)} untranslated:\n" + "\n".join(left)
    assert not watched.problems, watched.problems
