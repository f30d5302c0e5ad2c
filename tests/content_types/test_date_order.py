"""An item cannot be born overdue: 办结时限 not before 立项日期 (issue 15), in the API and the form."""

from __future__ import annotations

from datetime import date, timedelta

from duban_archive.testing import api, login
from duban_archive.timeutil import today

ITEM = {"title": "整治农贸市场周边", "source": "县委督查通知", "content": "整治占道经营", "requirement": "按周报送",
        "lead_unit": "zjj"}


def test_api_refuses_a_deadline_before_registration_and_keeps_nothing(testapp):
    sup = api(testapp, "supervisor")
    before = sup.get("/api/v1/items").json["total"]
    res = sup.post("/api/v1/boards/zdgz/items", {**ITEM, "registered_on": "2026-11-20", "deadline": "2026-11-19"},
                   status=400)
    assert res.json["fields"] == {"deadline": "办结时限不能早于立项日期（2026-11-20）"}
    # without a 立项日期 the item is registered today: yesterday is too early, today is fine
    yesterday = (today() - timedelta(days=1)).isoformat()
    res = sup.post("/api/v1/boards/zdgz/items", {**ITEM, "deadline": yesterday}, status=400)
    assert res.json["fields"]["deadline"].startswith("办结时限不能早于立项日期")
    assert sup.get("/api/v1/items").json["total"] == before
    sup.post("/api/v1/boards/zdgz/items", {**ITEM, "deadline": today().isoformat()}, status=201)


def test_patch_checks_against_the_stored_registration_date(testapp, make_item):
    item_id = make_item(registered_on=date(2026, 11, 1))
    sup = api(testapp, "supervisor")
    res = sup.patch(f"/api/v1/items/{item_id}", {"deadline": "2026-10-31"}, status=400)
    assert res.json["fields"] == {"deadline": "办结时限不能早于立项日期（2026-11-01）"}
    assert sup.get(f"/api/v1/items/{item_id}").json["deadline"] == "2026-12-31"
    assert sup.patch(f"/api/v1/items/{item_id}", {"deadline": "2026-11-01"}).json["deadline"] == "2026-11-01"


def test_the_form_shows_the_error_beside_the_deadline_and_keeps_the_input(testapp):
    login(testapp, "supervisor")
    form = testapp.get("/boards/zdgz/@@add").forms["add-item"]
    for name, value in ITEM.items():
        form[name] = value
    form.set("date", "2026-11-20", index=0)  # 立项日期
    form.set("date", "2026-11-02", index=1)  # 办结时限
    res = form.submit(status=400)
    assert "办结时限不能早于立项日期（2026-11-20）" in res.text
    assert res.forms["add-item"]["title"].value == "整治农贸市场周边"
    # every required field is marked, textareas and selects included
    labels = res.html.select(".required > label.form-label")
    assert {lb.text.strip() for lb in labels} >= {"标题", "督办内容", "主办单位"}
