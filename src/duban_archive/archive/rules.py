"""保管期限表, 档号 template and the 四性检测 rules: declarative, validated at start-up."""

from __future__ import annotations

import string
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ..definitions import DefinitionError, load_checked, validate
from .schema import (  # noqa: F401 - RETENTIONS, UNCHECKED_MODES, CHECK_SECTIONS are this module's API
    CHECK_SECTIONS,
    RETENTIONS,
    UNCHECKED_MODES,
    retention_schema,
)

CODE_FIELDS = {"全宗号", "门类", "年度", "保管期限", "机构代码", "件号"}
DEFAULT_TEMPLATE = "{全宗号}-WS·{年度}-{保管期限}-{机构代码}-{件号:04d}"




@dataclass
class UncheckedRules:
    """``rules/checks.toml``: which checks that could not run (「未检测」) refuse filing."""

    default: str = "show"
    modes: dict[str, str] = field(default_factory=lambda: {"security.virus": "block_when_configured"})

    def mode(self, check_id: str) -> str:
        section = check_id.split(".", 1)[0]
        return self.modes.get(check_id) or self.modes.get(section) or self.default

    def blocks(self, check: dict[str, Any]) -> bool:
        """True when ``check`` did not run and that refuses filing."""
        if check.get("passed") is not None:
            return False
        mode = self.mode(str(check.get("id") or ""))
        return mode == "block" or (mode == "block_when_configured" and bool(check.get("configured")))


def compile_unchecked(source: str, data: dict[str, Any]) -> UncheckedRules:
    """``[unchecked]`` of a file the schema accepted (a table of known modes); the keys are checked here."""
    modes: dict[str, str] = {}
    for key, value in data.get("unchecked", {}).items():
        if key != "default" and key.split(".", 1)[0] not in CHECK_SECTIONS:
            raise DefinitionError(source, f"unchecked.{key}：未知的检测项，应以 {'、'.join(CHECK_SECTIONS)} 开头")
        modes[str(key)] = str(value)
    default = modes.pop("default", "show")
    return UncheckedRules(default=default, modes=modes)


@dataclass
class ArchiveRules:
    fonds_code: str = "Z109"
    category: str = "WS"
    code_template: str = DEFAULT_TEMPLATE
    default_retention: str = "D30"
    board_retention: dict[str, str] = field(default_factory=dict)
    source: str = ""
    unchecked: UncheckedRules = field(default_factory=UncheckedRules)

    def retention_for(self, board_id: str) -> str:
        return self.board_retention.get(board_id, self.default_retention)

    def archival_code(self, *, fonds: str, year: int, retention: str, unit_code: str, piece: int) -> str:
        return self.code_template.format(**{"全宗号": fonds, "门类": self.category, "年度": year,
                                            "保管期限": retention, "机构代码": unit_code, "件号": piece})


def compile_rules(source: str, data: dict[str, Any], checked: bool = False) -> ArchiveRules:
    """The rules from a parsed file: :func:`.schema.retention_schema` first (unless ``checked``),
    then the 档号 template (known fields, ``{件号}``, formats)."""
    if not checked:
        validate(source, retention_schema(), data)
    head = data.get("archive", {})
    template = str(head.get("code_template", DEFAULT_TEMPLATE))
    names = {fname for _, fname, _, _ in string.Formatter().parse(template) if fname}
    unknown = names - CODE_FIELDS
    if unknown:
        raise DefinitionError(source, f"archive.code_template: 含未知字段：{'、'.join(sorted(unknown))}；"
                                      f"可用：{'、'.join(sorted(CODE_FIELDS))}")
    if "件号" not in names:
        raise DefinitionError(source, "archive.code_template: 必须包含 {件号}，否则档号不唯一")
    ret = data.get("retention", {})
    boards = ret.get("boards", {})
    rules = ArchiveRules(fonds_code=str(head.get("fonds_code", "Z109")), category=str(head.get("category", "WS")),
                         code_template=template, default_retention=str(ret.get("default", "D30")),
                         board_retention={str(k): str(v) for k, v in boards.items()}, source=source)
    try:
        rules.archival_code(fonds="X", year=2026, retention="Y", unit_code="U", piece=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise DefinitionError(source, f"archive.code_template: 无法套用：{exc}") from exc
    return rules


#: where a site profile keeps its ``retention.toml`` (``rules/`` belongs to the reminder rules)
PROFILE_FOLDER = "archive/rules"


def load_rules(profile_dir: str | None = None, fonds_override: str | None = None) -> ArchiveRules:
    found = load_checked("duban_archive.archive", "rules", profile_dir, retention_schema,
                         profile_folder=PROFILE_FOLDER)
    if "retention" in found:
        rules = compile_rules(*found["retention"], checked=True)
    else:  # pragma: no cover - the file ships with the package
        rules = ArchiveRules()
    if "checks" in found:
        rules.unchecked = compile_unchecked(*found["checks"])
    if fonds_override:
        rules.fonds_code = fonds_override
    return rules


def check_references(rules: ArchiveRules, boards, dropped: Collection[str] = ()) -> list[tuple[str, str]]:
    """``[retention.boards]`` names known boards (a misspelt one would file that board's items
    under the default 保管期限); ``dropped``: shipped board ids a site profile no longer defines."""
    from ..definitions import unknown_message

    ids = {b.id for b in boards}
    return [(rules.source, f"retention.boards.{name}: {unknown_message(name, ids, '版块')}")
            for name in rules.board_retention if name not in ids and name not in dropped]


def get_rules(registry) -> ArchiveRules:
    rules = getattr(registry, "duban_archive_rules", None)
    if rules is None:
        settings = registry.settings or {}
        rules = registry.duban_archive_rules = load_rules(settings.get("duban.profile_dir") or None,
                                                          settings.get("duban.fonds_code") or None)
    return rules
