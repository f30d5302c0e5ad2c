"""Boards (版块): BTree folders of items, bound to a workflow and an item type."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..definitions import DefinitionError, load_definitions, require
from .folder import Folder


class Board(Folder):
    type_name = "board"

    def __init__(self, board_id: str, title: str, prefix: str, workflow: str, item_type: str):
        super().__init__()
        self.board_id = board_id
        self.title = title
        self.prefix = prefix
        self.workflow = workflow
        self.item_type = item_type


@dataclass(frozen=True)
class BoardDef:
    id: str
    title: str
    prefix: str
    workflow: str
    item_type: str


def load_board_defs(profile_dir: str | Path | None = None) -> list[BoardDef]:
    boards: dict[str, BoardDef] = {}
    for source, data in load_definitions("duban_archive.content_types", "boards", profile_dir).values():
        for i, b in enumerate(require(source, data, "boards", list)):
            where = f"boards[{i}]"
            bid = require(source, b, "id", str, where)
            if not re.fullmatch(r"[a-z][a-z0-9_]{1,30}", bid):
                raise DefinitionError(source, f"{where}.id '{bid}' 只能用小写字母、数字和下划线")
            prefix = require(source, b, "prefix", str, where)
            if not re.fullmatch(r"[A-Z0-9]{1,10}", prefix):
                raise DefinitionError(source, f"{where}.prefix '{prefix}' 只能用大写字母和数字")
            boards[bid] = BoardDef(
                id=bid,
                title=require(source, b, "title", str, where),
                prefix=prefix,
                workflow=require(source, b, "workflow", str, where),
                item_type=require(source, b, "item_type", str, where),
            )
    return list(boards.values())
