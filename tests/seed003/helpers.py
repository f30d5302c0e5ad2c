"""Driving 12345 tickets through the JSON API as the demo users, at frozen moments."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from duban_archive.testing import api
from duban_archive.timeutil import CST, frozen_now


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


class Desk:
    """The demo users' API clients (supervisor = the 12345 platform / 督查室, unit_head and handler of 住建局)."""

    def __init__(self, testapp) -> None:
        self.numbers = count(1)  # 工单编号: required and unique on the board (issue 15)
        self.sup = api(testapp, "supervisor")
        self.head = api(testapp, "unit_head")
        self.handler = api(testapp, "handler")

    def fire(self, client, item_id: str, name: str, when: str, status: int = 200, **body):
        with frozen_now(at(when)):
            return client.post(f"/api/v1/items/{item_id}/transitions/{name}", body, status=status)

    def new_ticket(self, kind: str, when: str, **fields) -> str:
        body = {"title": f"工单 {kind}", "source": "12345", "content": "诉求内容", "requirement": "按时办理",
                "lead_unit": "zjj", "ticket_kind": kind, "ticket_number": f"SZ{next(self.numbers):06d}", **fields}
        with frozen_now(at(when)):
            res = self.sup.post("/api/v1/boards/hotline/items", body, status=201)
        return res.json["id"]
