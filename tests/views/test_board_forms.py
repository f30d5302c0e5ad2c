"""Per-board forms in the browser UI (issue 15): each board's own fields, order and groups; a taken 工单编号
refused beside its field with the input kept; the caller's phone masked per role on the item page; the
通报 and 归档目录 forms answer bad input on the page, not with JSON."""

from __future__ import annotations

import pytest

from duban_archive.testing import api, login

PHONE = "13812345678"
TICKET = {"title": "路灯不亮", "source": "12345 热线", "content": "东城路路灯不亮", "requirement": "按时答复",
          "lead_unit": "zjj", "ticket_kind": "complaint", "caller": "王女士", "caller_phone": PHONE}


def form_layout(page, formid: str) -> list[tuple[str, list[str]]]:
    """``[(legend, [input names])]`` of the form as the user sees it."""
    form = page.html.find(id=formid)
    out = []
    for fieldset in form.find_all("fieldset"):
        legend = fieldset.find("legend")
        names = []
        for el in fieldset.find_all(["input", "select", "textarea"]):
            name = el.get("name")
            if name == "__start__":  # a date (or multi-select) field: deform wraps its inputs in a mapping
                name = el["value"].split(":")[0]
            if name and not name.startswith("__") and name not in ("date", "time") and name not in names:
                names.append(name)
        out.append((legend.text.strip() if legend else "", names))
    return out


@pytest.mark.parametrize("board", ["rcgl", "zdgz", "zdgg", "zdgc", "zdjg", "zdzs", "internet_plus", "hotline",
                                   "npc_cppcc"])
def test_every_board_form_shows_its_type_s_groups_in_order(testapp, board):
    login(testapp, "supervisor")
    page = testapp.get(f"/boards/{board}/@@add")
    registry = testapp.app.registry
    site_board = None
    from duban_archive.content_types.site_access import open_site

    with open_site(registry) as site:
        site_board = site.boards[board].item_type
    typedef = registry.duban_types[site_board]
    expected = [(legend, [n for n in names if not typedef.field_map[n].system])
                for legend, names in typedef.groups()]
    got = form_layout(page, "add-item")
    # a multi-select posts its values under its own name: compare the field names only
    assert [(legend, [n for n in names if n in typedef.field_map]) for legend, names in got] == \
        [(legend, names) for legend, names in expected if names]


def test_the_12345_form_begins_with_the_ticket_and_the_caller(testapp):
    login(testapp, "supervisor")
    page = testapp.get("/boards/hotline/@@add")
    first, second = form_layout(page, "add-item")[:2]
    assert first == ("工单与来电人", ["ticket_number", "caller", "caller_phone", "ticket_kind", "ticket_source"])
    assert second[0] == "诉求" and second[1].index("content") < len(second[1])
    labels = [lab.text.strip() for lab in page.html.find(id="add-item").find_all("label")][:4]
    assert [label.rstrip("*").strip() for label in labels] == ["工单编号", "来电人", "来电号码", "诉求类型"]
    plus = testapp.get("/boards/internet_plus/@@add")
    assert form_layout(plus, "add-item")[0] == ("线索与留言人", ["clue_number", "reporter", "title", "source"])


def fill(form, values):
    for name, value in values.items():
        form[name] = value
    return form


def test_a_taken_ticket_number_is_refused_beside_the_field_and_the_input_kept(testapp):
    sup = api(testapp, "supervisor")
    first = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-0001"}, status=201).json
    login(testapp, "supervisor")
    form = fill(testapp.get("/boards/hotline/@@add").forms["add-item"],
                {**TICKET, "ticket_number": "SZ-0001", "title": "另一个诉求"})
    res = form.submit(status=409)
    error = res.html.find(id="error-" + res.html.find(attrs={"name": "ticket_number"})["id"])
    assert error is not None and first["number"] in error.text and "工单编号" in error.text
    assert first["number"] in res.html.find(id="form-error").text
    kept = res.forms["add-item"]
    assert kept["ticket_number"].value == "SZ-0001" and kept["title"].value == "另一个诉求"
    assert kept["content"].value == TICKET["content"] and kept["lead_unit"].value == "zjj"
    assert sup.get("/api/v1/boards/hotline/items").json["total"] == 1  # nothing written


