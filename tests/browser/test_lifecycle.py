"""One 督办事项 from 立项 to the 档案室, each step clicked by the role that must do it (issue 15).

立项 (督查室) → 审签 (领导) → 交办 (督查室) → 退单 with a reason (承办单位负责人) → 交办 again →
签收 → 反馈 with a photo and a signed PDF (承办人) → 申请办结 → 退回 with a reason (督查室) →
申请办结 again → 核查通过 → 办结 (领导) → 立卷归档 (档案员) → the auditor's search finds it.

The walk runs at a desktop width and at a phone width; every page on the way must answer without
a 500, log no JavaScript error, and fit the screen.
"""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from ..archive.signing import signed_pdf
from .conftest import DESKTOP, PHONE, skip_without_chromium

pytestmark = [pytest.mark.browser, skip_without_chromium()]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def signed_report() -> bytes:
    """A PDF signed with pyHanko, made in a thread: pyHanko runs its own asyncio loop, and
    Playwright's sync API keeps one running in this thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(signed_pdf, "DUBAN REPORT").result()


def photo_jpeg() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (235, 235, 230))
    ImageDraw.Draw(img).rectangle((80, 120, 560, 400), fill=(30, 110, 60))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


class Walk:
    """The pages of one walk: one browser context per role, every page checked on the way."""

    def __init__(self, open_page, viewport) -> None:
        self.open_page = open_page
        self.viewport = viewport
        self.pages: dict = {}
        self.url = ""
        self.seen: list[str] = []

    def as_(self, user: str):
        if user not in self.pages:
            self.pages[user] = self.open_page(self.viewport, user)
        return self.pages[user]

    def check(self, watched) -> None:
        watched.page.wait_for_load_state()
        self.seen.append(watched.page.url)
        assert watched.page.evaluate(FITS), f"{watched.page.url} is wider than {self.viewport['width']}px"
        assert not watched.problems, watched.problems

    def item_page(self, user: str):
        watched = self.as_(user)
        watched.goto(self.url)
        self.check(watched)
        return watched

    def fire(self, user: str, transition: str, fields: dict[str, str] | None = None,
             expect_state: str | None = None) -> None:
        """Open the transition's form on the item page, fill it, confirm."""
        watched = self.item_page(user)
        page = watched.page
        page.click(f"[data-bs-target='#wf-form-{transition}']")
        form = page.locator(f"#wf-form-{transition}")
        page.locator(f"#wf-form-{transition}.collapse.show").wait_for()  # fully open, not still sliding
        for name, value in (fields or {}).items():
            field = form.locator(f"[name={name}]")
            if field.evaluate("e => e.tagName") == "SELECT":
                if value:
                    field.select_option(value)
                else:  # the first real choice
                    field.select_option(index=1)
            else:
                field.fill(value)
        invalid = form.evaluate("f => [...f.elements].filter(e => !e.checkValidity()).map(e => e.name)")
        assert not invalid, f"{transition} as {user}: the browser refuses to send {invalid}"
        try:
            with page.expect_navigation(timeout=60_000):  # two cores shared with the whole suite at merge
                form.locator("button[type=submit]").click()
        except PlaywrightTimeout:
            raise AssertionError(f"{transition} as {user}: no page after 60 s at {page.url}; "
                                 f"unanswered: {sorted(watched.pending.values())}; "
                                 f"last documents: {watched.documents[-4:]}; "
                                 f"busy: {form.evaluate('f => f.dataset.busy || null')}") from None
        self.check(watched)
        if expect_state:
            assert page.inner_text("#item-state") == expect_state, f"after {transition} as {user}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_item_walks_from_registration_to_the_archive_as_each_role(open_page, viewport):
    walk = Walk(open_page, viewport)
    title = f"生命周期演练：城西片区雨污分流改造（{viewport['width']}）"

    # 立项 — the 督查室 registers the item on the 重点工作 board
    sup = walk.as_("supervisor")
    sup.goto("/boards/zdgz")
    if viewport["width"] < 768:  # the add button is on the board page, no menu needed
        assert sup.page.locator("#add-item").is_visible()
    sup.page.click("#add-item")
    sup.page.wait_for_url("**/@@add")
    walk.check(sup)
    sup.page.fill("[name=title]", title)
    sup.page.fill("[name=source]", "县政府常务会议")
    sup.page.fill("[name=content]", "完成城西片区 3.2 公里雨污分流管网改造")
    sup.page.fill("[name=requirement]", "每周报送进展，办结时附现场照片和盖章报告")
    sup.page.locator("input[name=date]").nth(0).fill("2026-11-20")
    sup.page.locator("input[name=date]").nth(1).fill("2026-12-31")
    sup.page.select_option("[name=lead_unit]", "zjj")
    sup.page.click("#add-itemsubmit")
    sup.page.wait_for_selector("#item-title")
    walk.check(sup)
    walk.url = sup.page.url.split("#")[0].removeprefix(sup.base)
    assert sup.page.inner_text("#item-title") == title
    title_box = sup.page.locator("#item-title").bounding_box()
    assert title_box["width"] >= 0.5 * min(viewport["width"], 800)  # a long title gets the line, not one character

    # 审签 — the leader approves; 交办 — the 督查室 assigns it to 住建局
    walk.fire("leader", "approve", expect_state="已审签")
    walk.fire("supervisor", "assign", {"problem_kind": ""}, expect_state="待签收")

    # 退单 — 住建局 declines with a reason the 督查室 can read; then it is assigned again
    walk.fire("unit_head", "decline", {"reason": "该路段管网产权属交通局，请核实承办单位"}, expect_state="已退单")
    assert "该路段管网产权属交通局" in walk.item_page("supervisor").page.inner_text("main")
    walk.fire("supervisor", "assign", {"problem_kind": ""}, expect_state="待签收")

    # 签收 — the unit head accepts; the item is on the handler's worklist
    walk.fire("unit_head", "accept", expect_state="办理中")
    handler = walk.as_("handler")
    handler.goto("/worklist")
    walk.check(handler)
    assert title in handler.page.inner_text("main")

    # 反馈 — the handler reports progress and attaches a site photo and the sealed, signed report
    handler.goto(walk.url + "/@@feedback")
    walk.check(handler)
    handler.page.fill("[name=done]", "已完成 2.1 公里管网铺设")
    handler.page.fill("[name=progress]", "剩余路段本月完工")
    with handler.page.expect_navigation():
        handler.page.locator("main form button[type=submit]").first.click()
    handler.page.wait_for_selector("#item-title")
    walk.check(handler)
    for kind, name, mime, data in [("photo", "现场.jpg", "image/jpeg", photo_jpeg()),
                                   ("signed_report", "盖章报告.pdf", "application/pdf", signed_report())]:
        handler.goto(walk.url + "/@@upload")
        walk.check(handler)
        handler.page.select_option("#kind", kind)
        handler.page.fill("#title", name.split(".")[0])
        handler.page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])
        handler.page.click("#upload-submit")
        handler.page.wait_for_url("**#tab-attachments")
        walk.check(handler)
    assert handler.page.locator(".attachment").count() == 2

    # 申请办结 → 退回 with a reason → 申请办结 again → 核查通过
    walk.fire("handler", "request_closure", expect_state="待核查")
    walk.fire("supervisor", "return", {"reason": "照片未体现完工路段，请补充"}, expect_state="办理中")
    assert "照片未体现完工路段" in walk.item_page("handler").page.inner_text("main")
    walk.fire("handler", "request_closure", expect_state="待核查")
    walk.fire("supervisor", "review", expect_state="待办结审批")

    # 办结 — the leader closes it with a grade
    walk.fire("leader", "close", {"grade": ""}, expect_state="已办结")

    # 立卷归档 — the records officer files it from the 档案室 queue
    officer = walk.as_("records_officer")
    officer.goto("/archive")
    walk.check(officer)
    item_id = walk.url.rsplit("/", 1)[1]
    form = officer.page.locator(f"form.file-form:has(input[name=item][value='{item_id}'])")
    with officer.page.expect_navigation(timeout=60_000):  # the dossier is rendered: seconds
        form.locator("button[type=submit]").click()
    walk.check(officer)
    officer.goto(walk.url)
    walk.check(officer)
    assert "已归档" in officer.page.inner_text("#item-state")

    # the auditor's search finds the filed item
    auditor = walk.as_("auditor")
    auditor.goto("/search?q=" + "雨污分流")
    walk.check(auditor)
    assert title in auditor.page.inner_text("#results")
    assert len(walk.seen) > 25
