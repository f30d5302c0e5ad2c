"""Phones (issue 15): every page is usable at 390 and 360 px, as the role that uses it.

A 承办人 opens the link from 政务微信/钉钉 on a phone: the page must not scroll sideways, item
titles must read as lines (not one character per line, as CJK text does in a squeezed table
column), the menu must open from its button, and buttons must be big enough to tap.
"""

from __future__ import annotations

import pytest

from .conftest import DESKTOP, PHONE, SMALL_PHONE, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium()]

#: scrollWidth beyond the viewport, with the widest culprits outside any scrolling box (for the message)
OVERFLOW = """() => {
  const W = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= W + 1) continue;
    let p = el.parentElement, boxed = false;
    while (p) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { boxed = true; break; }
      p = p.parentElement;
    }
    if (!boxed) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.'
                         + String(el.className).split(' ').join('.') + ' → ' + Math.round(r.right) + 'px');
  }
  return {scroll: document.documentElement.scrollWidth, width: W, culprits: out.slice(0, 5)};
}"""

#: the rendered titles (the item page's heading, the item cards of lists): text, box width, lines
TITLES = """() => Array.from(document.querySelectorAll('#item-title, td.card-title-cell'))
  .filter(e => e.offsetParent !== null).slice(0, 20).map(e => {
    const range = document.createRange(); range.selectNodeContents(e);
    const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
    return [e.textContent.trim(), e.getBoundingClientRect().width, tops.size];
  })"""


def _pages(demo) -> dict[str, list[str]]:
    """Each page as the role that works on it."""
    open_item = demo.item(state="assigned")
    archived = demo.item(archived=True)
    handled = demo.item(state="in_progress", lead="zjj")
    return {
        "": ["/login"],
        "supervisor": ["/", "/boards/zdgz", "/boards/hotline", "/worklist", open_item["url"],
                       "/boards/zdgz/@@add", "/search", "/search?q=%E6%94%B9%E9%80%A0", "/dashboard", "/reports",
                       "/scores", "/inbox", "/@@password", "/boards/zdgz/@@import"],
        "handler": ["/", "/worklist", handled["url"], handled["url"] + "/@@feedback", handled["url"] + "/@@upload",
                    "/inbox"],
        "unit_head": ["/worklist", demo.item(state="assigned", lead="zjj")["url"]],
        "leader": ["/worklist", demo.item(state="registered")["url"]],
        "records_officer": ["/archive", archived["url"], archived["url"] + "#tab-archive", "/archive/@@register"],
        "auditor": ["/search?q=%E6%95%B4%E6%B2%BB"],
        "admin": ["/@@users", "/@@user-edit?username=handler", "/@@units", "/admin/workflows", "/admin/calendar"],
        "secadmin": ["/@@users", "/@@user-roles?username=handler", "/@@security-settings"],
        "secauditor": ["/@@audit-log"],
        "approver": ["/archive/@@disposals"],
    }


@pytest.mark.parametrize("viewport", [PHONE, SMALL_PHONE], ids=["390", "360"])
def test_every_page_fits_the_phone_and_titles_read_as_lines(open_page, demo_server, viewport):
    problems = []
    checked = 0
    for user, paths in _pages(demo_server).items():
        watched = open_page(viewport, user or None)
        for path in paths:
            watched.goto(path)
            box = watched.page.evaluate(OVERFLOW)
            if box["scroll"] > box["width"]:
                problems.append(f"{user or 'anonymous'} {path}: page {box['scroll']}px wide at {box['width']}px "
                                f"{box['culprits']}")
            for title, width, lines in watched.page.evaluate(TITLES):
                checked += 1
                # a short title may sit on one line beside its badges; a wrapping one gets the width
                if lines > 1 and (width < 0.5 * viewport["width"] or len(title) / lines < 8):
                    problems.append(f"{user} {path}: title {title!r} in {lines} lines of {width:.0f}px")
        problems += [f"{user} {p}" for p in watched.problems]
        watched.close()
    assert checked > 10  # lists and item pages did show titles
    assert not problems, "\n".join(problems)


def _nav_link(page, path):
    return page.locator(f"#main-nav a.nav-link[href='{path}']")


def test_the_menu_button_opens_the_nav_on_a_phone_and_is_absent_on_a_desktop(open_page):
    phone = open_page(PHONE, "handler")
    phone.goto("/")
    toggler = phone.page.locator(".navbar-toggler")
    assert toggler.is_visible()
    assert not _nav_link(phone.page, "/worklist").is_visible()  # collapsed: the page starts with content
    toggler.click()
    _nav_link(phone.page, "/worklist").wait_for(state="visible")
    assert toggler.get_attribute("aria-expanded") == "true"
    _nav_link(phone.page, "/worklist").click()
    phone.page.wait_for_url("**/worklist")
    assert phone.page.locator("h1").inner_text() == "我的待办"
    assert not phone.problems, phone.problems

    desktop = open_page(DESKTOP, "handler")
    desktop.goto("/")
    assert not desktop.page.locator(".navbar-toggler").is_visible()
    assert _nav_link(desktop.page, "/worklist").is_visible()
    # the desktop nav is one bar: links, user and 退出 on a single row
    assert desktop.page.locator("nav.navbar").bounding_box()["height"] < 80


def test_buttons_and_form_fields_are_big_enough_to_tap(open_page, demo_server):
    watched = open_page(PHONE, "supervisor")
    small = []
    for path in ["/boards/zdgz", "/boards/zdgz/@@add", demo_server.item(state="assigned")["url"], "/search"]:
        watched.goto(path)
        small += [f"{path}: {text!r} {h:.0f}px" for text, h in watched.page.evaluate(
            """() => Array.from(document.querySelectorAll(
                     'main .btn, main .form-control:not(textarea), main .form-select'))
                 .filter(e => e.offsetParent !== null)
                 .map(e => [(e.textContent || e.name || '').trim().slice(0, 20), e.getBoundingClientRect().height])
                 .filter(([, h]) => h < 43.5)""")]
    assert not small, small