def test_the_edit_form_shows_each_error_beside_its_field_and_keeps_the_input(testapp):
    item = api(testapp, "supervisor").post("/api/v1/boards/hotline/items",
                                           {**TICKET, "ticket_number": "SZ-0002"}, status=201).json
    login(testapp, "supervisor")
    form = testapp.get(f"/boards/hotline/{item['id']}/@@edit").forms["edit-item"]
    form["caller_phone"] = "12345"
    form["title"] = ""
    form["requirement"] = "三日内答复来电人"
    res = form.submit(status=400)
    by_name = {el["name"]: el["id"] for el in res.html.find(id="edit-item").find_all(["input", "textarea"])
               if el.get("name") and el.get("id")}
    assert "11 位手机号码" in res.html.find(id=f"error-{by_name['caller_phone']}").text
    assert res.html.find(id=f"error-{by_name['title']}").text.strip() == "请填写标题"
    kept = res.forms["edit-item"]
    assert kept["caller_phone"].value == "12345" and kept["requirement"].value == "三日内答复来电人"


def shown_phone(testapp, user: str, item) -> str:
    testapp.reset()  # a new browser session
    login(testapp, user)
    page = testapp.get(f"/boards/hotline/{item['id']}")
    for dt in page.html.find(id="tab-info").find_all("dt"):
        if dt.text.strip() == "来电号码":
            return dt.find_next_sibling("dd").text.strip()
    raise AssertionError("来电号码 not shown")


def test_the_phone_is_masked_except_for_those_who_must_call_back(testapp):
    sup = api(testapp, "supervisor")
    item = sup.post("/api/v1/boards/hotline/items", {**TICKET, "ticket_number": "SZ-0003"}, status=201).json
    masked = "138****5678"
    assert shown_phone(testapp, "supervisor", item) == PHONE
    assert shown_phone(testapp, "leader", item) == masked
    assert shown_phone(testapp, "auditor", item) == masked
    sup.post(f"/api/v1/items/{item['id']}/transitions/dispatch", {})
    # with the lead unit (住建局): its 负责人 and 承办人 must call back
    assert shown_phone(testapp, "unit_head", item) == PHONE
    assert shown_phone(testapp, "handler", item) == PHONE
    assert shown_phone(testapp, "leader", item) == masked
    api(testapp, "unit_head").post(f"/api/v1/items/{item['id']}/transitions/accept", {})
    assert shown_phone(testapp, "handler", item) == PHONE
    api(testapp, "handler").post(f"/api/v1/items/{item['id']}/transitions/reply",
                                 {"reply": "已修复", "approved_by": "王科长"})
    # answered: back with the platform, the unit no longer sees it
    assert shown_phone(testapp, "handler", item) == masked
    assert shown_phone(testapp, "unit_head", item) == masked
    assert shown_phone(testapp, "supervisor", item) == PHONE
    assert shown_phone(testapp, "auditor", item) == masked
    assert PHONE not in testapp.get(f"/boards/hotline/{item['id']}").text  # not anywhere on the page


def test_the_bulletin_form_answers_a_bad_month_on_the_page(testapp):
    login(testapp, "supervisor")
    form = testapp.get("/reports").forms["bulletin-form"]
    form["month"] = "2026年13月"
    res = form.submit("format", index=0, status=400)
    assert res.content_type == "text/html"
    assert res.html.find(id="month-error").text.strip() == "月份应在 1 至 12 之间"
    assert res.forms["bulletin-form"]["month"].value == "2026年13月"
    assert "\\u" not in res.text
    form = res.forms["bulletin-form"]
    form["month"] = "2026年5月"
    res = form.submit("format", index=1, status=303)
    assert res.location.endswith("/api/v1/reports/bulletin?month=2026-05&format=xlsx")


def test_the_filing_list_form_answers_bad_input_on_the_page(testapp):
    login(testapp, "records_officer")
    res = testapp.get("/archive/@@filing-list", {"year": "二〇二六", "unit": "nowhere", "format": "xlsx"},
                      status=400)
    assert res.content_type == "text/html"
    assert "四位数字" in res.html.find(id="fl-year-error").text
    assert "单位不存在" in res.html.find(id="fl-unit-error").text
    good = testapp.get("/archive/@@filing-list", {"year": "2026", "unit": "zjj", "format": "pdf"}, status=303)
    assert good.location.endswith("/api/v1/filing-list?year=2026&unit=zjj&format=pdf")
    transfer = testapp.get("/archive/@@filing-list", {"year": "2026", "format": "transfer"}, status=303)
    assert transfer.location.endswith("/api/v1/archive/transfer.zip?year=2026")
