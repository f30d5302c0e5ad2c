"""DA/T 48-2009 电子文件封装包 (EEP) of a filed item: one signed XML holding metadata and originals.

Why beside the BagIt package: DA/T 48 is what Chinese archives' receiving
systems take in; the EEP carries the same things (the DA/T 46 metadata of the
package version and every payload file, base64) in the standard's layout:
封装包格式描述, 版本, 被签名对象 (封装包类型, 创建时间, 创建单位, 封装内容),
电子签名块 (an SM2 signature of the canonical XML of 被签名对象) and 锁定签名
(an SM2 signature over 被签名对象 and the 电子签名块 together, so no signature
can be added or removed unnoticed).  It is built on demand from a sealed
package version, so it always says what the package says; :func:`verify_eep`
checks both signatures and every file's digests against the metadata.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from typing import Any

from lxml import etree

from . import signing
from .metadata import NS

FORMAT = "本封装包依据 DA/T 48-2009《基于XML的电子文件封装规范》生成，文件以 Base64 编码封装"
VERSION = "2009"
RULE = ("SM2 数字签名（GB/T 32918），SM3 摘要（GB/T 32905），签名者标识 1234567812345678；"
        "被签名数据为所签元素的 XML 规范化（C14N 1.0，不含注释）字节")
#: reading metadata.xml into the EEP: its indentation dropped, so the EEP is compact
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True)
#: reading an EEP to verify it: every byte kept as it is
_STRICT = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _sub(parent, tag: str, text: Any = None, **attrs: Any):
    el = etree.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = str(text)
    return el


def _c14n(*elements) -> bytes:
    return b"".join(etree.tostring(el, method="c14n", exclusive=False, with_comments=False) for el in elements)


def _signature(parent, tag: str, key: signing.KeyPair, data: bytes, *, signer: str, signed_at: str, **attrs):
    sig = signing.sign(key, data)
    el = _sub(parent, tag, **attrs)
    _sub(el, "签名规则", RULE)
    _sub(el, "签名时间", signed_at)
    _sub(el, "签名人", signer)
    _sub(el, "签名结果", base64.b64encode(signing.der(sig)).decode("ascii"))
    certs = _sub(el, "证书块")
    _sub(certs, "证书", key.pem().strip())
    _sub(certs, "证书引证", f"SM2 公钥（立档单位自有密钥，非 CA 证书），SM3 指纹 {key.fingerprint}")
    _sub(el, "签名算法标识", f"{signing.ALGORITHM_OID}（{signing.ALGORITHM}）")
    return el


def build_eep(package: bytes, key: signing.KeyPair, *, version: int, fonds_name: str, created_at: str) -> bytes:
    """The EEP of one sealed package version (its zip bytes)."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        names = zf.namelist()
        base = names[0].split("/", 1)[0]
        metadata = etree.fromstring(zf.read(f"{base}/data/metadata.xml"), _PARSER)
        payload = sorted(n for n in names if n.startswith(f"{base}/data/") and not n.endswith("/")
                         and n != f"{base}/data/metadata.xml")
        root = etree.Element("电子文件封装包")
        _sub(root, "封装包格式描述", FORMAT)
        _sub(root, "版本", VERSION)
        signed = _sub(root, "被签名对象", eep版本=VERSION)
        _sub(signed, "封装包类型", "原始型" if version == 1 else "修改型")
        _sub(signed, "封装包类型描述", "归档时形成的原始封装包" if version == 1
             else f"著录更正后形成的第 {version} 版，替代第 {version - 1} 版（原版本保留）")
        _sub(signed, "封装包创建时间", created_at)
        _sub(signed, "封装包创建单位", fonds_name)
        content = _sub(signed, "封装内容")
        block = _sub(content, "文件实体块")
        block.append(metadata)
        data = _sub(block, "文件数据")
        for n, name in enumerate(payload, 1):
            raw = zf.read(name)
            rel = name.removeprefix(f"{base}/")
            doc = _sub(data, "文档", 文档标识符=f"doc-{n}")
            part = _sub(doc, "文档数据", 文档数据ID=f"data-{n}")
            code = _sub(part, "编码", 编码ID=f"code-{n}")
            _sub(code, "计算机文件名", rel)
            _sub(code, "计算机文件大小", len(raw))
            _sub(code, "数字摘要", hashlib.sha256(raw).hexdigest(), 算法="SHA-256")
            _sub(code, "编码描述", "“编码数据”为计算机文件二进制流的 Base64 编码")
            _sub(code, "反编码关键字", "base64")
            _sub(code, "编码数据", base64.b64encode(raw).decode("ascii"))
    block_sigs = _sub(root, "电子签名块")
    _signature(block_sigs, "电子签名", key, _c14n(signed), signer=fonds_name, signed_at=created_at, 签名ID="sig-1")
    _signature(root, "锁定签名", key, _c14n(signed, block_sigs), signer=fonds_name, signed_at=created_at,
               被锁定签名ID="sig-1")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _signature_ok(el, public_hex: str, data: bytes) -> bool:
    from asn1crypto.algos import DSASignature

    try:
        sig = DSASignature.load(base64.b64decode(el.findtext("签名结果") or ""))
        hex_sig = f"{sig['r'].native:064x}{sig['s'].native:064x}"
    except (ValueError, TypeError):
        return False
    return signing.verify(public_hex, data, hex_sig)


