"""DA/T 48 电子文件封装包 (EEP) beside the BagIt package, the published public key, 替代/被替代 shown."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import transaction
from lxml import etree

from duban_archive.archive import signing
from duban_archive.archive.eep import verify_eep
from duban_archive.archive.filing import correct_metadata, file_item
from duban_archive.archive.metadata import NS
from duban_archive.content_types.site_access import open_site
from duban_archive.testing import api, login

from .conftest import OFFICER


def _filed(app, closed_item) -> str:
    item_id = closed_item(photos=1, signed=1)
    with open_site(app.registry) as site:
        site.settings["fonds_name"] = "某市人民政府督查室"
        file_item(site, site.get_item(item_id), app.registry, retention="D30", actor="records_officer",
                  principals=OFFICER)
        transaction.commit()
    return item_id


def _package(app, item_id: str, version: int = 1) -> bytes:
    with open_site(app.registry) as site:
        with site["archive"][item_id].versions[version - 1].blob.open("r") as f:
            return f.read()


def test_the_eep_holds_metadata_and_originals_and_both_signatures_verify(app, testapp, closed_item, tmp_path):
    item_id = _filed(app, closed_item)
    officer = api(testapp, "records_officer")
    res = officer.get(f"/api/v1/items/{item_id}/eep.xml")
    assert res.content_type == "application/xml" and "eep.xml" in res.headers["Content-Disposition"]
    root = etree.fromstring(res.body)
    assert root.tag == "电子文件封装包"
    assert [c.tag for c in root] == ["封装包格式描述", "版本", "被签名对象", "电子签名块", "锁定签名"]
    assert "DA/T 48" in root.findtext("封装包格式描述") and root.findtext("版本") == "2009"
    signed = root.find("被签名对象")
    assert signed.findtext("封装包类型") == "原始型" and signed.findtext("封装包创建单位") == "某市人民政府督查室"
    block = signed.find("封装内容/文件实体块")
    metadata = block.find(f"{{{NS}}}电子文件元数据")
    assert metadata is not None and metadata.findtext(f"{{{NS}}}文件实体/{{{NS}}}档号/{{{NS}}}全文")
    # every payload file of the package, byte for byte, base64
    with zipfile.ZipFile(io.BytesIO(_package(app, item_id))) as zf:
        base = zf.namelist()[0].split("/")[0]
        expected = {n.removeprefix(f"{base}/"): zf.read(n) for n in zf.namelist()
                    if n.startswith(f"{base}/data/") and not n.endswith("metadata.xml")}
    got = {c.findtext("计算机文件名"): base64.b64decode(c.findtext("编码数据")) for c in block.iter("编码")}
    assert got == expected and all(c.findtext("反编码关键字") == "base64" for c in block.iter("编码"))
    sig = root.find("电子签名块/电子签名")
    assert sig.get("签名ID") == root.find("锁定签名").get("被锁定签名ID")
    for el in (sig, root.find("锁定签名")):
        assert "SM2" in el.findtext("签名规则") and el.findtext("签名人") == "某市人民政府督查室"
        assert el.findtext("签名算法标识").startswith(signing.ALGORITHM_OID)
        assert "BEGIN PUBLIC KEY" in el.findtext("证书块/证书")
    from duban_archive.archive.xsd import EEP_SCHEMA_FILE, validate

    assert validate(res.body, EEP_SCHEMA_FILE) == []  # the shipped eep.xsd, which imports our namespace's
    key = signing.registry_key(app.registry)
    found = verify_eep(res.body, key.public_hex)
    assert all(ok for _name, ok, _detail in found) and "封装包符合 XML Schema（eep.xsd）" in [n for n, _o, _d in found]
    # the CLI verifies an EEP as it verifies a package
    path = tmp_path / "eep.xml"
    path.write_bytes(res.body)
    exe = Path(sys.executable).with_name("duban-archive")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([str(exe), "verify-package", str(path), "--public-key", key.public_hex],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0 and "[通过] 锁定签名" in done.stdout, done.stdout + done.stderr


def test_a_changed_eep_or_a_wrong_key_fails(app, testapp, closed_item):
    item_id = _filed(app, closed_item)
    data = api(testapp, "records_officer").get(f"/api/v1/items/{item_id}/eep.xml").body
    key = signing.registry_key(app.registry)
    root = etree.fromstring(data)
    code = next(root.iter("编码"))
    code.find("编码数据").text = base64.b64encode(b"forged").decode()
    results = {name: ok for name, ok, _ in verify_eep(etree.tostring(root, encoding="utf-8"), key.public_hex)}
    assert results["电子签名（被签名对象）"] is False and results["锁定签名（被签名对象 + 电子签名块）"] is False
    assert results["封装文件与元数据摘要一致"] is False
    # a signature taken away: the lock breaks
    root = etree.fromstring(data)
    removed = root.find("电子签名块/电子签名")
    root.find("电子签名块").remove(removed)
    results = {name: ok for name, ok, _ in verify_eep(etree.tostring(root, encoding="utf-8"), key.public_hex)}
    assert results["封装包结构（DA/T 48）"] is False
    root.find("电子签名块").append(removed)
    assert all(ok for _n, ok, _d in verify_eep(etree.tostring(root, encoding="utf-8"), key.public_hex))
    # a signature element edited after locking: the signature itself holds, the lock does not
    sig = root.find("电子签名块/电子签名")
    sig.find("签名时间").text = "2020-01-01T00:00:00+08:00"
    results = {name: ok for name, ok, _ in verify_eep(etree.tostring(root, encoding="utf-8"), key.public_hex)}
    assert results["电子签名（被签名对象）"] is True and results["锁定签名（被签名对象 + 电子签名块）"] is False
    other = signing.generate()
    results = {name: ok for name, ok, _ in verify_eep(data, other.public_hex)}
    assert results["签名公钥与提供的公钥一致"] is False and results["电子签名（被签名对象）"] is False


def test_the_public_key_is_published_without_login(app, testapp):
    key = signing.registry_key(app.registry)
    pem = testapp.get("/api/v1/archive/public-key")
    assert pem.content_type == "application/x-pem-file" and pem.text == key.pem()
    assert signing.parse_public(pem.text) == key.public_hex
    info = testapp.get("/api/v1/archive/public-key?format=json").json
    assert info["public_key"] == key.public_hex and info["fingerprint_sm3"] == key.fingerprint
    assert info["algorithm"] == "SM2-with-SM3"
    bad = testapp.get("/api/v1/archive/public-key?format=der", status=400).json
    assert bad["fields"] == {"format": "应为 pem 或 json"}


def test_versions_show_replacement_and_the_pages_link_eep_and_key(app, testapp, closed_item):
    item_id = _filed(app, closed_item)
    with open_site(app.registry) as site:
        correct_metadata(site, site.get_item(item_id), app.registry, {"title": "推进老旧小区改造（更正）"},
                         reason="题名错字", actor="records_officer")
        transaction.commit()
    officer = api(testapp, "records_officer")
    versions = officer.get(f"/api/v1/items/{item_id}").json["package_versions"]
    assert [(v["version"], v["superseded_by"]) for v in versions] == [(1, 2), (2, None)]
    assert versions[0]["relation"] == "被第 2 版替代"
    v2 = etree.fromstring(officer.get(f"/api/v1/items/{item_id}/eep.xml").body)
    assert v2.findtext("被签名对象/封装包类型") == "修改型"
    v1 = etree.fromstring(officer.get(f"/api/v1/items/{item_id}/eep.xml?version=1").body)
    assert v1.findtext("被签名对象/封装包类型") == "原始型"
    login(testapp, "records_officer")
    archive = testapp.get("/archive/")
    assert 'href="/api/v1/archive/public-key"' in archive.text and f"/api/v1/items/{item_id}/eep.xml" in archive.text
    assert signing.registry_key(app.registry).fingerprint in archive.text  # to compare the key by eye
    page = testapp.get(f"/boards/zdgz/{item_id}")
    assert f"/api/v1/items/{item_id}/eep.xml?version=1" in page.text and "被第 2 版替代" in page.text
    # the download is audited like the package's
    with open_site(app.registry) as site:
        from duban_archive.audit.log import audit_log

        entries = [e for e in audit_log(site).for_target(item_id) if e.get("action") == "download"]
        assert any(e.get("what") == "eep" for e in entries)


def test_an_item_not_filed_has_no_eep(app, testapp, closed_item):
    item_id = closed_item(photos=0, signed=0)
    res = api(testapp, "records_officer").get(f"/api/v1/items/{item_id}/eep.xml", status=409)
    assert "尚未归档" in res.json["message"]
