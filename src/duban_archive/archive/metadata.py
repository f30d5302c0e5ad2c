"""DA/T 46-2009 metadata (文件实体, 机构人员实体, 业务实体) as ``data/metadata.xml``.

Element names are the standard's Chinese names; ElementTree escapes every
value, so user text cannot break the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from .dossier import Names, closed_on, fmt
from .rules import RETENTIONS

NS = "urn:duban-archive:metadata:da-t-46-2009"
#: elements integrity checking requires to be present and non-empty
REQUIRED = ("档号", "题名", "责任者", "日期", "保管期限", "密级", "件数", "页数")


@dataclass
class PayloadFile:
    """One file of the package's payload, as metadata and checks see it."""

    path: str               # inside the bag, e.g. data/originals/Z109-WS.2026-Y-ZJJ-0001-01.pdf
    original_name: str      # the uploader's (Chinese) file name
    title: str
    kind: str
    mimetype: str
    size: int
    sha256: str
    sm3: str
    capture_sha256: str = ""  # the digests taken when the file was uploaded
    capture_sm3: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def date8(value) -> str:
    return value.strftime("%Y%m%d") if value is not None else ""


def build_metadata(site, item, registry, *, archival_code: str, fonds: str, year: int, retention: str,
                   unit_code: str, piece: int, pages: int, files: list[PayloadFile], version: int) -> bytes:
    names = Names(site, item, registry)
    root = ET.Element("电子文件元数据", {"xmlns": NS, "标准": "DA/T 46-2009", "版本": str(version)})
    doc = ET.SubElement(root, "文件实体")

    def put(parent, tag, text, **attrs):
        el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
        el.text = "" if text is None else str(text)
        return el

    put(doc, "聚合层次", "件")
    code = ET.SubElement(doc, "档号")
    code.text = archival_code
    put(doc, "全宗号", fonds)
    put(doc, "门类", "文书")
    put(doc, "年度", year)
    put(doc, "保管期限", retention, 名称=RETENTIONS.get(retention, ""))
    put(doc, "机构或问题", unit_code)
    put(doc, "件号", piece)
    put(doc, "题名", item.title)
    put(doc, "文件编号", item.number)
    put(doc, "责任者", names.unit(getattr(item, "lead_unit", None)))
    closed = closed_on(item)
    put(doc, "日期", date8(closed.date() if closed else getattr(item, "registered_on", None)))
    classification = getattr(item, "classification", None) or "public"
    put(doc, "密级", {"public": "公开", "internal": "内部"}.get(classification, classification))
    put(doc, "件数", len(files))
    put(doc, "页数", pages)
    put(doc, "主题词", getattr(item, "source", "") or "")
    elec = ET.SubElement(doc, "电子属性")
    for n, f in enumerate(files, 1):
        el = ET.SubElement(elec, "计算机文件", {"序号": str(n)})
        put(el, "计算机文件名", f.path)
        put(el, "原始文件名", f.original_name)
        put(el, "题名", f.title)
        put(el, "类别", f.kind)
        put(el, "格式信息", f.mimetype)
        put(el, "计算机文件大小", f.size, 单位="字节")
        put(el, "数字摘要", f.sha256, 算法="SHA-256")
        put(el, "数字摘要", f.sm3, 算法="SM3")
    people = ET.SubElement(root, "机构人员实体")
    unit_ids = [u for u in item.units]
    for uid in unit_ids:
        unit = site["units"].get(uid) if "units" in site else None
        put(people, "机构", names.unit(uid), 机构代码=getattr(unit, "code", ""),
            角色="主办" if uid == getattr(item, "lead_unit", None) else "协办")
    actors = sorted({e.get("actor") for e in item.history if e.get("actor")})
    users = site.get("users")
    for actor in actors:
        user = users.get(actor) if users is not None else None
        put(people, "人员", getattr(user, "title", actor), 账号=actor,
            所属机构=names.unit(getattr(user, "unit", None)) if user is not None else "")
    business = ET.SubElement(root, "业务实体")
    for n, entry in enumerate(item.history, 1):
        el = ET.SubElement(business, "业务行为", {"序号": str(n)})
        put(el, "业务状态", names.state(entry.get("to")))
        put(el, "业务行为名称", entry.get("title") or entry.get("transition") or "")
        put(el, "行为时间", fmt(entry.get("time")))
        put(el, "行为责任者", names.user(entry.get("actor")))
        put(el, "行为描述", entry.get("comment") or fmt(entry.get("fields") or {}))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def missing_required(xml_bytes: bytes) -> list[str]:
    root = ET.fromstring(xml_bytes)
    doc = root.find(f"{{{NS}}}文件实体")
    if doc is None:
        return ["文件实体"]
    out = []
    for tag in REQUIRED:
        el = doc.find(f"{{{NS}}}{tag}")
        if el is None or not (el.text or "").strip():
            out.append(tag)
    return out
