"""The self-proving package: SM2-signed tag manifests, verified by anyone holding the site's public key."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import bagit
import pytest
import transaction

from duban_archive.archive import signing
from duban_archive.archive.filing import file_item
from duban_archive.archive.package import zip_dir
from duban_archive.archive.verify import SIGNATURE_FILE, seal, verify_package, write_sm3_manifest
from duban_archive.content_types.site_access import open_site

from .conftest import OFFICER


@pytest.fixture
def package(app, closed_item) -> bytes:
    item_id = closed_item(photos=1, signed=1)
    with open_site(app.registry) as site:
        rec = file_item(site, site.get_item(item_id), app.registry, retention="D30", actor="records_officer",
                        principals=OFFICER)
        transaction.commit()
        with rec.current.blob.open("r") as f:
            return f.read()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("duban-archive")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    return subprocess.run([str(exe), "verify-package", *args], capture_output=True, text=True, timeout=120, env=env)


def _unpack(data: bytes, tmp_path: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(tmp_path / "bag")
    return next((tmp_path / "bag").iterdir())


def _rezip(bag_dir: Path) -> bytes:
    return zip_dir(bag_dir, bag_dir.name)


def _tamper_dossier(bag_dir: Path) -> None:
    """Change the dossier, then recompute the manifests with bagit, as a forger would."""
    dossier = bag_dir / "data" / "dossier.pdf"
    dossier.write_bytes(dossier.read_bytes() + b"\n% appended by a forger\n")
    bag = bagit.Bag(str(bag_dir))
    bag.save(manifests=True)
    bagit.Bag(str(bag_dir)).validate()  # bagit alone is satisfied: that is why the package is signed


def test_a_sealed_package_verifies_with_the_site_public_key(app, package, tmp_path):
    key = signing.registry_key(app.registry)
    pem = tmp_path / "site.pem"
    pem.write_text(key.pem(), "ascii")
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    done = _cli(str(path), "--public-key", str(pem))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "四性检测报告" in done.stdout and "[通过] 立档单位 SM2 签名（标签清单）" in done.stdout
    assert "[通过] 内容文件 SM3 摘要逐一重算（manifest-sm3.txt）" in done.stdout
    assert "[通过] DA/T 46 元数据符合 XML Schema" in done.stdout and key.fingerprint in done.stdout
    # the hex key works as well as the PEM, and the key file is private to the site
    assert verify_package(package, key.public_hex)["failed"] == []
    key_file = Path(app.registry.settings["duban.var_dir"]) / signing.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key.private_hex not in package.decode("latin-1")
    # without a key the bytes are proved unchanged, and the report says the origin was not checked
    summary = verify_package(package)
    assert summary["failed"] == [] and "包内公钥" in summary["key"]


def test_a_changed_dossier_with_recomputed_manifests_fails(app, package, tmp_path):
    key = signing.registry_key(app.registry)
    bag_dir = _unpack(package, tmp_path)
    _tamper_dossier(bag_dir)
    forged = tmp_path / "forged.zip"
    forged.write_bytes(_rezip(bag_dir))
    done = _cli(str(forged), "--public-key", key.public_hex)
    assert done.returncode == 1
    assert "结论：不通过" in done.stdout
    assert "[不通过] 立档单位 SM2 签名（标签清单）" in done.stdout
    assert "[不通过] 内容文件 SM3 摘要逐一重算（manifest-sm3.txt）" in done.stdout
    assert "[不通过] 元数据中的数字摘要与文件一致" in done.stdout
    assert "[通过] BagIt 校验（bagit）" in done.stdout  # bagit alone is fooled


def test_recomputing_every_manifest_and_resigning_with_another_key_fails(app, package, tmp_path):
    site_key = signing.registry_key(app.registry)
    bag_dir = _unpack(package, tmp_path)
    _tamper_dossier(bag_dir)
    write_sm3_manifest(bag_dir, {})
    (bag_dir / SIGNATURE_FILE).unlink()
    bagit.Bag(str(bag_dir)).save(manifests=True)
    forger = signing.generate()
    seal(bag_dir, forger, signer="伪造者", signed_at="2026-01-01T00:00:00+08:00")
    forged = _rezip(bag_dir)
    summary = verify_package(forged, site_key.public_hex)
    assert summary["conclusion"] == "不通过"
    assert any("包内签名所用公钥与提供的公钥不同" in f for f in summary["failed"])
    assert any("立档单位 SM2 签名" in f for f in summary["failed"])
    # with the forger's own key the signature holds: only the published key proves the origin (and the
    # metadata.xml the forger left alone still records the dossier's real digests)
    own = verify_package(forged, forger.public_hex)
    signature = [c for c in own["sections"]["authenticity"] if c["id"] == "authenticity.package_signature"]
    assert signature[0]["passed"] is True
    assert own["failed"] == ["真实性：元数据中的数字摘要与文件一致（不一致：data/dossier.pdf）"]


def test_a_removed_signature_fails(package, tmp_path):
    bag_dir = _unpack(package, tmp_path)
    (bag_dir / SIGNATURE_FILE).unlink()
    summary = verify_package(_rezip(bag_dir))
    assert summary["conclusion"] == "不通过"
    assert any("缺少签名文件" in f for f in summary["failed"])


def test_the_wrong_public_key_fails(package, tmp_path):
    other = signing.generate()
    pem = tmp_path / "other.pem"
    pem.write_text(other.pem(), "ascii")
    path = tmp_path / "package.zip"
    path.write_bytes(package)
    done = _cli(str(path), "--public-key", str(pem))
    assert done.returncode == 1 and "签名无效" in done.stdout and "不是该立档单位封包" in done.stdout


def test_a_changed_tag_file_fails_even_when_bagit_is_rerun(app, package, tmp_path):
    bag_dir = _unpack(package, tmp_path)
    report = bag_dir / "check-report.txt"
    report.write_text(report.read_text("utf-8").replace("结论：部分未检测", "结论：通过"), "utf-8")
    bagit.Bag(str(bag_dir)).save()  # tagmanifest-sha256 recomputed
    summary = verify_package(_rezip(bag_dir), signing.registry_key(app.registry).public_hex)
    assert summary["conclusion"] == "不通过"
    assert any("标签文件 SM3" in f for f in summary["failed"]) and any("SM2 签名" in f for f in summary["failed"])


def test_bad_input_is_a_line_not_a_traceback(tmp_path):
    path = tmp_path / "not-a-zip.zip"
    path.write_bytes(b"hello")
    done = _cli(str(path))
    assert done.returncode == 1 and "归档包可解包" in done.stdout and "Traceback" not in done.stderr
    done = _cli(str(path), "--public-key", "zz-not-a-key")
    assert done.returncode == 2 and "公钥无法读取" in done.stderr
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../escape.txt", "x")
    assert "路径不安全" in verify_package(evil.getvalue())["failed"][0]


def test_the_public_key_round_trips_through_pem_and_hex():
    key = signing.generate()
    assert signing.parse_public(key.pem()) == key.public_hex
    assert signing.parse_public("04" + key.public_hex) == key.public_hex
    sig = signing.sign(key, b"data")
    assert signing.verify(key.public_hex, b"data", sig) and not signing.verify(key.public_hex, b"dat4", sig)
    with pytest.raises(signing.KeyError_):
        signing.parse_public("abcd")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_package_signature_with_the_published_pem(app, package, tmp_path):
    """A tool nobody here wrote (OpenSSL 3, SM2 with SM3 and the standard's default signer id) agrees."""
    import base64
    import json

    bag_dir = _unpack(package, tmp_path)
    body = json.loads((bag_dir / SIGNATURE_FILE).read_text("utf-8"))
    message = b"".join(n.encode() + b"\n" + (bag_dir / n).read_bytes() for n in body["signed_files"])
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig.der").write_bytes(base64.b64decode(body["signature_der_base64"]))
    pem = tmp_path / "site.pem"
    pem.write_text(signing.registry_key(app.registry).pem(), "ascii")
    assert (bag_dir / "sm2-public-key.pem").read_text("ascii") == pem.read_text("ascii")
    args = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin", "-digest", "sm3",
            "-pkeyopt", "distid:1234567812345678", "-sigfile", str(tmp_path / "sig.der")]
    ok = subprocess.run([*args, "-in", str(tmp_path / "msg")], capture_output=True, text=True)
    assert ok.returncode == 0 and "Verified Successfully" in ok.stdout
    (tmp_path / "msg").write_bytes(message.replace(b"manifest-sm3.txt", b"manifest-sm3.txX", 1))
    bad = subprocess.run([*args, "-in", str(tmp_path / "msg")], capture_output=True, text=True)
    assert bad.returncode != 0
