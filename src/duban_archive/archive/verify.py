"""Sealing a bag with SM2 and verifying a package without the site: ``duban-archive verify-package``.

Sealing (:func:`write_sm3_manifest`, :func:`seal`): bagit writes SHA-256
manifests; we add ``manifest-sm3.txt`` and ``tagmanifest-sm3.txt`` and sign
both tag manifests with the site's SM2 key (``signature-sm2.json``).  The tag
manifests cover every other tag file (bag-info, the SM3 payload manifest,
the 四性 report, ``premis.xml``, the public key), so one signature covers the
whole package.

Verifying (:func:`verify_package`) needs nothing but the zip and, to prove
who sealed it, the site's public key: bagit's own validation, then every
SHA-256 and SM3 digest recomputed here, the signature, the metadata and event
log against the shipped XML Schema, the metadata's digests against the files,
and the dossier's PDF/A identification.  The answer is a 四性检测 report
(:func:`.checks.summarize`): any tampering makes it 「不通过」.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tempfile
import threading
import zipfile
from pathlib import Path
from typing import Any

from . import signing
from .checks import check, file_digests, summarize

#: ``bagit`` changes the process's working directory while it works: every call into it holds this
#: lock (the web server runs several threads); :mod:`.package` uses it too
BAGIT_LOCK = threading.Lock()
SIGNATURE_FILE = "signature-sm2.json"
PUBLIC_KEY_FILE = "sm2-public-key.pem"
TAG_MANIFESTS = ("tagmanifest-sha256.txt", "tagmanifest-sm3.txt")
#: a package bigger than this (unpacked) is not verified here
MAX_UNPACKED = 8 * 1024 ** 3


def _lines(manifest: Path) -> list[tuple[str, str]]:
    out = []
    for line in manifest.read_text("utf-8").splitlines():
        if line.strip():
            digest, _, name = line.partition(" ")
            out.append((digest.strip().lower(), name.strip()))
    return out


def write_sm3_manifest(bag_dir: Path, known: dict[str, str]) -> None:
    """``manifest-sm3.txt`` of every payload file (``known``: path -> SM3 already computed)."""
    rows = []
    for path in sorted(p for p in (bag_dir / "data").rglob("*") if p.is_file()):
        rel = path.relative_to(bag_dir).as_posix()
        rows.append(f"{known.get(rel) or file_digests(path)[1]}  {rel}\n")
    (bag_dir / "manifest-sm3.txt").write_text("".join(rows), "utf-8")


def _signed_message(bag_dir: Path) -> bytes:
    return b"".join(name.encode() + b"\n" + (bag_dir / name).read_bytes() for name in TAG_MANIFESTS)


def seal(bag_dir: Path, key: signing.KeyPair, *, signer: str, signed_at: str) -> None:
    """After bagit's last save: ``tagmanifest-sm3.txt`` (the same files as bagit's), then the SM2 signature."""
    names = [name for _digest, name in _lines(bag_dir / "tagmanifest-sha256.txt")]
    (bag_dir / "tagmanifest-sm3.txt").write_text(
        "".join(f"{file_digests(bag_dir / n)[1]}  {n}\n" for n in names), "utf-8")
    signature = signing.sign(key, _signed_message(bag_dir))
    body = {"algorithm": signing.ALGORITHM, "algorithm_oid": signing.ALGORITHM_OID, "signer_id": signing.SIGNER_ID,
            "signer": signer, "signed_at": signed_at, "signed_files": list(TAG_MANIFESTS),
            "message": "每个被签名文件依次为：文件名 + 换行 + 文件内容",
            "public_key": key.public_hex, "public_key_sm3": key.fingerprint,
            "signature": signature,
            "signature_der_base64": base64.b64encode(signing.der(signature)).decode("ascii"),
            "openssl": "openssl pkeyutl -verify -pubin -inkey sm2-public-key.pem -rawin -digest sm3 "
                       "-pkeyopt distid:1234567812345678 -sigfile 签名.der -in 被签名消息"}
    (bag_dir / SIGNATURE_FILE).write_text(json.dumps(body, ensure_ascii=False, indent=2), "utf-8")


# -- verifying ---------------------------------------------------------------------------------

def unpack(data: bytes, into: Path) -> Path:
    """The bag directory of a package zip; refuses paths that leave ``into`` and zip bombs."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        total = 0
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.filename.startswith("/") or ".." in parts:
                raise ValueError(f"包内路径不安全：{info.filename}")
            total += info.file_size
        if total > MAX_UNPACKED:
            raise ValueError("包解压后过大")
        zf.extractall(into)
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise ValueError("包内应只有一个顶层目录")
    return tops[0]


