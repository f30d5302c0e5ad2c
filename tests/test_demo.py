"""A newcomer's first login shows a living site: items in many states on every board (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import transaction

from duban_archive.demo import add_demo_items
from duban_archive.testing import api


def test_demo_items_fill_every_board_through_the_real_workflows(app, site, testapp):
    done = add_demo_items(site, app.registry, per_board=6, commit=transaction.commit)
    transaction.commit()
    assert done, "it says what it created"
    for board in site.boards.values():
        items = [i for i in site.item_index.values() if i.board_id == board.board_id]
        assert len(items) == 6, board.board_id
        states = {i.state for i in items}
        assert len(states) >= 3, (board.board_id, states)  # not all stuck at 已立项
        for item in items:
            # every step is in the workflow's own history, in time order, by real demo users
            times = [h["time"] for h in item.history]
            assert times == sorted(times)
            assert item.history[-1]["to"] == item.state
            assert {h["actor"] for h in item.history} <= set(site["users"]) | {"system"}
    # the 档案室 is not empty: closed items went through the real filing (档号, dossier, package)
    archived = [i for i in site.item_index.values() if i.state == "archived"]
    assert archived and any("演示归档" in line for line in done)
    assert all(i.archival_code for i in archived)
    # the boards, the worklists and the dashboard show them to the people concerned
    supervisor = api(testapp, "supervisor")
    assert supervisor.get("/api/v1/items?per_page=5").json["total"] == 6 * len(site.boards)
    buckets = {b["name"]: b["total"] for b in supervisor.get("/api/v1/worklist").json["buckets"]}
    leader = {b["name"]: b["total"] for b in api(testapp, "leader").get("/api/v1/worklist").json["buckets"]}
    assert sum(buckets.values()) + sum(leader.values()) > 0
    # once per site: a second run adds nothing
    assert add_demo_items(site, app.registry) == []


def test_init_demo_and_demo_empty(tmp_path):
    exe = Path(sys.executable).with_name("duban-archive")
    root = Path(__file__).resolve().parents[1]
    for mode, expect_items in (("--demo=empty", False), ("--demo", True)):
        var = tmp_path / mode.strip("-").replace("=", "_")
        env = {"DUBAN_VAR_DIR": str(var), "PATH": "/usr/bin:/bin", **_pythonpath()}
        res = subprocess.run([str(exe), "init", str(root / "testing.ini"), mode], env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        assert "用户 supervisor" in res.stdout
        assert ("演示事项" in res.stdout) is expect_items, res.stdout


def _pythonpath() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HOME", "CHAMELEON_CACHE")}
