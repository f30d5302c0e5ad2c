"""The 归档文件目录 keeps one list per 保管期限 (DA/T 22): 永久 before 定期, 档号 order inside, 序号 from 1."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from duban_archive.testing import api

from .helpers import pdf_text


def test_the_filing_list_is_grouped_by_retention_then_archival_code(app, testapp, closed_item):
    officer = api(testapp, "records_officer")
    codes = {}
    for n, retention in enumerate(("D10", "Y", "D30", "Y")):
        item_id = closed_item(photos=0, signed=0, title=f"目录事项{n}")
        codes[n] = officer.post(f"/api/v1/items/{item_id}/file", {"retention": retention}).json["archival_code"]
    expected = [codes[1], codes[3], codes[2], codes[0]]  # 永久 (by 档号), 定期30年, 定期10年
    table = officer.get("/api/v1/filing-list?format=json").json
    assert [r["档号"] for r in table] == expected
    assert [(r["保管期限"], r["序号"]) for r in table] == [("永久", 1), ("永久", 2), ("定期30年", 1), ("定期10年", 1)]
    wb = load_workbook(io.BytesIO(officer.get("/api/v1/filing-list?format=xlsx").body))
    assert wb.sheetnames == ["永久", "定期30年", "定期10年"]
    sheets = {name: list(wb[name].iter_rows(values_only=True)) for name in wb.sheetnames}
    assert sheets["永久"][0][0].endswith("（永久）") and sheets["永久"][1][1] == "档号"
    assert [r[1] for r in sheets["永久"][2:]] == expected[:2] and [r[0] for r in sheets["永久"][2:]] == [1, 2]
    assert [r[1] for r in sheets["定期10年"][2:]] == [codes[0]]
    text = "".join(pdf_text(officer.get("/api/v1/filing-list?format=pdf").body).split())
    positions = [text.index(x) for x in ("保管期限：永久", codes[1], codes[3], "保管期限：定期30年", codes[2],
                                         "保管期限：定期10年", codes[0])]
    assert positions == sorted(positions)