def verify_eep(xml_bytes: bytes, public_hex: str | None = None) -> list[tuple[str, bool, str]]:
    """(check name, passed, detail) for an EEP: structure, both signatures, every file's digests."""
    out: list[tuple[str, bool, str]] = []
    try:
        root = etree.fromstring(xml_bytes, _STRICT)
    except etree.XMLSyntaxError as exc:
        return [("封装包可解析", False, str(exc)[:200])]
    parts = [root.find(t) for t in ("封装包格式描述", "版本", "被签名对象", "电子签名块", "锁定签名")]
    ok = root.tag == "电子文件封装包" and all(p is not None for p in parts)
    ok = ok and parts[3].find("电子签名") is not None
    out.append(("封装包结构（DA/T 48）", ok, "齐全" if ok else "缺少必备元素（封装包格式描述、版本、被签名对象、"
                "电子签名块及其中的电子签名、锁定签名）"))
    if not ok:
        return out
    from .xsd import EEP_SCHEMA_FILE, validate

    problems = validate(xml_bytes, EEP_SCHEMA_FILE)
    out.append(("封装包符合 XML Schema（eep.xsd）", not problems, "符合" if not problems else "；".join(problems[:3])))
    signed, block, lock = parts[2], parts[3], parts[4]
    sig = block.find("电子签名")
    embedded = ""
    try:
        embedded = signing.parse_public(sig.findtext("证书块/证书") or "")
    except signing.KeyError_:
        pass
    key = public_hex or embedded
    if public_hex and embedded != public_hex:
        out.append(("签名公钥与提供的公钥一致", False, "封装包所用公钥与提供的公钥不同"))
    out.append(("电子签名（被签名对象）", _signature_ok(sig, key, _c14n(signed)), "SM2/SM3"))
    out.append(("锁定签名（被签名对象 + 电子签名块）", _signature_ok(lock, key, _c14n(signed, block)), "SM2/SM3"))
    recorded = {}
    for f in signed.iter(f"{{{NS}}}计算机文件"):
        recorded[f.findtext(f"{{{NS}}}计算机文件名")] = {d.get("算法"): d.text for d in f.findall(f"{{{NS}}}数字摘要")}
    wrong = []
    for code in signed.iter("编码"):
        raw = base64.b64decode(code.findtext("编码数据") or "")
        name = code.findtext("计算机文件名") or ""
        want = recorded.get(name, {}).get("SHA-256") or code.findtext("数字摘要")
        if hashlib.sha256(raw).hexdigest() != want:
            wrong.append(name)
    out.append(("封装文件与元数据摘要一致", not wrong, "一致" if not wrong else "不一致：" + "、".join(wrong)))
    return out
