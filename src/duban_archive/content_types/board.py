"""Boards (版块): BTree folders of items, bound to a workflow and an item type."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..definitions import load_checked
from .folder import Folder
from .schema import boards_schema


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
    #: the file and the entry that defined it (for messages)
    source: str = ""
    path: str = ""


def load_board_defs(profile_dir: str | Path | None = None) -> list[BoardDef]:
    """Shipped boards and the profile's ``boards/``, each file checked against
    :func:`.schema.boards_schema` (which workflow and type a board names is checked at start-up
    by ``workflows.includeme`` and ``check-definitions``, once both are loaded)."""
    boards: dict[str, BoardDef] = {}
    for source, data in load_checked("duban_archive.content_types", "boards", profile_dir,
                                     boards_schema).values():
        for i, b in enumerate(data["boards"]):
            boards[b["id"]] = BoardDef(id=b["id"], title=b["title"], prefix=b["prefix"],
                                       workflow=b["workflow"], item_type=b["item_type"],
                                       source=source, path=f"boards[{i}]({b['id']})")
    return list(boards.values())


def check_boards(boards, types, workflows) -> list[tuple[str, str]]:
    """Each board's workflow and item type exist (``type.boards`` is not held against it:
    a profile may add boards without redefining the shipped types)."""
    from ..definitions import unknown_value

    problems: list[tuple[str, str]] = []
    workflow_names = {w.name for w in workflows}
    type_names = {t.name for t in types if t.kind == "item"}
    for b in boards:
        if b.workflow not in workflow_names:
            problems.append((b.source, f"{b.path}.workflow: {unknown_value(b.workflow, workflow_names, '流程')}"))
        if b.item_type not in type_names:
            problems.append((b.source, f"{b.path}.item_type: {unknown_value(b.item_type, type_names, '事项类型')}"))
    return problems
