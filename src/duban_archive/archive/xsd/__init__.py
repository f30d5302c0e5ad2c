"""The XML Schemas shipped: our namespace (``duban-archive.xsd``: metadata.xml, premis.xml) and the EEP (``eep.xsd``).

Shipped with the package so a receiving archive validates what it gets; the
tests and ``duban-archive verify-package`` validate with lxml.
"""

from __future__ import annotations

import functools
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("duban-archive.xsd")
#: the DA/T 48 EEP's structure (no namespace; imports ours for the metadata inside)
EEP_SCHEMA_FILE = Path(__file__).with_name("eep.xsd")


@functools.cache
def schema(path: Path = SCHEMA_FILE):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(path)))


def validate(xml_bytes: bytes, path: Path = SCHEMA_FILE) -> list[str]:
    """Problems of ``xml_bytes`` against the schema (empty when valid), one line each."""
    from lxml import etree

    try:
        doc = etree.fromstring(xml_bytes, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"XML 无法解析：{exc}"]
    checker = schema(path)
    if checker.validate(doc):
        return []
    return [f"第 {e.line} 行：{e.message}" for e in checker.error_log]
