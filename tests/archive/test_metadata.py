"""DA/T 46 metadata and the event log as a receiving archive reads them: valid against our shipped XSD."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import transaction
from lxml import etree

from duban_archive.archive.filing import correct_metadata, file_item
from duban_archive.archive.metadata import NS
from duban_archive.archive.xsd import SCHEMA_FILE, validate
from duban_archive.content_types.actions import add_attachment
from duban_archive.content_types.site_access import open_site

from .conftest import OFFICER, PATH
from .signing import signed_pdf

FONDS_NAME = "某市人民政府督查室"
Q = {"m": NS}


def _file_and_unpack(app, item_id: str, tmp_path: Path, version: int | None = None) -> Path:
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        site.settings["fonds_name"] = FONDS_NAME
        if not item.archived:
            file_item(site, item, app.registry, retention="D30", actor="records_officer", principals=OFFICER)
            transaction.commit()
        rec = site["archive"][item_id]
        v = rec.versions[(version or len(rec.versions)) - 1]
        with v.blob.open("r") as f:
            data = f.read()
    out = tmp_path / f"v{v.version}"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(out)
    return next(out.iterdir())


def _xml(path: Path):
    data = path.read_bytes()
    assert validate(data) == [], validate(data)
    return etree.fromstring(data)


def _signed_item(app, closed_item) -> str:
    item_id = closed_item(photos=1, signed=0, close=False)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        add_attachment(site, item, io.BytesIO(signed_pdf()), "盖章报告-签名.pdf", "signed_report", "办结报告",
                       "handler", max_bytes=10 ** 8, registry=app.registry)
        wf = app.registry.duban_workflows[item.workflow]
        for name, actor, principals, data in PATH[3:]:
            wf.fire(item, name, actor, principals, data)
        transaction.commit()
    return item_id


def test_the_schema_ships_with_the_package_and_is_a_valid_xsd():
    assert SCHEMA_FILE.is_file()
    etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))  # raises on a broken schema
    assert validate(b"<x/>") != [] and validate(b"<broken") != []


def test_a_plain_item_has_every_element_the_system_knows(app, closed_item, tmp_path):
    import bagit

    item_id = closed_item(photos=1, signed=1, urgency="urgent")
    bag_dir = _file_and_unpack(app, item_id, tmp_path)
    root = _xml(bag_dir / "data" / "metadata.xml")
    doc = root.find("m:文件实体", Q)
    assert doc.findtext("m:聚合层次", namespaces=Q) == "件"
    assert doc.findtext("m:来源/m:立档单位名称", namespaces=Q) == FONDS_NAME
    assert bagit.Bag(str(bag_dir)).info["Source-Organization"] == FONDS_NAME  # the bag says the same 立档单位
    desc = doc.find("m:内容描述", Q)
    assert desc.findtext("m:紧急程度", namespaces=Q) == "紧急"
    assert desc.findtext("m:摘要", namespaces=Q) == "完成 3 个老旧小区改造"
    assert desc.find("m:主题词", Q) is None  # no keywords field: left out, never the 任务来源
    assert "区政府常务会议" not in etree.tostring(desc, encoding=str)
    assert desc.findtext("m:文种", namespaces=Q) and desc.findtext("m:密级", namespaces=Q) == "公开"
    assert desc.find("m:保密期限", Q) is None  # not secret: nothing true to say
    form = doc.find("m:形式特征", Q)
    assert form.findtext("m:文件组合类型", namespaces=Q) == "组合文件"
    assert form.findtext("m:语种", namespaces=Q) == "汉语"
    for tag in ("存储位置/m:当前位置", "权限管理/m:控制标识", "信息系统描述"):
        assert doc.findtext("m:" + tag, namespaces=Q)
    files = {f.findtext("m:原始文件名", namespaces=Q): f for f in doc.find("m:电子属性", Q)}
    fmt = {name: (f.findtext("m:格式信息/m:格式名称", namespaces=Q), f.findtext("m:格式信息/m:格式版本", namespaces=Q))
           for name, f in files.items()}
    assert fmt["dossier.pdf"][0] == "PDF/A-3B"
    assert fmt["现场照片1.jpg"][0] in ("JPEG/Exif", "JPEG/JFIF")
    assert fmt["盖章报告1.pdf"][0] == "PDF" and fmt["盖章报告1.pdf"][1]
    photo = files["现场照片1.jpg"]
    assert photo.findtext("m:数字化属性/m:扫描色彩模式", namespaces=Q) == "彩色"
    assert photo.findtext("m:数字化属性/m:数字化对象形态", namespaces=Q) == "640×480 像素"
    assert int(photo.findtext("m:计算机文件大小", namespaces=Q)) == (bag_dir / photo.findtext(
        "m:计算机文件名", namespaces=Q)).stat().st_size
    # 业务实体: the standard's 业务行为 from the history and the 反馈报告, with actors and times
    kinds = [b.findtext("m:行为类别", namespaces=Q) for b in root.find("m:业务实体", Q)]
    assert kinds[0] == "立项" and "交办" in kinds and kinds.count("反馈") == 2 and "办结" in kinds
    assert kinds[-1] == "归档"  # the filing this package was sealed for
    people = {p.get("账号") for p in root.find("m:机构人员实体", Q).findall("m:人员", Q)}
    assert {"supervisor", "leader", "handler", "records_officer"} <= people
    relation = root.find("m:实体关系/m:关系", Q)
    assert relation.get("类型") == "从属"
    # the event log: capture per original with its digests, render, 四性, filing, the seal
    log = _xml(bag_dir / "premis.xml")
    events = {e.get("类型") for e in log.findall("m:事件", Q)}
    assert {"采集", "格式识别", "渲染", "四性检测", "归档", "封包签名"} <= events
    capture = [e for e in log.findall("m:事件", Q) if e.get("类型") == "采集"]
    assert len(capture) == 2 and all(len(e.findall("m:数字摘要", Q)) == 2 for e in capture)
    order = [e.get("类型") for e in log.findall("m:事件", Q)]
    assert order.index("归档") > order.index("渲染") and order[-1] == "封包签名"  # in the order things happened
    agents = {a.get("标识"): a.get("类型") for a in log.findall("m:代理者", Q)}
    assert agents["user:records_officer"] == "人员" and agents["organization"] == "机构"


def test_a_signed_pdf_gives_the_electronic_signature_elements(app, closed_item, tmp_path):
    from duban_archive.archive import originals

    item_id = _signed_item(app, closed_item)
    with open_site(app.registry) as site:  # the capture-time check, as the background worker records it
        for att in site.get_item(item_id).attachments.values():
            originals.capture_checks(att, app.registry.settings)
        transaction.commit()
    bag_dir = _file_and_unpack(app, item_id, tmp_path)
    root = _xml(bag_dir / "data" / "metadata.xml")
    (signed,) = [f for f in root.iter(f"{{{NS}}}计算机文件")
                 if f.findtext("m:原始文件名", namespaces=Q) == "盖章报告-签名.pdf"]
    (sig,) = signed.findall("m:电子签名", Q)
    assert "adbe.pkcs7.detached" in sig.findtext("m:签名规则", namespaces=Q)
    assert "市住建局（测试签章）" in sig.findtext("m:签名人", namespaces=Q)
    assert sig.findtext("m:签名时间", namespaces=Q).startswith("20")
    assert sig.find("m:签名结果", Q).get("验证") == "有效" and len(sig.findtext("m:签名结果", namespaces=Q)) > 40
    assert "ecdsa" in sig.findtext("m:签名算法标识", namespaces=Q)
    assert "序列号" in sig.findtext("m:证书引证", namespaces=Q)
    # the certificate in 证书 is the one that signed the PDF
    import base64

    from asn1crypto import x509

    cert = x509.Certificate.load(base64.b64decode(sig.findtext("m:证书", namespaces=Q)))
    assert "市住建局（测试签章）" in cert.subject.human_friendly
    log = _xml(bag_dir / "premis.xml")
    checks = [e.findtext("m:详情", namespaces=Q) for e in log.findall("m:事件", Q) if e.get("类型") == "签名验证"]
    assert any(c.startswith("采集时") for c in checks) and any(c.startswith("归档时") for c in checks)


def test_a_hotline_ticket_keeps_its_own_fields(app, make_item, tmp_path):
    item_id = make_item("hotline", ticket_kind="complaint", lead_unit="zjj", caller="王先生",
                        caller_phone="13800000000")
    reg = app.registry
    steps = [("dispatch", "supervisor", {}), ("accept", "unit_head", {}),
             ("reply", "handler", {"reply": "已现场处理", "approved_by": "王科长"}),
             ("approve_reply", "supervisor", {}),
             ("close", "supervisor", {"satisfaction": "basically_satisfied", "grade": "B"})]
    from tests.workflows.helpers import who

    with open_site(reg) as site:
        item = site.get_item(item_id)
        wf = reg.duban_workflows[item.workflow]
        for name, user, data in steps:
            wf.fire(item, name, user, who(site, user), data, site=site)
        transaction.commit()
    bag_dir = _file_and_unpack(app, item_id, tmp_path)
    root = _xml(bag_dir / "data" / "metadata.xml")
    extras = {e.get("字段"): e.text for e in root.find("m:文件实体", Q).findall("m:扩展项", Q)}
    assert extras["caller"] == "王先生" and extras["ticket_kind"]
    kinds = [b.findtext("m:行为类别", namespaces=Q) for b in root.find("m:业务实体", Q)]
    assert kinds[0] == "立项" and "交办" in kinds and "反馈" in kinds and "办结" in kinds
    assert root.find("m:文件实体/m:形式特征/m:文件组合类型", Q).text == "单件"  # only the dossier
    _xml(bag_dir / "premis.xml")


def test_a_corrected_v2_replaces_v1_and_v1_is_marked_superseded(app, closed_item, tmp_path):
    item_id = closed_item(photos=1, signed=0)
    v1_dir = _file_and_unpack(app, item_id, tmp_path)
    with open_site(app.registry) as site:
        item = site.get_item(item_id)
        v1 = site["archive"][item_id].versions[0]
        v1_sha, v1_sm3 = v1.sha256, v1.sm3
        correct_metadata(site, item, app.registry, {"title": "推进老旧小区改造（更正）"}, reason="题名错字",
                         actor="records_officer")
        transaction.commit()
    v2_dir = _file_and_unpack(app, item_id, tmp_path)
    root = _xml(v2_dir / "data" / "metadata.xml")
    assert root.get("包版本") == "2"
    (replaces,) = [r for r in root.find("m:实体关系", Q) if r.get("类型") == "替代"]
    assert replaces.find("m:关系对象", Q).get("版本") == "1" and replaces.findtext("m:关系对象", namespaces=Q).endswith(
        "-v1.zip")
    assert {d.get("算法"): d.text for d in replaces.findall("m:对象数字摘要", Q)} == {"SHA-256": v1_sha, "SM3": v1_sm3}
    (fix,) = root.find("m:著录更正", Q)
    assert fix.findtext("m:原值", namespaces=Q) == "推进老旧小区改造"
    assert fix.findtext("m:新值", namespaces=Q) == "推进老旧小区改造（更正）"
    assert fix.findtext("m:原因", namespaces=Q) == "题名错字" and fix.find("m:项目", Q).get("字段") == "title"
    kinds = [b.findtext("m:行为类别", namespaces=Q) for b in root.find("m:业务实体", Q)]
    assert kinds.count("归档") == 1  # from the history now, not written twice
    log = _xml(v2_dir / "premis.xml")
    assert any(e.get("类型") == "著录更正" for e in log.findall("m:事件", Q))
    # v1 stays byte-identical; the archive record says it was superseded (被替代) by v2
    assert _xml(v1_dir / "data" / "metadata.xml").find("m:实体关系", Q).find("m:关系", Q).get("类型") == "从属"
    with open_site(app.registry) as site:
        rec = site["archive"][item_id]
        assert rec.versions[0].sha256 == v1_sha and rec.versions[0].superseded_by == 2
        assert rec.versions[1].superseded_by is None
