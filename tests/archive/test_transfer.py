"""移交与接收 (issue 13, deliverable 5): the register carries every field of the standard's form, its
检验 rows say honestly what was checked, the package proves itself, and a record goes once."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import bagit
import pytest
import transaction
from gmssl import func, sm3
from openpyxl import load_workbook

from duban_archive.archive.filing import file_item
from duban_archive.archive.transfer import (
    MANIFEST,
    MANIFEST_DIGESTS,
    REGISTER,
    cancel_transfer,
    create_transfer,
    transfer_of,
    transfer_schema,
    write_package,
)
from duban_archive.content_types.site_access import open_site
from duban_archive.errors import Refusal
from duban_archive.validation import validate

from .conftest import OFFICER

FAKE_SCANNER = Path(__file__).resolve().parents[1] / "fixtures" / "fake_clamscan.py"

FORM = {"title": "2026年度督查督办电子档案移交", "description": "2026 年度督查督办事项电子档案，永久与定期",
        "transferor_unit": "县委督查室", "receiver_unit": "县档案馆", "carrier": "optical",
        "carrier_spec": "DVD-R 4.7GB", "carrier_numbers": "GP-2026-001～GP-2026-002", "transferor": "王档案",
        "receiver": "李馆员", "reviewer": "赵主任", "transfer_date": "2026-12-04"}


def pdf_text(pdf: bytes) -> str:
    """The PDF's text in reading order, as poppler's pdftotext gives it (cell by cell, not laid out)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        return subprocess.run(["pdftotext", f.name, "-"], capture_output=True, check=True, text=True).stdout


def gm_sm3(data: bytes) -> str:
    """SM3 as gmssl computes it (not the code under test)."""
    return sm3.sm3_hash(func.bytes_to_list(data))


def file_with(app, item_id: str, retention: str, scanner: str) -> str:
    app.registry.settings["duban.virus_scanner"] = scanner
    try:
        with open_site(app.registry) as site:
            rec = file_item(site, site.get_item(item_id), app.registry, retention=retention,
                            actor="records_officer", principals=OFFICER)
            code = rec.archival_code
            transaction.commit()
    finally:
        app.registry.settings.pop("duban.virus_scanner", None)
    return code


def transfer(app, items: list[str], **changes) -> str:
    data = validate(transfer_schema(), {**FORM, **changes, "items": items})
    with open_site(app.registry) as site:
        t = create_transfer(site, data, actor="records_officer")
        tid = t.transfer_id
        transaction.commit()
    return tid


@pytest.fixture
def filed(app, closed_item):
    """Three filed records: D10 scanned clean, Y not scanned (未检测), Y scanned clean."""
    a = closed_item(photos=1, signed=1, signed_pages=1, title="城区道路改造", board="rcgl")
    b = closed_item(photos=0, signed=0, title="老旧小区改造")
    c = closed_item(photos=0, signed=0, title="背街小巷整治")
    clean = f"{sys.executable} {FAKE_SCANNER} --no-summary"
    codes = {a: file_with(app, a, "D10", clean), b: file_with(app, b, "Y", "off"), c: file_with(app, c, "Y", clean)}
    return codes