def verify_package(data: bytes, public_key: str | None = None) -> dict[str, Any]:
    """Verify a package zip; ``public_key`` (x||y hex) is the key it must be signed with.

    Without one, the key inside the package is used: the bytes are proved unchanged since
    sealing, not who sealed them (the report says so).  Returns the 四性 summary plus
    ``archival_code`` and ``key`` (the key used and where it came from).
    """
    with tempfile.TemporaryDirectory(prefix="duban-verify-") as tmp:
        try:
            bag_dir = unpack(data, Path(tmp))
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            report = {"authenticity": [], "integrity": [check("integrity.package", "归档包可解包", False, str(exc))],
                      "usability": [], "security": []}
            return {**summarize(report), "archival_code": "", "key": ""}
        return _verify_dir(bag_dir, public_key)


def verify_eep_report(data: bytes, public_key: str | None = None) -> dict[str, Any]:
    """A DA/T 48 EEP (``eep.xml``) verified, as a 四性 summary like :func:`verify_package`'s."""
    from .eep import verify_eep

    found = verify_eep(data, public_key)
    authenticity = [check("authenticity.eep", name, ok, detail) for name, ok, detail in found]
    note = "使用提供的公钥" if public_key else "使用封装包内公钥（请用 --public-key 核对立档单位公布的公钥）"
    report = {"authenticity": authenticity, "integrity": [], "usability": [],
              "security": [check("security.virus", "病毒检测", None, "未检测：校验封装包时不做病毒扫描")]}
    return {**summarize(report), "archival_code": "", "key": note}


def _verify_dir(bag_dir: Path, public_key: str | None) -> dict[str, Any]:
    import bagit

    integrity: list[dict[str, Any]] = []
    authenticity: list[dict[str, Any]] = []
    usability: list[dict[str, Any]] = []
    with BAGIT_LOCK:  # bagit changes the working directory
        try:
            bag = bagit.Bag(str(bag_dir))
            bag.validate(fast=False)
            integrity.append(check("integrity.bagit", "BagIt 校验（bagit）", True, "清单与文件一致"))
            code = str(bag.info.get("External-Identifier", ""))
        except bagit.BagError as exc:
            integrity.append(check("integrity.bagit", "BagIt 校验（bagit）", False, str(exc)[:300]))
            code = ""
    payload = {p.relative_to(bag_dir).as_posix() for p in (bag_dir / "data").rglob("*") if p.is_file()} \
        if (bag_dir / "data").is_dir() else set()
    actual: dict[str, tuple[str, str]] = {}

    def digests(rel: str) -> tuple[str, str] | None:
        path = bag_dir / rel
        if not path.is_file() or path.is_symlink():
            return None
        if rel not in actual:
            actual[rel] = file_digests(path)
        return actual[rel]

    for manifest, alg, index, covers in (("manifest-sha256.txt", "SHA-256", 0, payload),
                                         ("manifest-sm3.txt", "SM3", 1, payload),
                                         ("tagmanifest-sha256.txt", "SHA-256", 0, None),
                                         ("tagmanifest-sm3.txt", "SM3", 1, None)):
        what = "标签文件" if manifest.startswith("tag") else "内容文件"
        name = f"{what} {alg} 摘要逐一重算（{manifest}）"
        if not (bag_dir / manifest).is_file():
            integrity.append(check("integrity.manifest", name, False, f"缺少 {manifest}"))
            continue
        entries = _lines(bag_dir / manifest)
        wrong = [rel for digest, rel in entries if (digests(rel) or ("", ""))[index] != digest]
        unlisted = sorted(covers - {rel for _d, rel in entries}) if covers is not None else []
        ok = not wrong and not unlisted and bool(entries)
        problems = [("摘要不符或缺失：" + "、".join(wrong[:5])) if wrong else "",
                    ("未列入清单：" + "、".join(unlisted[:5])) if unlisted else ""]
        detail = f"{len(entries)} 个文件一致" if ok else "；".join(filter(None, problems)) or "清单为空"
        integrity.append(check("integrity.manifest", name, ok, detail))
    key_note = _signature(bag_dir, public_key, authenticity)
    _schemas(bag_dir, integrity)
    _metadata_digests(bag_dir, digests, authenticity)
    dossier = bag_dir / "data" / "dossier.pdf"
    if dossier.is_file():
        from .checks import usability as pdf_usability

        found, _embedded, _pages = pdf_usability(dossier.read_bytes())
        usability += found
    else:
        usability.append(check("usability.dossier", "档案 PDF", False, "缺少 data/dossier.pdf"))
    report = {"authenticity": authenticity, "integrity": integrity, "usability": usability,
              "security": [check("security.virus", "病毒检测", None, "未检测：校验归档包时不做病毒扫描")]}
    return {**summarize(report), "archival_code": code, "key": key_note}


