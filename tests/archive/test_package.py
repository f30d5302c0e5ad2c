"""The BagIt package and its 四性检测 report, as a receiving archive checks them."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import bagit
import transaction

from duban_archive.archive.filing import file_item
from duban_archive.archive.metadata import NS, VersionInfo
from duban_archive.content_types.site_access import open_site

from .conftest import OFFICER, make_photo, make_signed_pdf


def test_package_is_a_valid_bag_with_metadata_and_checks(app, closed_item, tmp_path):
    item_id = closed_item(photos=1, signed=1, signed_pages=2)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        rec = file_item(site, item, app.registry, retention="D30", actor="records_officer", principals=OFFICER)
        transaction.commit()
        code = rec.archival_code
        captured = {a.filename: (a.sha256, a.sm3) for a in item.attachments.values()}
        with rec.current.blob.open("r") as f:
            data = f.read()
    base = code.replace("·", ".")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path)
    assert all(n.isascii() for n in names)
    bag_dir = tmp_path / base
    bag = bagit.Bag(str(bag_dir))
    bag.validate()  # manifests, tagmanifest, Payload-Oxum
    assert bag.info["External-Identifier"] == code
    assert bag.info["Source-Organization"] and bag.info["Bagging-Date"] and bag.info["Payload-Oxum"]
    for tag in ("README.txt", "check-report.json", "check-report.txt", "manifest-sha256.txt",
                "tagmanifest-sha256.txt", "bag-info.txt"):
        assert (bag_dir / tag).exists(), tag
    assert "check-report.json" in (bag_dir / "tagmanifest-sha256.txt").read_text()
    originals = sorted((bag_dir / "data" / "originals").iterdir())
    assert [p.name for p in originals] == [f"{base}-01.jpg", f"{base}-02.pdf"]
    assert originals[0].read_bytes() == make_photo(orientation=6)
    assert originals[1].read_bytes() == make_signed_pdf(2, "SIGNED-REPORT-1")
    # DA/T 46 metadata: 文件实体 with the 档号 and SM3 digests, 机构人员实体, 业务实体 = history
    root = ET.parse(bag_dir / "data" / "metadata.xml").getroot()
    q = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    doc = root.find(q("文件实体"))
    assert doc.findtext(q("档号") + "/" + q("全文")) == code and doc.findtext(q("档号") + "/" + q("保管期限")) == "D30"
    desc = doc.find(q("内容描述"))
    assert desc.findtext(q("题名")) == "推进老旧小区改造" and desc.findtext(q("责任者")) == "市住建局"
    assert len(desc.findtext(q("日期"))) == 8 and desc.findtext(q("密级")) == "公开"
    form = doc.find(q("形式特征"))
    assert int(form.findtext(q("件数"))) == 3 and int(form.findtext(q("页数"))) > 5
    files = {f.find(q("原始文件名")).text: f for f in doc.find(q("电子属性"))}
    for name, (sha, sm3) in captured.items():
        digests = {d.get("算法"): d.text for d in files[name].findall(q("数字摘要"))}
        assert digests == {"SHA-256": sha, "SM3": sm3}
    assert root.find(q("机构人员实体")).find(q("机构")).text == "市住建局"
    acts = [b.find(q("业务行为名称")).text for b in root.find(q("业务实体"))]
    assert acts[:3] == ["创建", "审签", "交办"] and "办结" in acts and "反馈报告" in acts
    # 四性检测: every section present; no virus scanner here, so that check says it did not run, and the
    # conclusion is not 通过 (the default rules let a package without a configured scanner be filed)
    report = json.loads((bag_dir / "check-report.json").read_text("utf-8"))
    assert report["failed"] == [] and not report["blocked"]
    assert set(report["sections"]) == {"authenticity", "integrity", "usability", "security"}
    names_checked = {c["name"] for cs in report["sections"].values() for c in cs}
    assert {"PDF/A 标识", "字体全部嵌入", "未加密", "无 JavaScript 与自动动作", "件号连续无空号",
            "必备元数据项", "BagIt 校验"} <= names_checked
    virus = report["sections"]["security"][0]
    import shutil

    text = (bag_dir / "check-report.txt").read_text("utf-8")
    if shutil.which("clamscan") is None and shutil.which("clamdscan") is None:
        assert virus["passed"] is None and virus["status"] == "未检测" and "未配置病毒扫描程序" in virus["detail"]
        assert report["passed"] is False and report["conclusion"] == "部分未检测"
        assert "结论：部分未检测" in text and "结论：通过" not in text and "[未检测] 病毒检测" in text
    assert "四性检测报告" in text
    # the originals themselves were decoded (the photo, the signed PDF's pages)
    decoded = [c for c in report["sections"]["usability"] if c["id"] == "usability.original"]
    assert len(decoded) == 2 and all(c["passed"] is True for c in decoded), decoded


def test_package_renders_its_dossier_while_it_copies_and_digests_the_originals(app, closed_item):
    import hashlib

    import pytest

    from duban_archive.archive.dossier import render_dossier
    from duban_archive.archive.package import build_package
    from duban_archive.archive.render import RenderFailed

    item_id = closed_item(photos=2, signed=1, signed_pages=2)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        kw = {"archival_code": "Z109-WS·2026-D30-ZJJ-0001", "fonds": "Z109", "year": 2026, "retention": "D30",
              "unit_code": "ZJJ", "piece": 1, "piece_series": [], "version": VersionInfo(1),
              "source_organization": "市政府办公室",
              "embedded_expected": {a.filename: a.sha256 for a in item.attachments.values()
                                    if a.mimetype == "application/pdf"}}
        rendered: list[bytes] = []

        def render() -> bytes:
            rendered.append(render_dossier(site, item, app.registry))
            return rendered[-1]

        pkg = build_package(site, item, app.registry, dossier=render, **kw)
        assert not pkg.summary["blocked"] and pkg.dossier == rendered[0]
        with zipfile.ZipFile(io.BytesIO(pkg.data)) as zf:
            base = "Z109-WS.2026-D30-ZJJ-0001"
            assert zf.read(f"{base}/data/dossier.pdf") == pkg.dossier
            for f in pkg.files:  # the recorded digests are those of the files in the bag
                assert hashlib.sha256(zf.read(f"{base}/{f.path}")).hexdigest() == f.sha256
            originals = {a.filename: a for a in item.attachments.values()}
            for f in pkg.files[1:]:
                assert (f.sha256, f.sm3) == (originals[f.original_name].sha256, originals[f.original_name].sm3)
        # given the PDF itself, the same payload
        again = build_package(site, item, app.registry, dossier=pkg.dossier, **kw)
        assert [(f.path, f.sha256, f.sm3) for f in again.files] == [(f.path, f.sha256, f.sm3) for f in pkg.files]

        def broken() -> bytes:
            raise RenderFailed("排版失败：测试")

        with pytest.raises(RenderFailed) as info:  # the render's reason comes through
            build_package(site, item, app.registry, dossier=broken, **kw)
        assert info.value.message == "排版失败：测试"
