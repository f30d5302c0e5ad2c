"""The archive API as the records officer and an archive's receiving system use it."""

from __future__ import annotations

import io
import json
import zipfile

import pikepdf
from openpyxl import load_workbook

from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api


def test_records_officer_reviews_files_and_downloads(app, testapp, closed_item):
    item_id = closed_item(photos=0, signed=1, signed_pages=1, board="rcgl")
    officer = api(testapp, "records_officer")
    handler = api(testapp, "handler")
    assert [q["id"] for q in officer.get("/api/v1/archive/queue").json] == [item_id]
    assert officer.get("/api/v1/archive/queue").json[0]["default_retention"] == "D10"
    handler.get("/api/v1/archive/queue", status=403)
    preview = officer.get(f"/api/v1/items/{item_id}/dossier.pdf")
    assert preview.content_type == "application/pdf" and preview.body.startswith(b"%PDF-")
    # refusals change nothing: wrong role, bad value, unknown field
    res = handler.post(f"/api/v1/items/{item_id}/file", {"retention": "Y"}, status=403)
    assert res.json["error"] == "forbidden"
    res = officer.post(f"/api/v1/items/{item_id}/file", {"retention": "forever"}, status=400)
    assert "retention" in res.json["fields"]
    res = officer.post(f"/api/v1/items/{item_id}/file", {"retention": "Y", "code": "x"}, status=400)
    assert "code" in res.json["fields"]
    res = officer.post(f"/api/v1/items/{item_id}/file", {"retention": "D30"})
    code = res.json["archival_code"]
    assert "-WS·" in code and code.endswith("-D30-ZJJ-0001") and res.json["version"] == 1
    officer.post(f"/api/v1/items/{item_id}/file", {"retention": "D30"}, status=409)
    assert officer.get("/api/v1/archive/queue").json == []
    # the sealed dossier and package, with their digests in headers
    dossier = officer.get(f"/api/v1/items/{item_id}/dossier.pdf")
    with pikepdf.open(io.BytesIO(dossier.body)) as pdf:
        assert pdf.open_metadata().get("pdfaid:part") == "3"
    package = officer.get(f"/api/v1/items/{item_id}/package.zip")
    assert package.content_type == "application/zip"
    import hashlib

    assert hashlib.sha256(package.body).hexdigest() == package.headers["X-Checksum-SHA256"]
    with zipfile.ZipFile(io.BytesIO(package.body)) as zf:
        assert f"{code.replace('·', '.')}/data/dossier.pdf" in zf.namelist()
    # an archived item refuses edits through the API too
    supervisor = api(testapp, "supervisor")
    supervisor.patch(f"/api/v1/items/{item_id}", {"title": "改"}, status=403)
    # correction, legal hold
    res = officer.post(f"/api/v1/items/{item_id}/corrections", {"changes": {"title": "新题名"}, "reason": "错字"})
    assert res.json["version"] == 2
    officer.get(f"/api/v1/items/{item_id}/package.zip?version=1")
    res = officer.post(f"/api/v1/items/{item_id}/legal-hold", {"hold": True, "reason": "诉讼"})
    assert res.json == {"hold": True, "reason": "诉讼"}
    handler.post(f"/api/v1/items/{item_id}/legal-hold", {"hold": False}, status=403)
    with open_site(app.registry) as site:
        assert site["archive"][item_id].legal_hold
        actions = [e["action"] for e in site["audit"].for_target(item_id)]
        assert {"file", "correct", "legal_hold", "download"} <= set(actions)


def test_filing_list_and_transfer_export(app, testapp, closed_item):
    ids = [closed_item(photos=0, signed=0, title=f"事项{n}") for n in (1, 2)]
    officer = api(testapp, "records_officer")
    codes = [officer.post(f"/api/v1/items/{i}/file", {"retention": "Y"}).json["archival_code"] for i in ids]
    year = codes[0].split("·")[1][:4]
    res = officer.get(f"/api/v1/filing-list?year={year}&unit=zjj&format=xlsx")
    ws = load_workbook(io.BytesIO(res.body)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1] == ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
    assert [r[1] for r in rows[2:]] == codes
    assert rows[2][4] == "事项1" and rows[2][3] == "市住建局" and len(rows[2][5]) == 8 and rows[2][5].isdigit()
    assert rows[2][7] > 0
    assert officer.get(f"/api/v1/filing-list?year={int(year) - 1}&format=json").json == []
    pdf = officer.get(f"/api/v1/filing-list?year={year}&format=pdf")
    with pikepdf.open(io.BytesIO(pdf.body)) as doc:
        box = [float(v) for v in doc.pages[0].MediaBox]
        assert box[2] > box[3]  # A4 landscape
    from .helpers import pdf_text

    assert codes[1] in pdf_text(pdf.body)
    officer.get("/api/v1/filing-list?format=doc", status=400)
    api(testapp, "handler").get("/api/v1/filing-list", status=403)
    export = officer.get(f"/api/v1/archive/transfer.zip?year={year}")
    with zipfile.ZipFile(io.BytesIO(export.body)) as zf:
        names = zf.namelist()
        register = json.loads(zf.read("移交登记表.json"))
        sizes = [zf.getinfo(n).file_size for n in names if n.startswith("packages/")]
    assert "归档文件目录.xlsx" in names and "移交登记表.txt" in names
    assert register["件数"] == 2 and register["总字节数"] == sum(sizes)
    assert [e["档号"] for e in register["归档包"]] == codes


def test_openapi_describes_the_archive_routes(testapp):
    spec = testapp.get("/api/v1/openapi.json").json
    for path in ("/api/v1/items/{id}/dossier.pdf", "/api/v1/items/{id}/file", "/api/v1/items/{id}/package.zip",
                 "/api/v1/filing-list"):
        assert path in spec["paths"], path
    assert spec["paths"]["/api/v1/items/{id}/file"]["post"]["requestBody"]