def test_register_pdf_and_xlsx_carry_every_field_and_honest_inspection(app, filed):
    ids = list(filed)
    tid = transfer(app, ids)
    with open_site(app.registry) as site:
        t = site["archive"].transfers.transfers[tid]
        with t.register_pdf.open("r") as f:
            pdf = f.read()
        with t.register_xlsx.open("r") as f:
            xlsx = f.read()
        sizes = sum(site["archive"][i].current.size for i in ids)
    text = pdf_text(pdf)
    flat = "".join(text.split())
    for needle in ("电子档案移交与接收登记表", "交接工作名称", FORM["title"], "内容描述", "移交电子档案数量",
                   "3件，0卷",
                   "移交数据量", f"{sizes}字节", "载体起止顺序号", "GP-2026-001～", "GP-2026-002", "移交载体类型、规格",
                   "光盘，DVD-R4.7GB", "检验内容", "移交单位：县委督查室", "接收单位：县档案馆", "准确性检验",
                   "完整性检验", "可用性检验", "安全性检验", "载体外观检验", "填表人（签名）", "王档案", "李馆员",
                   "审核人（签名）", "赵主任", "单位（印章）", "日期", "2026年12月4日", "归档/移交目录", tid):
        assert needle in flat, needle
    # 安全性: one record was filed without a virus scan -> 未检测 with the count, never 通过 for the row
    assert "未检测1件，通过2件" in flat
    assert f"安全性未检测：{filed[ids[1]]}" in flat
    # the 目录: grouped by 保管期限 (永久 before 定期10年), then 档号
    assert flat.index("保管期限：永久") < flat.index(filed[ids[2]]) < flat.index("保管期限：定期10年")
    assert flat.index(filed[ids[1]]) < flat.index("保管期限：定期10年") < flat.rindex(filed[ids[0]])

    wb = load_workbook(io.BytesIO(xlsx))
    reg = {row[0]: row[1:] for row in wb["登记表"].iter_rows(values_only=True) if row[0]}
    assert reg["交接工作名称"][0] == FORM["title"] and reg["内容描述"][0] == FORM["description"]
    assert reg["移交电子档案数量（件）"][0] == 3 and reg["移交电子档案数量（卷）"][0] == 0
    assert reg["移交数据量（字节）"][0] == sizes and reg["移交数据量（MB）"][0] == round(sizes / 1048576, 2)
    assert reg["载体起止顺序号"][0] == FORM["carrier_numbers"] and reg["移交载体类型"][0] == "光盘"
    assert reg["移交载体规格"][0] == "DVD-R 4.7GB"
    assert reg["检验内容"] == ("移交单位：县委督查室", "接收单位：县档案馆")
    assert reg["安全性检验"][0].startswith("未检测 1 件，通过 2 件") and not reg["安全性检验"][1]
    assert reg["完整性检验"][0].startswith("通过（3 件）")
    assert reg["填表人（签名）"] == ("王档案", "李馆员") and reg["审核人（签名）"][0] == "赵主任"
    assert reg["单位（印章）"] == ("县委督查室", "县档案馆") and reg["日期"][0] == "2026 年 12 月 4 日"
    cat = list(wb["移交目录"].iter_rows(min_row=3, values_only=True))
    assert [r[1] for r in cat] == [filed[ids[1]], filed[ids[2]], filed[ids[0]]]
    assert [r[6] for r in cat] == ["永久", "永久", "定期10年"]
    with open_site(app.registry) as site:
        for row in cat:
            rec = site["archive"].get(next(i for i, c in filed.items() if c == row[1]))
            assert (row[9], row[10], row[11]) == (rec.current.size, rec.current.sha256, rec.current.sm3)


def test_a_record_never_checked_makes_every_row_say_untested(app, filed):
    """A package sealed before the 四性检测 existed has no report: nothing of it may read 通过."""
    ids = list(filed)
    with open_site(app.registry) as site:
        site["archive"][ids[2]].current.checks = {}
        transaction.commit()
    tid = transfer(app, ids)
    with open_site(app.registry) as site:
        rows = {r["title"]: r for r in site["archive"].transfers.transfers[tid].inspection}
    for title in ("准确性检验", "完整性检验", "可用性检验", "安全性检验"):
        assert rows[title]["result"] == "未检测" and rows[title]["unchecked"] >= 1, rows[title]
        assert "通过（" not in rows[title]["transferor"]
    assert rows["完整性检验"]["transferor"] == "未检测 1 件，通过 2 件"


def test_package_manifest_recomputes_and_every_bagit_package_validates(app, filed, tmp_path):
    ids = list(filed)
    tid = transfer(app, ids)
    with open_site(app.registry) as site:
        t = site["archive"].transfers.transfers[tid]
        first, second = io.BytesIO(), io.BytesIO()
        write_package(site, t, first)
        write_package(site, t, second)
    data = first.getvalue()
    assert data == second.getvalue()  # every download is the same bytes
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        manifest = zf.read(MANIFEST)
        lines = [ln.split("\t") for ln in manifest.decode("utf-8").splitlines() if not ln.startswith("#")]
        listed = {path for path, *_ in lines}
        assert listed == set(names) - {MANIFEST, MANIFEST_DIGESTS}
        assert f"{REGISTER}.pdf" in listed and f"{REGISTER}.xlsx" in listed
        for path, size, sha, sm in lines:
            body = zf.read(path)
            assert len(body) == int(size) and hashlib.sha256(body).hexdigest() == sha and gm_sm3(body) == sm, path
        own = dict(ln.split("\t")[:2] for ln in zf.read(MANIFEST_DIGESTS).decode("utf-8").splitlines()
                   if not ln.startswith("#"))
        assert own == {"SHA-256": hashlib.sha256(manifest).hexdigest(), "SM3": gm_sm3(manifest)}
        packages = [n for n in names if n.startswith("packages/")]
        assert len(packages) == 3
        for n in packages:
            target = tmp_path / Path(n).stem
            with zipfile.ZipFile(io.BytesIO(zf.read(n))) as inner:
                inner.extractall(target)
            (bag_dir,) = [p for p in target.iterdir() if p.is_dir()] or [target]
            bag = bagit.Bag(str(bag_dir if (bag_dir / "bagit.txt").exists() else target))
            bag.validate()  # raises on any difference