def _signature(bag_dir: Path, public_key: str | None, out: list[dict[str, Any]]) -> str:
    name = "立档单位 SM2 签名（标签清单）"
    path = bag_dir / SIGNATURE_FILE
    if not path.is_file():
        out.append(check("authenticity.package_signature", name, False, f"缺少签名文件 {SIGNATURE_FILE}"))
        return ""
    try:
        body = json.loads(path.read_text("utf-8"))
        embedded = signing.parse_public(str(body.get("public_key", "")))
        signature = str(body.get("signature", ""))
        message = _signed_message(bag_dir)
    except (ValueError, OSError, signing.KeyError_) as exc:
        out.append(check("authenticity.package_signature", name, False, f"签名文件无法读取：{exc}"[:300]))
        return ""
    if public_key:
        key, note = public_key, "使用提供的公钥"
        if embedded != public_key:
            out.append(check("authenticity.package_signer", "签名公钥与提供的公钥一致", False,
                             "包内签名所用公钥与提供的公钥不同：不是该立档单位封包"))
    else:
        key, note = embedded, "使用包内公钥（只证明封包后未被改动；请用 --public-key 核对立档单位公布的公钥）"
    ok = signing.verify(key, message, signature)
    out.append(check("authenticity.package_signature", name, ok,
                     f"签名有效（{body.get('signer', '')}，{body.get('signed_at', '')}）；{note}" if ok
                     else f"签名无效：标签清单在签名后被改动，或签名者不是该公钥的持有者；{note}"))
    fingerprint = signing.KeyPair("", key).fingerprint
    return f"{note}；公钥 SM3 指纹 {fingerprint}"


def _schemas(bag_dir: Path, out: list[dict[str, Any]]) -> None:
    from .xsd import validate

    for rel, label in (("data/metadata.xml", "DA/T 46 元数据符合 XML Schema"),
                       ("premis.xml", "事件日志符合 XML Schema")):
        path = bag_dir / rel
        if not path.is_file():
            out.append(check("integrity.metadata", label, False, f"缺少 {rel}"))
            continue
        problems = validate(path.read_bytes())
        out.append(check("integrity.metadata", label, not problems,
                         "符合" if not problems else "；".join(problems[:3])))


def _metadata_digests(bag_dir: Path, digests, out: list[dict[str, Any]]) -> None:
    """The 数字摘要 that metadata.xml records for each file equal the file's bytes."""
    import xml.etree.ElementTree as ET

    from .metadata import NS

    path = bag_dir / "data" / "metadata.xml"
    if not path.is_file():
        return
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError as exc:
        out.append(check("authenticity.metadata_digest", "元数据中的数字摘要与文件一致", False,
                         f"元数据无法解析：{exc}"))
        return
    wrong, count = [], 0
    for f in root.iter(f"{{{NS}}}计算机文件"):
        rel = f.findtext(f"{{{NS}}}计算机文件名") or ""
        found = digests(rel)
        for d in f.findall(f"{{{NS}}}数字摘要"):
            count += 1
            index = {"SHA-256": 0, "SM3": 1}.get(d.get("算法", ""), -1)
            if found is None or index < 0 or found[index] != (d.text or "").strip().lower():
                wrong.append(rel)
    ok = not wrong and count > 0
    out.append(check("authenticity.metadata_digest", "元数据中的数字摘要与文件一致", ok,
                     f"{count} 个摘要一致" if ok else "不一致：" + "、".join(sorted(set(wrong))[:5]) or "无摘要"))


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
