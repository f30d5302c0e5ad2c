"""台账 import beside a running site (ZEO): the CLI joins it, and simultaneous web imports never mix.

Each import draws its 事项编号 from the board's counter (short transactions of their
own) and adds its items in one transaction: two clients importing at once both
succeed with different numbers, or one is answered 409 and sends again — never a
500, never half a file.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from duban_archive.testing import http_call, multipart, run_threads

HEADER = ["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "完成时限"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ledger(tag: str, n: int) -> bytes:
    wb = Workbook()
    wb.active.append(HEADER)
    for i in range(1, n + 1):
        wb.active.append([i, f"{tag}第{i}件", "常务会议", "按期完成", "按月报送", "住建局", "2026年12月20日"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def board_items(server, token: str, board: str = "rcgl") -> list[dict]:
    status, res = http_call(server.base, token, "GET", f"/api/v1/boards/{board}/items?per_page=200")
    assert status == 200, res
    return res["items"]


def web_import(server, token: str, data: bytes, attempts: int = 6) -> tuple[list[int], dict]:
    """POST the file; a JSON 409 conflict is sent again, as the API asks. Returns every status and the last answer."""
    import time

    statuses = []
    body, ctype = multipart({}, "台账.xlsx", data, XLSX)
    for attempt in range(attempts):
        status, res = http_call(server.base, token, "POST", "/api/v1/boards/rcgl/ledger/import", body, ctype)
        statuses.append(status)
        if status != 409:
            break
        time.sleep(0.3 * (attempt + 1))
    return statuses, res


def test_cli_import_joins_the_running_site_while_the_web_imports_too(live_server, tmp_path):
    server = live_server(storage="zeo")
    token = server.token("supervisor")
    path = tmp_path / "县督查室台账.xlsx"
    path.write_bytes(ledger("命令行", 12))
    answers: dict[str, object] = {}

    def work(k: int) -> None:
        if k == 0:
            answers["cli"] = server.cli("import-ledger", str(server.ini), str(path), "--board", "rcgl")
        else:
            answers["web"] = web_import(server, token, ledger("网页", 12))

    assert run_threads(2, work) == []
    done = answers["cli"]
    assert done.returncode == 0 and "Traceback" not in done.stderr, (done.stdout, done.stderr)  # type: ignore[attr-defined]
    assert "已导入 12 件事项" in done.stdout  # type: ignore[attr-defined]
    statuses, res = answers["web"]  # type: ignore[misc]
    assert statuses[-1] == 201 and set(statuses) <= {201, 409}, (statuses, res)
    items = board_items(server, token)
    titles = sorted(i["title"] for i in items)
    assert titles == sorted([f"命令行第{i}件" for i in range(1, 13)] + [f"网页第{i}件" for i in range(1, 13)])
    numbers = [i["number"] for i in items]
    assert len(set(numbers)) == 24
    # a bad file from the CLI beside the site: one line per problem, nothing written, exit 1
    path.write_bytes(ledger("坏", 2)[:-10])
    done = server.cli("import-ledger", str(server.ini), str(path), "--board", "rcgl")
    assert done.returncode == 1 and "Traceback" not in done.stderr and "无法读取" in done.stderr, done.stderr
    assert len(board_items(server, token)) == 24


def test_two_clients_importing_at_once_get_distinct_numbers_and_whole_files(live_server):
    server = live_server(storage="zeo")
    token = server.token("supervisor")
    rounds, rows = 3, 15
    outcomes: list[tuple[list[int], dict]] = []

    for r in range(rounds):
        def work(k: int, r: int = r) -> None:
            outcomes.append(web_import(server, token, ledger(f"第{r}轮客户{k}-", rows)))

        assert run_threads(2, work) == []
    every = [s for statuses, _ in outcomes for s in statuses]
    assert 500 not in every and set(every) <= {201, 409}, every
    imported = [res for statuses, res in outcomes if statuses[-1] == 201]
    items = board_items(server, token)
    numbers = [i["number"] for i in items]
    assert len(numbers) == len(set(numbers)) == rows * len(imported)  # no duplicate 事项编号, no partial file
    answered = sorted(n for res in imported for n in (i["number"] for i in res["items"]))
    assert answered == sorted(numbers)
    for res in imported:  # each answer is a whole file, in its own order
        titles = [i["title"] for i in res["items"]]
        prefix = titles[0][:-3] if titles[0].endswith("第1件") else titles[0]
        assert titles == [f"{prefix}第{i}件" for i in range(1, rows + 1)]
