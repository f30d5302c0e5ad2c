"""Schema of the archive rule files (profile ``archive/rules/``): the 保管期限表 and 档号 template
(``retention.toml``) and what a 四性 check that did not run means (``checks.toml``).

Every key with its type and the retention codes; ``rules.compile_rules`` checks
the 档号 template's fields (it must format, and hold ``{件号}``).
"""

from __future__ import annotations

import colander

from ..definitions import one_of, table, table_of, text

RETENTIONS = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
#: what a 四性 check that did not run means for filing (``rules/checks.toml``)
UNCHECKED_MODES = {"block": "未检测即不得归档", "block_when_configured": "已配置检测工具而未检测则不得归档",
                   "show": "仅标示未检测"}
CHECK_SECTIONS = ("authenticity", "integrity", "usability", "security")


def retention_schema() -> colander.SchemaNode:
    code = one_of(RETENTIONS, "保管期限")
    return table(
        "",
        table("archive", text("fonds_code"), text("category"), text("code_template")),
        table("retention", text("default", validator=code), table_of("boards", text("", validator=code))),
        # checks.toml: per check id or section, whether 「未检测」 blocks filing (rules.compile_unchecked)
        table_of("unchecked", text("", validator=one_of(UNCHECKED_MODES, "未检测的处理")), what="检测项"),
    )
