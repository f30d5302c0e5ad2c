"""Loading declarative definition files (TOML) from the package and a site profile.

Localities differ, so content types, workflows, rules and retention tables are
data.  Each kind of definition lives in a folder of ``*.toml`` files inside a
subpackage; a site profile directory (``duban.profile_dir`` in the ini file)
may hold a folder of the same name whose files override (same file name) or
add to the shipped ones.  Errors name the file and the offending key.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


class DefinitionError(Exception):
    """A definition file is malformed; the message names file and field."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


def load_definitions(
    package: str, folder: str, profile_dir: str | Path | None = None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return ``{file stem: (source path, parsed TOML)}``; profile files win."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    shipped = resources.files(package).joinpath(folder)
    if shipped.is_dir():
        for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                source = f"{package.replace('.', '/')}/{folder}/{entry.name}"
                found[entry.name[:-5]] = (source, _parse(source, entry.read_text("utf-8")))
    if profile_dir:
        override = Path(profile_dir) / folder
        if override.is_dir():
            for path in sorted(override.glob("*.toml")):
                found[path.stem] = (str(path), _parse(str(path), path.read_text("utf-8")))
    return found


def _parse(source: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(source, f"TOML 语法错误 (invalid TOML): {exc}") from exc


def require(source: str, data: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
    """Fetch ``data[key]`` and check its type, or raise a DefinitionError naming it."""
    label = f"{where}.{key}" if where else key
    if key not in data:
        raise DefinitionError(source, f"缺少必填项 '{label}' (missing required key)")
    value = data[key]
    if not isinstance(value, kind):
        raise DefinitionError(
            source, f"'{label}' 应为 {kind.__name__} (expected {kind.__name__}), 实为 {value!r}"
        )
    return value
