"""Schema of the 保管期限表 and 档号 template (``rules/retention.toml``, profile ``archive/rules/``).

Every key with its type and the retention codes; ``rules.compile_rules`` checks
the 档号 template's fields (it must format, and hold ``{件号}``).
"""

from __future__ import annotations

import colander

from ..definitions import one_of, table, table_of, text

RETENTIONS = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}


def retention_schema() -> colander.SchemaNode:
    code = one_of(RETENTIONS, "保管期限")
    return table(
        "",
        table("archive", text("fonds_code"), text("category"), text("code_template")),
        table("retention", text("default", validator=code), table_of("boards", text("", validator=code))),
    )
