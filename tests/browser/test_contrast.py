"""Contrast (issue 15, WCAG 2.1 AA 1.4.3): text in the navbar, buttons, links, muted text and
badges/lights is at least 4.5:1 against what is really behind it.

The ratio is computed in the page from computed styles: the text colour (with its alpha) over the
effective background, found by blending the background colours of the element and its ancestors
(Bootstrap paints the navbar, buttons and badges with semi-transparent and variable colours).
"""

from __future__ import annotations

import pytest

from .conftest import DESKTOP, PHONE, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium()]

SELECTORS = ", ".join([
    ".navbar a", ".navbar .navbar-text", ".navbar small", ".navbar button",  # navbar
    ".btn",  # buttons
    "main a:not(.btn)", ".breadcrumb-item", ".nav-tabs .nav-link", ".page-link",  # links
    ".text-muted", ".text-body-secondary", ".form-text", "label",  # muted text, labels
    ".badge",  # badges and the deadline lights (亮灯)
])

RATIOS = """(selector) => {
  const parse = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    return [0, 1, 2].map(i => (top[i] * top[3] + bottom[i] * bottom[3] * (1 - top[3])) / a).concat([a]); };
  const background = (el) => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg; };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const hasText = (el) => Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.offsetParent === null && getComputedStyle(el).position !== 'fixed') continue;
    if (!hasText(el) || el.closest('.disabled, [disabled], [aria-disabled=true]')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) < 0.1) continue;
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.push([el.tagName.toLowerCase() + '.' + String(el.className).split(' ').join('.'),
              el.textContent.trim().slice(0, 16), Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100]);
  }
  return out;
}"""


def _low(watched, path: str) -> tuple[int, list[str]]:
    watched.goto(path)
    rows = watched.page.evaluate(RATIOS, SELECTORS)
    return len(rows), [f"{path}: {sel} {text!r} {ratio}:1" for sel, text, ratio in rows if ratio < 4.5]


def test_text_contrast_is_at_least_4_5_to_1_on_the_main_pages(open_page, demo_server):
    checked, low = 0, []
    pages = {
        "supervisor": ["/", "/boards/zdgz", "/worklist", demo_server.item(state="assigned")["url"],
                       "/search?q=%E6%94%B9%E9%80%A0", "/dashboard", "/reports"],
        "records_officer": ["/archive"],
        "admin": ["/@@users"],
    }
    for user, paths in pages.items():
        watched = open_page(DESKTOP, user)
        for path in paths:
            n, bad = _low(watched, path)
            checked += n
            low += bad
    assert checked > 200  # the selectors did find the navbar, buttons, links, badges
    assert not low, "\n".join(low)


def test_the_opened_phone_menu_and_the_login_page_have_readable_text(open_page):
    anonymous = open_page(PHONE)
    n, low = _low(anonymous, "/login")
    assert n > 3
    watched = open_page(PHONE, "handler")
    watched.goto("/worklist")
    watched.page.click(".navbar-toggler")
    watched.page.locator("#main-nav a.nav-link[href='/worklist']").wait_for(state="visible")
    rows = watched.page.evaluate(RATIOS, ".navbar a, .navbar .navbar-text, .navbar small, .navbar button")
    low += [f"phone nav: {sel} {text!r} {ratio}:1" for sel, text, ratio in rows if ratio < 4.5]
    assert len(rows) >= 5
    assert not low, "\n".join(low)
