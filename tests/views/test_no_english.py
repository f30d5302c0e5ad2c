"""No English on Chinese pages (issue 15): every form page of every board — 立项, 修改, 反馈, 批示, the
workflow forms on the item page in each state a user acts in, with and without errors — and the 通报 and
归档目录 forms, in the default locale, show none of the stock English of deform, colander or our templates."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup

from duban_archive.testing import api, login

#: deform's and colander's stock words, and what a careless template would add
STOCK = re.compile(r"\b(Date|Time|Choose|Submit|Add|Remove|Required|Select|Upload|Cancel|Browse|Yes|No|True|"
                   r"False|Year|Month|Day|Errors?|Invalid|Incomplete|Loading|Save|Delete|Edit|Reorder|"
                   r"There was a problem|highlighted|is not)\b")
BOARDS = ["rcgl", "zdgz", "zdgg", "zdgc", "zdjg", "zdzs", "internet_plus", "hotline", "npc_cppcc"]
TICKET = {"title": "路灯不亮", "source": "12345 热线", "content": "东城路路灯不亮", "requirement": "按时答复",
          "lead_unit": "zjj", "ticket_kind": "complaint", "caller_phone": "13812345678"}


def visible(html: str) -> str:
    """What a user reads: the text outside scripts and styles, plus placeholders, titles, labels for
    assistive technology and the words on buttons."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "template"]):
        tag.decompose()
    words = [soup.get_text(" ")]
    for tag in soup.find_all(True):
        words += [tag.get(a, "") for a in ("placeholder", "title", "aria-label", "alt")]
        if tag.name == "input" and tag.get("type") in ("submit", "button", "reset"):
            words.append(tag.get("value", ""))
    return " ".join(w for w in words if isinstance(w, str))


def english_in(page) -> list[str]:
    text = visible(page.text)
    text = text.replace("English", "")  # the language switch names the other language
    return sorted(set(STOCK.findall(text)))


def new_session(testapp, user: str) -> None:
    testapp.reset()
    login(testapp, user)


def body_for(board: str, n: int) -> dict:
    extra = {"hotline": {**TICKET, "ticket_number": f"SZ-EN-{n}"},
             "internet_plus": {"clue_number": f"HLW-EN-{n}"},
             "npc_cppcc": {"proposal_kind": "npc_suggestion"}}.get(board, {})
    return {"title": "推进老旧小区改造", "source": "区政府常务会议", "content": "完成改造", "requirement": "按月报送",
            "lead_unit": "zjj", "deadline": "2099-12-31", **extra}


@pytest.mark.parametrize("board", BOARDS)
def test_add_and_edit_forms_of_every_board_are_all_chinese(testapp, board):
    new_session(testapp, "supervisor")
    page = testapp.get(f"/boards/{board}/@@add")
    assert english_in(page) == []
    # refused: every error message and the banner in Chinese too (a bad date, a bad phone, blanks)
    form = page.forms["add-item"]
    form["title"] = ""
    form.set("date", "2026-99-99", index=1)  # 办结时限
    if board == "hotline":
        form["caller_phone"] = "12"
    refused = form.submit(status=400)
    assert refused.html.select(".alert-danger") and english_in(refused) == []
    item = api(testapp, "supervisor").post(f"/api/v1/boards/{board}/items", body_for(board, 1), status=201).json
    base = f"/boards/{board}/{item['id']}"
    assert english_in(testapp.get(f"{base}/@@edit")) == []
    assert english_in(testapp.get(base)) == []
    new_session(testapp, "leader")
    assert english_in(testapp.get(f"{base}/@@instruct")) == []


WALKS = {
    # board: [(user who acts next, transition taken after looking at the page, body)]
    "zdgz": [("leader", "approve", {}), ("supervisor", "assign", {}), ("unit_head", "accept", {}),
             ("handler", "request_closure", {}), ("supervisor", None, {})],
    "internet_plus": [("leader", "approve", {}), ("supervisor", "assign", {}), ("unit_head", "accept", {}),
                      ("unit_head", None, {})],
    "hotline": [("supervisor", "dispatch", {}), ("unit_head", "accept", {}), ("handler", None, {})],
}


@pytest.mark.parametrize("board", list(WALKS))
def test_workflow_forms_in_every_state_are_all_chinese(testapp, board):
    item = api(testapp, "supervisor").post(f"/api/v1/boards/{board}/items", body_for(board, 2), status=201).json
    url = f"/boards/{board}/{item['id']}"
    for user, transition, body in WALKS[board]:
        new_session(testapp, user)
        page = testapp.get(url)
        forms = [f for f in page.forms.values() if (f.id or "").startswith("wf-form-")]
        assert forms, (board, user)
        assert english_in(page) == [], (board, user)
        # a refused transition re-shows the page with field errors: still Chinese
        for form in forms:
            fields = {name for name, _ in form.submit_fields()}
            if fields & {"reason", "new_deadline", "reply", "days"}:
                res = form.submit(status="*")
                assert res.status_int in (400, 409), res.status
                assert english_in(res) == [], (board, user, form.id)
                break
        if transition:
            api(testapp, user).post(f"/api/v1/items/{item['id']}/transitions/{transition}", body)


def test_feedback_form_reports_and_archive_pages_are_all_chinese(testapp):
    item = api(testapp, "supervisor").post("/api/v1/boards/zdgz/items", body_for("zdgz", 3), status=201).json
    for user, name in (("leader", "approve"), ("supervisor", "assign"), ("unit_head", "accept")):
        api(testapp, user).post(f"/api/v1/items/{item['id']}/transitions/{name}", {})
    new_session(testapp, "handler")
    page = testapp.get(f"/boards/zdgz/{item['id']}/@@feedback")
    assert english_in(page) == []
    assert english_in(page.forms["feedback_report-form"].submit(status=400)) == []
    new_session(testapp, "supervisor")
    assert english_in(testapp.get("/reports")) == []
    assert english_in(testapp.get("/reports/bulletin", {"month": "x", "format": "pdf"}, status=400)) == []
    new_session(testapp, "records_officer")
    assert english_in(testapp.get("/archive")) == []
    assert english_in(testapp.get("/archive/@@filing-list", {"year": "x", "format": "pdf"}, status=400)) == []


def test_date_and_time_widgets_are_labelled_in_chinese(app):
    """deform's date-and-time widget says "Date" / "Time" (its Chinese catalog leaves them untranslated): a
    datetime field of any type definition reads 日期 / 时间."""
    import colander
    from pyramid.scripting import prepare

    from duban_archive.content_types.registry import FieldDef
    from duban_archive.views.forms import make_form

    env = prepare(registry=app.registry)
    try:
        schema = colander.SchemaNode(colander.Mapping())
        schema.add(FieldDef("visited_at", "回访时间", kind="datetime", required=True).node())
        html = make_form(env["request"], schema.bind()).render()
    finally:
        env["closer"]()
    labels = [s.get_text(strip=True) for s in BeautifulSoup(html, "html.parser").select(".input-group-text")]
    assert labels == ["日期", "时间"]
    assert STOCK.findall(visible(html)) == []
