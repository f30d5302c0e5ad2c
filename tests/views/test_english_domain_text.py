"""With English chosen, the words the domain writes read in English too (issue 15, deliverable 9):
the audit sentences of the item page and the audit log, the timeline, the 四性检测 panel.

Data stays as entered — item titles, people's and units' names, reasons they typed — so the test
takes those out before it looks for Chinese. Chinese readers and the JSON API keep the Chinese text.
"""

from __future__ import annotations

import io
import re

import pytest

from duban_archive.testing import api, login

HAN = re.compile(r"[\u4e00-\u9fff]")


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def _filed_after_the_whole_conversation(testapp, make_item) -> str:
    """交办, 退单, 交办 again, 签收, 反馈, 申请办结, 退回, 申请办结, 审核, 办结, 归档 — reasons typed in English."""
    item_id = make_item(title="Repair the cultural station")
    steps = [("leader", "approve", {}), ("supervisor", "assign", {"problem_kind": "general"}),
             ("unit_head", "decline", {"reason": "Not our unit's duty"}),
             ("supervisor", "assign", {"problem_kind": "general"}), ("unit_head", "accept", {})]
    for user, name, body in steps:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    handler = api(testapp, "handler")
    handler.post(f"/api/v1/items/{item_id}/feedback", {"done": "Roof fixed", "progress": "Half done",
                                                         "next_steps": "Paint the walls"}, status=201)
    handler.upload(f"/api/v1/items/{item_id}/attachments", {"kind": "photo"}, [("file", "roof.png", _png())],
                   status=201)
    for user, name, body in [("handler", "request_closure", {}),
                             ("supervisor", "return", {"reason": "Photos are blurred"}),
                             ("handler", "request_closure", {}), ("supervisor", "review", {}),
                             ("leader", "close", {"grade": "B"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    api(testapp, "records_officer").post(f"/api/v1/items/{item_id}/file", {"retention": "D30"})
    return item_id


def _names(site) -> list[str]:
    """People's and units' names (data), longest first so a longer name goes before its prefix."""
    names = [u.title for u in site["users"].values()] + [u.title for u in site["units"].values()]
    return sorted({n for n in names if n}, key=len, reverse=True)


def _chinese_left(text: str, names: list[str]) -> list[str]:
    for name in names:
        text = text.replace(name, "")
    return [line.strip() for line in text.splitlines() if HAN.search(line)]


@pytest.fixture
def filed(testapp, make_item):
    return _filed_after_the_whole_conversation(testapp, make_item)


def test_an_english_reader_sees_the_audit_trail_timeline_and_checks_in_english(testapp, filed, site):
    login(testapp, "auditor")  # holds view_audit on items
    testapp.set_cookie("_LOCALE_", "en")
    page = testapp.get(f"/boards/zdgz/{filed}")
    assert page.html.find("html")["lang"] == "en"
    names = _names(site)
    audit, history = page.html.find(id="audit"), page.html.find(id="history")
    panel = page.html.find(id="checks-panel")
    assert audit is not None and history is not None and panel is not None
    for part in (audit, history, panel):
        assert not _chinese_left(part.text, names), _chinese_left(part.text, names)
    text = audit.text
    for step in ("Assign (Approved → To accept)", "Decline (To accept → Declined)", "Return (To check → In progress)",
                 "Close (Closure to approve → Closed)", "Filing (Closed → Archived): Comment: Filed, archival code"):
        assert step in text, step
    assert "Reason for declining" in history.text and "Not our unit's duty" in history.text
    assert "“roof.png” (" in text and "Archival code: " in text and "Retention: D30" in text
    assert "Photos are blurred" in history.text and "General problem (7 days)" in history.text
    assert "Comment: Filed, archival code" in history.text
    panel_text = " ".join(panel.text.split())
    assert "Four-property check (DA/T 70-2018) result:" in panel_text
    assert "Partly not checked" in panel_text and "Virus scan" in panel_text
    assert "Original matches its digest at capture: roof.png" in panel_text
    assert "Authenticity" in panel_text and "Usability" in panel_text
    assert "PNG image 64×48, fully decoded; at capture" in panel_text
    # the 归档 tab: the first package version's reason is the system's word, shown in English
    versions = page.html.find(id="tab-archive").find("tbody")
    assert [tr.find_all("td")[2].text for tr in versions.find_all("tr")] == ["File"]
    # the attachment's capture check, label and tooltip
    badge = page.html.select_one(".capture-check .badge")
    assert not HAN.search(badge.text + badge["title"]), (badge.text, badge["title"])


def test_the_same_pages_stay_chinese_for_chinese_readers_and_the_api(testapp, filed):
    login(testapp, "auditor")
    page = testapp.get(f"/boards/zdgz/{filed}")
    panel = " ".join(page.html.find(id="checks-panel").text.split())
    assert "四性检测（DA/T 70-2018）结论：" in panel and "部分未检测" in panel and "病毒检测" in panel
    assert "「roof.png」（" in page.html.find(id="audit").text
    assert "立卷归档，档号" in page.html.find(id="history").text
    testapp.set_cookie("_LOCALE_", "en")
    entries = api(testapp, "auditor").get(f"/api/v1/items/{filed}/audit").json
    assert any("「roof.png」（" in e["summary"] for e in entries)
    assert any("意见：立卷归档，档号" in e["summary"] for e in entries)
    assert api(testapp, "auditor").get(f"/api/v1/items/{filed}").json["checks"]["conclusion"] == "部分未检测"


def test_the_audit_log_page_reads_in_english(testapp):
    api(testapp, "admin").post("/api/v1/users", {"username": "liwei", "title": "李伟", "unit": "zjj",
                                                 "password": "Initial-Pass-2026"}, status=201)
    login(testapp, "secauditor")
    testapp.set_cookie("_LOCALE_", "en")
    page = testapp.get("/@@audit-log")
    rows = page.html.find("table").find("tbody").find_all("tr")
    texts = [" ".join(r.text.split()) for r in rows]
    created = [t for t in texts if "liwei" in t]
    assert created and "Created account liwei" in created[0], texts
    assert not HAN.search(created[0].replace("李伟", "")), created[0]


def test_the_banner_of_a_returned_item_reads_in_english(testapp, make_item, site):
    """退回 tells the handler what to fix: above the tabs, in English, with the typed reason as typed."""
    item_id = make_item(title="Fix the bus stop")
    for user, name, body in [("leader", "approve", {}), ("supervisor", "assign", {"problem_kind": "major"}),
                             ("unit_head", "accept", {}), ("handler", "request_closure", {}),
                             ("supervisor", "return", {"reason": "照片不清晰"})]:
        api(testapp, user).post(f"/api/v1/items/{item_id}/transitions/{name}", body)
    login(testapp, "handler")
    testapp.set_cookie("_LOCALE_", "en")
    banner = testapp.get(f"/boards/zdgz/{item_id}").html.find(id="latest-reason")
    text = " ".join(banner.text.split())
    assert "Return" in text and "Reason for returning: 照片不清晰" in text
    assert not _chinese_left(text.replace("照片不清晰", ""), _names(site))