def test_a_record_goes_once_unless_its_transfer_was_cancelled(app, filed):
    ids = list(filed)
    first = transfer(app, ids[:2])
    with open_site(app.registry) as site:
        assert transfer_of(site, ids[0]).transfer_id == first
        assert transfer_of(site, ids[2]) is None
        (entry,) = [e for e in site["audit"] if e["action"] == "transfer"]
        assert entry["transfer"] == first and entry["receiver_unit"] == "县档案馆" and entry["count"] == 2
    with pytest.raises(Refusal) as refused:
        transfer(app, ids[1:])
    assert refused.value.status == 409 and filed[ids[1]] in refused.value.message
    assert "不能重复移交" in refused.value.message
    with open_site(app.registry) as site:  # the refusal wrote nothing: the third record is still free
        assert transfer_of(site, ids[2]) is None
        assert len(site["archive"].transfers.transfers) == 1
    with open_site(app.registry) as site:
        with pytest.raises(Refusal) as no_reason:
            cancel_transfer(site, first, actor="records_officer", reason=" ")
        assert no_reason.value.fields == {"reason": "必填"}
        cancel_transfer(site, first, actor="records_officer", reason="档案馆退回：光盘无法读取")
        transaction.commit()
    second = transfer(app, ids[1:], transfer_date="2026-12-05")
    assert second != first
    with open_site(app.registry) as site:
        assert transfer_of(site, ids[1]).transfer_id == second and transfer_of(site, ids[0]) is None
        assert site["archive"].transfers.transfers[first].state == "cancelled"


def test_the_form_is_checked_field_by_field_in_chinese():
    with pytest.raises(Refusal) as exc:
        validate(transfer_schema(), {**FORM, "title": "", "carrier": "tape", "items": [], "transfer_date": "x"})
    fields = exc.value.fields
    assert fields["title"] == "请填写交接工作名称" and "光盘" in fields["carrier"] and "至少选择" in fields["items"]
    assert "transfer_date" in fields
    with pytest.raises(Refusal) as exc:
        validate(transfer_schema(), {**FORM, "carrier_numbers": "", "reviewer": FORM["transferor"], "items": ["x"]})
    assert exc.value.fields == {"carrier_numbers": "光盘移交须填写载体起止顺序号",
                                "reviewer": "审核人不能与移交人为同一人"}
    ok = validate(transfer_schema(), {**FORM, "carrier": "online", "carrier_numbers": "", "items": ["x"]})
    assert ok["transfer_date"] == date(2026, 12, 4)


def test_a_package_whose_bytes_changed_is_not_transferred(app, filed):
    """Before the register is made every package is re-hashed: a rotten one stops the transfer."""
    ids = list(filed)
    with open_site(app.registry) as site:
        path = Path(site["archive"][ids[1]].current.blob.committed())
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the stored zip
    path.write_bytes(bytes(data))
    with pytest.raises(Refusal) as refused:
        transfer(app, ids)
    assert refused.value.status == 409 and refused.value.code == "fixity_failed"
    assert filed[ids[1]] in refused.value.message and filed[ids[0]] not in refused.value.message
    with open_site(app.registry) as site:
        assert all(transfer_of(site, i) is None for i in ids)
        assert registry_of_len(site) == 0


def registry_of_len(site) -> int:
    reg = getattr(site["archive"], "transfers", None)
    return 0 if reg is None else len(reg.transfers)
