"""承办单位 — units as a tree (县区 / 部门 / 乡镇街道)."""

from __future__ import annotations

from persistent import Persistent

from ..content_types.folder import Folder

UNIT_KINDS = {"county": "县区", "department": "部门", "township": "乡镇街道", "office": "办公室"}


class Unit(Persistent):
    type_name = "unit"
    __name__: str | None = None
    __parent__ = None

    def __init__(self, unit_id: str, title: str, parent: str | None = None,
                 code: str = "", kind: str = "department") -> None:
        self.unit_id = unit_id
        self.title = title
        self.parent = parent
        #: 机构(问题)代码 used in 档号, e.g. "ZJJ"
        self.code = code or unit_id.upper()[:6]
        self.kind = kind


class Units(Folder):
    type_name = "units"

    def add_unit(self, unit: Unit) -> Unit:
        if unit.parent and unit.parent not in self:
            raise KeyError(f"上级单位“{unit.parent}”不存在")
        return self.add(unit.unit_id, unit)

    def children(self, unit_id: str | None) -> list[Unit]:
        return [u for u in self.values() if u.parent == unit_id]

    def ancestors(self, unit_id: str) -> list[Unit]:
        out, seen = [], set()
        unit = self.get(unit_id)
        while unit is not None and unit.parent and unit.parent not in seen:
            seen.add(unit.parent)
            unit = self.get(unit.parent)
            if unit is not None:
                out.append(unit)
        return out

    def title_of(self, unit_id: str | None) -> str:
        unit = self.get(unit_id) if unit_id else None
        return unit.title if unit is not None else (unit_id or "")
