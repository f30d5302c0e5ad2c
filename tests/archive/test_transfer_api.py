"""移交 as the records officer does it: the JSON API and the 档案室 pages (CSRF, Chinese errors field by
field, busy state), the filing list's 已移交 note, and the item JSON's ``transfer``."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from duban_archive.archive.transfer import MANIFEST, REGISTER
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login
from duban_archive.timeutil import today

BODY = {"title": "2026年度督查督办电子档案移交", "description": "永久、定期档案各一批", "transferor_unit": "县委督查室",
        "receiver_unit": "县档案馆", "carrier": "online", "transferor": "王档案", "receiver": "李馆员",
        "reviewer": "赵主任", "transfer_date": "2026-12-04"}


def _filed(testapp, closed_item, retentions=("Y", "D10")) -> dict[str, str]:
    officer = api(testapp, "records_officer")
    out = {}
    for n, retention in enumerate(retentions):
        item_id = closed_item(photos=0, signed=0, title=f"移交测试事项{n}")
        out[item_id] = officer.post(f"/api/v1/items/{item_id}/file", {"retention": retention}).json["archival_code"]
    return out


def test_api_transfer_register_package_and_cancel(app, testapp, closed_item):
    filed = _filed(testapp, closed_item)
    officer = api(testapp, "records_officer")
    listed = officer.get("/api/v1/transfers/candidates").json
    assert [c["archival_code"] for c in listed] == sorted(filed.values(), key=lambda c: "-D10-" in c)  # Y first
    assert officer.get("/api/v1/transfers/candidates?retention=D10").json[0]["archival_code"] == \
        next(c for c in filed.values() if "-D10-" in c)
    officer.get("/api/v1/transfers/candidates?retention=X", status=400)
    api(testapp, "handler").post("/api/v1/transfers", {**BODY, "items": list(filed)}, status=403)

    bad = officer.post("/api/v1/transfers", {**BODY, "receiver_unit": "", "reviewer": "王档案", "items": []},
                       status=400).json
    assert bad["fields"]["receiver_unit"] == "请填写接收单位"
    assert bad["fields"]["reviewer"] == "审核人不能与移交人为同一人"  # every field at once
    assert "至少选择" in bad["fields"]["items"]
    assert officer.get("/api/v1/transfers").json == []  # refused: nothing written

    made = officer.post("/api/v1/transfers", {**BODY, "items": list(filed), "token": "form-1"}, status=201).json
    tid = made["id"]
    assert made["count"] == 2 and made["state"] == "transferred" and made["receiver_unit"] == "县档案馆"
    assert [i["archival_code"] for i in made["items"]] == sorted(filed.values(), key=lambda c: "-D10-" in c)
    security = next(r for r in made["inspection"] if r["title"] == "安全性检验")
    assert security["result"] == "未检测" and security["unchecked"] == 2  # no virus scanner on this machine
    # the same form sent again gives the same transfer, not a second one nor a refusal
    again = officer.post("/api/v1/transfers", {**BODY, "items": list(filed), "token": "form-1"}, status=201).json
    assert again["id"] == tid and len(officer.get("/api/v1/transfers").json) == 1
    # a second transfer of the same records is refused, and says which and where they went
    twice = officer.post("/api/v1/transfers", {**BODY, "items": list(filed)[:1]}, status=409).json
    assert twice["error"] == "already_transferred" and tid in twice["message"] and "县档案馆" in twice["message"]

    item = officer.get(f"/api/v1/items/{list(filed)[0]}").json
    assert item["transfer"] == {"id": tid, "date": "2026-12-04", "receiver_unit": "县档案馆"}
    table = officer.get("/api/v1/filing-list?format=json").json
    assert all("已移交县档案馆（2026-12-04）" in r["备注"] for r in table)

    pdf = officer.get(f"/api/v1/transfers/{tid}/register.pdf")
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF")
    assert pdf.headers["X-Checksum-SHA256"] == made["files"][0]["sha256"]
    xlsx = officer.get(f"/api/v1/transfers/{tid}/register.xlsx")
    assert load_workbook(io.BytesIO(xlsx.body))["登记表"]["B3"].value == BODY["title"]
    package = officer.get(f"/api/v1/transfers/{tid}/package.zip")
    assert package.headers["X-Manifest-SHA256"] == made["manifest_sha256"]
    with zipfile.ZipFile(io.BytesIO(package.body)) as zf:
        assert {f"{REGISTER}.pdf", f"{REGISTER}.xlsx", MANIFEST} <= set(zf.namelist())
        assert zf.read(f"{REGISTER}.pdf") == pdf.body
    officer.get("/api/v1/transfers/YJ-1999-0001/package.zip", status=404)

    officer.post(f"/api/v1/transfers/{tid}/cancel", {"reason": ""}, status=400)
    done = officer.post(f"/api/v1/transfers/{tid}/cancel", {"reason": "档案馆退回重交"}).json
    assert done["state"] == "cancelled" and done["cancelled"]["reason"] == "档案馆退回重交"
    officer.post(f"/api/v1/transfers/{tid}/cancel", {"reason": "再撤一次"}, status=409)
    assert officer.get(f"/api/v1/items/{list(filed)[0]}").json["transfer"] is None
    redo = officer.post("/api/v1/transfers", {**BODY, "items": list(filed)}, status=201).json
    assert redo["id"] != tid
    with open_site(app.registry) as site:
        actions = [e["action"] for e in site["audit"] if e["action"].startswith("transfer")]
    assert actions == ["transfer", "transfer_cancel", "transfer"]


def test_openapi_describes_the_transfer_routes(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    for path in ("/api/v1/transfers", "/api/v1/transfers/candidates", "/api/v1/transfers/{id}",
                 "/api/v1/transfers/{id}/cancel", "/api/v1/transfers/{id}/register.pdf",
                 "/api/v1/transfers/{id}/register.xlsx", "/api/v1/transfers/{id}/package.zip"):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/transfers"]["post"]["requestBody"]


def test_the_archive_pages_make_and_cancel_a_transfer(app, testapp, closed_item):
    filed = _filed(testapp, closed_item)
    login(testapp, "records_officer")
    archive = testapp.get("/archive")
    assert 'href="/archive/transfers"' in archive.text
    page = testapp.get("/archive/transfers").click(href="/archive/transfers/new")
    form = page.forms["transfer-form"]
    assert form.method.lower() == "post" and form["csrf_token"].value and form["token"].value
    assert "data-busy-text" in page.html.find(id="transfer-form").attrs
    assert form["transferor_unit"].value  # the 立档单位 is offered
    boxes = page.html.select("input[name=items]")
    assert {b["value"] for b in boxes} == set(filed) and all(b.has_attr("checked") for b in boxes)
    # a form without CSRF token is refused
    testapp.post("/archive/transfers/new", {"title": "x"}, status=400)
    # field errors come back in Chinese, beside the fields, with the input kept
    form["title"] = "年度移交"
    form["carrier"] = "hdd"
    res = form.submit(status=400)
    assert "请填写接收单位" in res.html.find(id="tf-receiver_unit").find_next("div").text
    assert "移动硬盘移交须填写载体起止顺序号" in res.text and res.forms["transfer-form"]["title"].value == "年度移交"
    form = res.forms["transfer-form"]
    for name in ("description", "receiver_unit", "transferor", "receiver", "reviewer"):
        form[name] = BODY[name]
    form["carrier_numbers"] = "YP-001～YP-001"
    done = form.submit().follow()
    assert "已登记移交批次" in done.text and "县档案馆" in done.text
    assert "（接收单位检验后填写）" in done.text and "未检测" in done.text
    tid = done.html.find("h1").text.split()[1]
    for code in filed.values():
        assert code in done.text
    # resubmitting the same form (a double click that got through) shows the same transfer
    again = form.submit().follow()
    assert tid in again.text
    assert len(api(testapp, "records_officer").get("/api/v1/transfers").json) == 1
    # the transfers list, then cancel: a reason is required
    archive = testapp.get("/archive")
    badges = [" ".join(b.text.split()) for b in archive.html.select("#filed .badge.text-bg-info")]
    assert badges == [f"已移交 {today().isoformat()} 县档案馆"] * 2  # beside each record in the 档案室
    listing = testapp.get("/archive/transfers")
    assert tid in listing.text and "已移交" in listing.text
    cancel = next(f for f in done.forms.values() if f.action.endswith("/cancel"))
    res = cancel.submit(status=400)
    assert "请填写撤销原因" in res.text or "必填" in res.text
    cancel = next(f for f in res.forms.values() if f.action.endswith("/cancel"))
    cancel["reason"] = "接收单位要求改用光盘"
    res = cancel.submit().follow()
    assert "已撤销" in res.html.find(id="transfer-state").text and "接收单位要求改用光盘" in res.text
    assert not testapp.get("/archive").html.select("#filed .badge.text-bg-info")
    page = testapp.get("/archive/transfers/new")
    assert {b["value"] for b in page.html.select("input[name=items]")} == set(filed)  # free again
    testapp.reset()
    login(testapp, "handler")
    testapp.get("/archive/transfers", status=403)


RECEIPT = {"received_on": "2026-12-08", "reviewer": "钱馆长", "authenticity": "通过", "integrity": "通过",
           "usability": "通过", "security": "不通过", "security_note": "馆内查毒发现 1 件可疑，已退回复查",
           "carrier": "不适用"}


def test_the_receivers_column_is_filled_from_the_signed_register_and_the_package_stays_as_sent(
        app, testapp, closed_item):
    from .test_transfer import pdf_text

    filed = _filed(testapp, closed_item)
    officer = api(testapp, "records_officer")
    made = officer.post("/api/v1/transfers", {**BODY, "items": list(filed)}, status=201).json
    tid = made["id"]
    package = officer.get(f"/api/v1/transfers/{tid}/package.zip").body
    officer.get(f"/api/v1/transfers/{tid}/register.pdf?stage=received", status=409)  # not received yet
    bad = officer.post(f"/api/v1/transfers/{tid}/receipt", {**RECEIPT, "security": "合格", "reviewer": ""},
                       status=400).json
    assert "不通过" in bad["fields"]["security"] and bad["fields"]["reviewer"] == "请填写接收单位审核人"
    early = officer.post(f"/api/v1/transfers/{tid}/receipt", {**RECEIPT, "received_on": "2026-12-01"},
                         status=400).json
    assert "不能早于移交日期" in early["fields"]["received_on"]
    done = officer.post(f"/api/v1/transfers/{tid}/receipt", RECEIPT).json
    assert done["state"] == "received" and done["receipt"]["reviewer"] == "钱馆长"
    officer.post(f"/api/v1/transfers/{tid}/receipt", RECEIPT, status=409)  # once
    officer.post(f"/api/v1/transfers/{tid}/cancel", {"reason": "晚了"}, status=409)  # received: stays
    text = "".join(pdf_text(officer.get(f"/api/v1/transfers/{tid}/register.pdf?stage=received").body).split())
    for needle in ("不通过（馆内查毒发现", "钱馆长", "2026年12月8日"):
        assert needle in text, needle
    assert "接收单位检验后填写" not in text
    sent = "".join(pdf_text(officer.get(f"/api/v1/transfers/{tid}/register.pdf").body).split())
    assert "接收单位检验后填写" in sent and "钱馆长" not in sent  # the register as handed over
    wb = load_workbook(io.BytesIO(officer.get(f"/api/v1/transfers/{tid}/register.xlsx?stage=received").body))
    reg = {row[0]: row[1:] for row in wb["登记表"].iter_rows(values_only=True) if row[0]}
    assert reg["安全性检验"][1] == "不通过（馆内查毒发现 1 件可疑，已退回复查）"
    assert reg["审核人（签名）"] == ("赵主任", "钱馆长") and reg["日期"][1] == "2026 年 12 月 8 日"
    assert officer.get(f"/api/v1/transfers/{tid}/package.zip").body == package  # the manifest still holds
    login(testapp, "records_officer")
    page = testapp.get(f"/archive/transfers/{tid}")
    assert "已接收" in page.html.find(id="transfer-state").text and "钱馆长" in page.text
    assert page.html.find(id="receipt") is None and page.html.find(id="cancel") is None


def test_the_receipt_form_on_the_transfer_page(app, testapp, closed_item):
    filed = _filed(testapp, closed_item, retentions=("Y",))
    made = api(testapp, "records_officer").post("/api/v1/transfers", {**BODY, "items": list(filed)}, status=201).json
    login(testapp, "records_officer")
    page = testapp.get(f"/archive/transfers/{made['id']}")
    form = next(f for f in page.forms.values() if f.action.endswith("/receipt"))
    form["reviewer"] = "钱馆长"
    res = form.submit(status=400)  # no result chosen: each row says so, in Chinese
    assert res.html.find(id="rc-security").find_next("div").text == "请填写安全性检验"
    form = next(f for f in res.forms.values() if f.action.endswith("/receipt"))
    assert form["reviewer"].value == "钱馆长"
    for key in ("authenticity", "integrity", "usability", "security"):
        form[key] = "通过"
    form["carrier"] = "不适用"
    done = form.submit().follow()
    assert "已登记接收" in done.text and "已接收" in done.html.find(id="transfer-state").text
