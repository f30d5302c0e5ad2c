"""DA/T 46-2009 metadata (文件实体, 机构人员实体, 业务实体, 实体关系) as ``data/metadata.xml``.

Element names are the standard's Chinese names, in our namespace :data:`NS`,
whose XML Schema ships in ``xsd/duban-archive.xsd`` (the tests validate every
variant against it).  Only what the system knows is written: an element with
nothing true to say is left out (主题词 without a keywords field, 保密期限 of a
non-secret item) rather than filled with something else.  ElementTree escapes
every value, so user text cannot break the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from .dossier import Names, closed_on, fmt
from .rules import RETENTIONS

NS = "urn:duban-archive:xmlns:archive:1"
XSD = "xsd/duban-archive.xsd"
SYSTEM = "督查督办档案系统（duban_archive，Pyramid + ZODB，PDF/A-3B 案卷，BagIt 归档包）"
#: elements (paths under 文件实体) integrity checking requires to be present and non-empty
REQUIRED = {"档号": "档号/全文", "题名": "内容描述/题名", "责任者": "内容描述/责任者", "日期": "内容描述/日期",
            "保管期限": "档号/保管期限", "密级": "内容描述/密级", "件数": "形式特征/件数", "页数": "形式特征/页数",
            "立档单位名称": "来源/立档单位名称"}
#: item fields written into 内容描述 and the like; every other filled type field is an 扩展项
MAPPED = {"title", "content", "lead_unit", "urgency", "classification", "keywords", "registered_on"}
#: history transitions -> the DA/T 46 业务行为 they are
ACTIONS = {"": "立项", "assign": "交办", "dispatch": "交办", "deploy": "交办", "reply": "反馈", "report": "反馈",
           "close": "办结", "file": "归档"}


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
    #: ``format`` (:func:`.formats.identify`), ``signatures`` (:func:`.originals.signatures` details)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class VersionInfo:
    """What a package version says about its place among versions (替代/被替代)."""

    version: int = 1
    package_name: str = ""
    replaces: dict[str, Any] | None = None  # {version, sha256, sm3, package_name, created}
    corrections: list[dict[str, Any]] = field(default_factory=list)


def date8(value) -> str:
    return value.strftime("%Y%m%d") if value is not None else ""


def _put(parent, tag: str, text: Any = None, **attrs: Any):
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items() if v not in (None, "")})
    if text is not None:
        el.text = str(text)
    return el


def _choice(item, registry, name: str) -> str:
    typedef = registry.duban_types[item.type_name]
    fdef = typedef.field_map.get(name)
    value = getattr(item, name, None)
    if fdef is None or value in (None, ""):
        return ""
    return {c.value: c.title for c in fdef.choices}.get(value, str(value))


def build_metadata(site, item, registry, *, archival_code: str, fonds: str, fonds_name: str, year: int,
                   retention: str, unit_code: str, piece: int, pages: int, files: list[PayloadFile],
                   version: VersionInfo, category: str = "WS", filed: dict[str, Any] | None = None) -> bytes:
    """``filed`` (``{time, actor, code}``): the filing this package is sealed for — version 1 is sealed
    before the ``file`` transition is in the history, and its 归档 业务行为 is written from it."""
    names = Names(site, item, registry)
    typedef = registry.duban_types[item.type_name]
    root = ET.Element("电子文件元数据", {"xmlns": NS, "标准": "DA/T 46-2009", "包版本": str(version.version)})
    doc = ET.SubElement(root, "文件实体")
    _put(doc, "聚合层次", "件")
    source = _put(doc, "来源")
    _put(source, "全宗名称", fonds_name)
    _put(source, "立档单位名称", fonds_name)
    _put(doc, "电子文件号", item.item_id)
    code = _put(doc, "档号")
    _put(code, "全文", archival_code)
    _put(code, "全宗号", fonds)
    _put(code, "门类", category)
    _put(code, "年度", year)
    _put(code, "保管期限", retention, 名称=RETENTIONS.get(retention, ""))
    _put(code, "机构或问题", unit_code)
    _put(code, "室编件号", piece)

    content = _put(doc, "内容描述")
    _put(content, "题名", item.title)
    keywords = getattr(item, "keywords", None) if "keywords" in typedef.field_map else None
    if keywords:
        _put(content, "主题词", fmt(keywords))
    if getattr(item, "content", None):
        _put(content, "摘要", item.content)
    _put(content, "文件编号", item.number)
    _put(content, "责任者", names.unit(getattr(item, "lead_unit", None)))
    closed = closed_on(item)
    _put(content, "日期", date8(closed.date() if closed else getattr(item, "registered_on", None)))
    _put(content, "文种", f"{typedef.title}办理文件")
    urgency = _choice(item, registry, "urgency")
    if urgency:
        _put(content, "紧急程度", urgency)
    _put(content, "密级", _choice(item, registry, "classification") or "公开")
    secrecy = getattr(item, "secrecy_period", None)
    if secrecy:
        _put(content, "保密期限", secrecy)

    form = _put(doc, "形式特征")
    _put(form, "文件组合类型", "组合文件" if len(files) > 1 else "单件")
    _put(form, "件数", len(files))
    _put(form, "页数", pages)
    _put(form, "语种", "汉语")

    place = _put(doc, "存储位置")
    _put(place, "当前位置", f"{fonds_name} 督查督办档案系统 档案室 · 归档包 {version.package_name}")
    rights = _put(doc, "权限管理")
    open_ = (getattr(item, "classification", None) or "public") == "public"
    _put(rights, "控制标识", "开放" if open_ else "控制（内部）")
    _put(rights, "授权对象", "档案员、主办单位及督查室有查看权限的人员；审计员查阅逐次记入审计日志")
    _put(rights, "授权行为", "查阅、下载；归档后不得修改，著录更正生成新版本")
    _put(doc, "信息系统描述", SYSTEM)

    elec = _put(doc, "电子属性")
    for n, f in enumerate(files, 1):
        _file(elec, n, f)

    extras = [(fdef, getattr(item, fdef.name, None)) for fdef in typedef.fields
              if fdef.name not in MAPPED and getattr(item, fdef.name, None) not in (None, "", (), [])]
    for fdef, value in extras:
        titles = {c.value: c.title for c in fdef.choices}
        if fdef.kind == "unit":
            text = names.unit(value)
        elif fdef.kind == "units":
            text = "、".join(names.unit(u) for u in (value or ()))
        elif isinstance(value, tuple | list | set | frozenset):
            text = "、".join(str(titles.get(v, v)) for v in value)
        else:
            text = str(titles.get(value, fmt(value)))
        _put(doc, "扩展项", text, 字段=fdef.name, 名称=fdef.title)

    filing = filed if filed and not any(e.get("transition") == "file" for e in item.history) else None
    _people(root, site, item, names, filing)
    _business(root, site, item, names, filing)
    _relations(root, archival_code, version)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _file(parent, n: int, f: PayloadFile) -> None:
    el = _put(parent, "计算机文件", 序号=n)
    _put(el, "计算机文件名", f.path)
    _put(el, "原始文件名", f.original_name)
    _put(el, "题名", f.title)
    _put(el, "类别", f.kind)
    found = f.extra.get("format") or {}
    info = _put(el, "格式信息")
    _put(info, "格式名称", found.get("name") or f.mimetype or "未知格式")
    if found.get("version"):
        _put(info, "格式版本", found["version"])
    _put(info, "MIME类型", f.mimetype)
    if found.get("by"):
        _put(info, "识别方法", found["by"])
    _put(el, "计算机文件大小", f.size, 单位="字节")
    _put(el, "数字摘要", f.sha256, 算法="SHA-256")
    _put(el, "数字摘要", f.sm3, 算法="SM3")
    digitization = {k: v for k, v in (found.get("digitization") or {}).items() if not k.startswith("_")}
    if digitization:
        dig = _put(el, "数字化属性")
        for tag in ("数字化对象形态", "扫描分辨率", "扫描色彩模式", "图像压缩方案", "数字化设备信息", "数字化时间"):
            if digitization.get(tag):
                _put(dig, tag, digitization[tag])
    for sig in f.extra.get("signatures") or ():
        s = _put(el, "电子签名")
        _put(s, "签名规则", sig.get("rule", ""))
        if sig.get("time"):
            _put(s, "签名时间", sig["time"])
        _put(s, "签名人", sig.get("signer", ""))
        _put(s, "签名结果", sig.get("result", ""), 验证=sig.get("status", ""))
        if sig.get("certificate"):
            _put(s, "证书", sig["certificate"], 编码="DER-Base64")
        if sig.get("reference"):
            _put(s, "证书引证", sig["reference"])
        _put(s, "签名算法标识", sig.get("algorithm", ""))


def _people(root, site, item, names: Names, filing: dict[str, Any] | None) -> None:
    people = _put(root, "机构人员实体")
    units = site.get("units")
    for uid in item.units:
        unit = units.get(uid) if units is not None else None
        _put(people, "机构", names.unit(uid), 机构代码=getattr(unit, "code", ""),
             角色="主办" if uid == getattr(item, "lead_unit", None) else "协办")
    actors = {e.get("actor") for e in item.history if e.get("actor")}
    actors |= {getattr(r, "author", None) for r in item.feedback.values()} - {None}
    if filing and filing.get("actor"):
        actors.add(filing["actor"])
    users = site.get("users")
    for actor in sorted(actors):
        user = users.get(actor) if users is not None else None
        _put(people, "人员", getattr(user, "title", actor), 账号=actor,
             所属机构=names.unit(getattr(user, "unit", None)) if user is not None else "")


def _business(root, site, item, names: Names, filing: dict[str, Any] | None) -> None:
    """业务行为 from the history (立项, 交办, 办结, 归档 …) and the 反馈报告, in time order."""
    business = _put(root, "业务实体")
    rows: list[tuple[Any, str, str, str, str, str]] = []
    for entry in item.history:
        transition = entry.get("transition") or ""
        rows.append((entry.get("time"), ACTIONS.get(transition, "办理"), names.state(entry.get("to")),
                     entry.get("title") or transition, entry.get("actor") or "",
                     entry.get("comment") or names.fields(transition, entry.get("fields") or {})))
    for report in item.feedback.values():
        rows.append((getattr(report, "created", None), "反馈", "", "反馈报告", getattr(report, "author", "") or "",
                     fmt(getattr(report, "progress", "") or getattr(report, "done", "") or "")))
    rows.sort(key=lambda r: (r[0] is None, r[0].isoformat() if r[0] is not None else ""))  # stable: ties keep order
    if filing:  # the filing comes after everything it files
        rows.append((filing.get("time"), "归档", "", "立卷归档", filing.get("actor") or "",
                     f"立卷归档，档号 {filing.get('code', '')}"))
    for n, (when, action, state, title, actor, text) in enumerate(rows, 1):
        el = _put(business, "业务行为", 序号=n)
        _put(el, "行为类别", action)
        _put(el, "业务行为名称", title)
        if state:
            _put(el, "业务状态", state)
        _put(el, "行为时间", fmt(when))
        _put(el, "行为责任者", names.user(actor))
        _put(el, "行为描述", text)


def _relations(root, archival_code: str, version: VersionInfo) -> None:
    rel = _put(root, "实体关系")
    r = _put(rel, "关系", 类型="从属")
    _put(r, "关系描述", f"本件由 {archival_code} 事项办理过程中形成的文件组成（业务实体—文件实体—机构人员实体）")
    if version.replaces:
        old = version.replaces
        r = _put(rel, "关系", 类型="替代")
        _put(r, "关系对象", old.get("package_name", ""), 版本=old.get("version", ""))
        _put(r, "对象数字摘要", old.get("sha256", ""), 算法="SHA-256")
        _put(r, "对象数字摘要", old.get("sm3", ""), 算法="SM3")
        _put(r, "关系描述", f"第 {version.version} 版替代第 {old.get('version')} 版（著录更正），原版本保留不变")
    if version.corrections:
        fixes = _put(root, "著录更正")
        for c in version.corrections:
            el = _put(fixes, "更正", 版本=c.get("version", ""))
            _put(el, "项目", c.get("title") or c.get("field", ""), 字段=c.get("field", ""))
            _put(el, "原值", fmt(c.get("old")) if c.get("old") not in (None, "") else "")
            _put(el, "新值", fmt(c.get("new")))
            _put(el, "原因", c.get("reason", ""))
            _put(el, "更正时间", fmt(c.get("time")))
            _put(el, "经办人", c.get("actor", ""))


def missing_required(xml_bytes: bytes) -> list[str]:
    root = ET.fromstring(xml_bytes)
    doc = root.find(f"{{{NS}}}文件实体")
    if doc is None:
        return ["文件实体"]
    out = []
    for label, path in REQUIRED.items():
        el = doc.find("/".join(f"{{{NS}}}{part}" for part in path.split("/")))
        if el is None or not (el.text or "").strip():
            out.append(label)
    return out
