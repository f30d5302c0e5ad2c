"""A PREMIS-like event log (``premis.xml``, a tag file of the bag): what happened to this package's files.

Why: the digests prove the bytes; the log says who captured each original and
when, what was checked at capture and at filing (signatures, decoding,
format), how the dossier was rendered, what the 四性检测 concluded, who filed
and who corrected — the provenance an Archivematica AIP carries in its METS,
here in our namespace (elements in ``xsd/duban-archive.xsd``).  Built from
plain data only, so it cannot disagree with the record it describes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from ..timeutil import isoformat
from .checks import SECTIONS, STATUS, conclusion_of
from .metadata import NS, SYSTEM, PayloadFile

OUTCOME = {True: "成功", False: "失败", None: "未检测"}


@dataclass
class Event:
    kind: str           # 采集, 签名验证, 解码检测, 格式识别, 渲染, 四性检测, 归档, 著录更正, 封包签名
    time: str
    outcome: str
    detail: str
    agent: str          # an agent id (see :class:`Log`)
    role: str = "执行者"
    objects: list[str] = field(default_factory=list)
    digests: list[tuple[str, str]] = field(default_factory=list)  # (algorithm, value)


class Log:
    """Events and the agents they name; :meth:`xml` writes them."""

    def __init__(self, archival_code: str, version: int) -> None:
        self.archival_code = archival_code
        self.version = version
        self.agents: dict[str, tuple[str, str]] = {"system": ("软件", SYSTEM)}
        self.events: list[Event] = []

    def person(self, username: str, title: str) -> str:
        key = f"user:{username}"
        self.agents.setdefault(key, ("人员", f"{title}（{username}）" if title and title != username else username))
        return key

    def organization(self, name: str) -> str:
        self.agents.setdefault("organization", ("机构", name))
        return "organization"

    def add(self, event: Event) -> None:
        self.events.append(event)

    def xml(self) -> bytes:
        root = ET.Element("事件日志", {"xmlns": NS, "档号": self.archival_code, "包版本": str(self.version)})
        for key, (kind, name) in self.agents.items():
            ET.SubElement(root, "代理者", {"标识": key, "类型": kind}).text = name
        ordered = sorted(self.events, key=lambda e: e.time)
        for n, e in enumerate(ordered, 1):
            el = ET.SubElement(root, "事件", {"标识": f"event-{n}", "类型": e.kind})
            ET.SubElement(el, "时间").text = e.time
            ET.SubElement(el, "结果").text = e.outcome
            ET.SubElement(el, "详情").text = e.detail
            for obj in e.objects:
                ET.SubElement(el, "对象").text = obj
            for alg, value in e.digests:
                ET.SubElement(el, "数字摘要", {"算法": alg}).text = value
            ET.SubElement(el, "代理者引用", {"角色": e.role}).text = e.agent
        ET.indent(root)
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _user(log: Log, site, username: str | None) -> str:
    if not username:
        return "system"
    users = site.get("users")
    user = users.get(username) if users is not None else None
    return log.person(username, getattr(user, "title", username))


def build_log(site, item, *, archival_code: str, version: int, fonds_name: str, files: list[PayloadFile],
              attachments: list[Any], summary: dict[str, Any], checked_at: str, rendered_at: str,
              filed: dict[str, Any], corrections: list[dict[str, Any]], sealed_at: str) -> bytes:
    """The event log of one package version.

    ``attachments`` are the item's attachments in payload order (``files[1:]`` are their copies);
    ``filed`` is ``{"time", "actor", "code"}``; ``corrections`` the record's corrections up to now.
    """
    log = Log(archival_code, version)
    org = log.organization(fonds_name)
    for f, att in zip(files[1:], attachments, strict=True):
        who = _user(log, site, getattr(att, "uploader", None))
        log.add(Event("采集", isoformat(getattr(att, "created", None)) or "", "成功",
                      f"上传原件“{f.original_name}”（{f.mimetype}，{f.size} 字节），采集时计算摘要", who,
                      objects=[f.path], digests=[("SHA-256", f.capture_sha256), ("SM3", f.capture_sm3)]))
        at_capture = getattr(att, "original_checks", None)
        if at_capture:
            when = str(at_capture.get("at") or "")
            for c in at_capture.get("authenticity", []):
                log.add(Event("签名验证", when, OUTCOME[c.get("passed")], f"采集时：{c.get('name')}：{c.get('detail')}",
                              "system", objects=[f.path]))
            for c in at_capture.get("usability", []):
                log.add(Event("解码检测", when, OUTCOME[c.get("passed")], f"采集时：{c.get('detail')}", "system",
                              objects=[f.path]))
        fmt = f.extra.get("format") or {}
        log.add(Event("格式识别", checked_at, "成功" if fmt.get("name") else "未检测",
                      f"{fmt.get('name') or f.mimetype} {fmt.get('version') or ''}".strip()
                      + f"（{fmt.get('by') or '按 MIME 类型'}）", "system", objects=[f.path]))
    dossier = files[0]
    log.add(Event("渲染", rendered_at, "成功", f"生成 PDF/A-3B 案卷（{dossier.size} 字节），盖章扫描件原件逐字节嵌入",
                  "system", objects=[dossier.path], digests=[("SHA-256", dossier.sha256), ("SM3", dossier.sm3)]))
    for key, title in SECTIONS.items():
        for c in (summary.get("sections") or {}).get(key, []):
            if c.get("id", "").startswith("authenticity.signature"):
                log.add(Event("签名验证", checked_at, OUTCOME[c.get("passed")],
                              f"归档时：{c.get('name')}：{c.get('detail')}", "system"))
        checks = (summary.get("sections") or {}).get(key, [])
        counts = "，".join(f"{STATUS[v]} {sum(1 for c in checks if c.get('passed') is v)} 项"
                          for v in (True, False, None))
        log.add(Event("四性检测", checked_at, conclusion_of({"sections": {key: checks}}),
                      f"{title}（DA/T 70-2018）：{counts}", "system"))
    log.add(Event("四性检测", checked_at, conclusion_of(summary), f"结论：{conclusion_of(summary)}", "system"))
    # version 1 is sealed as part of its filing, which ends when the package is sealed
    filed_at = sealed_at if version == 1 else str(filed.get("time") or "")
    log.add(Event("归档", filed_at, "成功", f"立卷归档，档号 {filed.get('code') or archival_code}",
                  _user(log, site, filed.get("actor")), objects=[p.path for p in files]))
    for c in corrections:
        log.add(Event("著录更正", isoformat(c.get("time")) or "", "成功",
                      f"第 {c.get('version')} 版：{c.get('field')} 由“{c.get('old') or ''}”更正为“{c.get('new')}”；"
                      f"原因：{c.get('reason')}", _user(log, site, c.get("actor"))))
    log.add(Event("封包签名", sealed_at, "成功", "标签清单（tagmanifest-sha256.txt、tagmanifest-sm3.txt）以立档单位"
                  "的 SM2 密钥签名（SM3 摘要），签名见 signature-sm2.json", org, role="签名者"))
    return log.xml()
