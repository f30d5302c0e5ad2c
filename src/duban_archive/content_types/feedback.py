"""反馈报告 and 领导批示: small records inside an item, immutable once added."""

from __future__ import annotations

from persistent import Persistent


class Record(Persistent):
    """A dated, authored record with fields from its type definition."""

    type_name = "record"
    __name__: str | None = None
    __parent__ = None

    def __init__(self, type_name: str, author: str, created) -> None:
        self.type_name = type_name
        self.author = author
        self.created = created


class FeedbackReport(Record):
    type_name = "feedback_report"


class Instruction(Record):
    type_name = "instruction"
