"""``duban-archive import-ledger --check``: the preview on the command line, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook, load_workbook

BIN = Path(sys.executable).parent / "duban-archive"


def test_check_lists_problems_by_row_and_writes_nothing_then_the_import_runs(app, ini_path, tmp_path):
    for db in app.registry._zodb_databases.values():
        db.close()  # let the command open the storage
    wb = Workbook()
    wb.active.append(["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "完成时限"])
    wb.active.append([1, "老旧小区改造", "常务会议", "完成 3 个小区", "按月报送", "住建局", "2026年12月20日"])
    wb.active.append([2, "道路维修", "领导批示", "修复道路", "按周报送", "水务局", "2026年12月底"])
    path = tmp_path / "台账.xlsx"
    wb.save(path)
    res = subprocess.run([str(BIN), "import-ledger", ini_path, str(path), "--check"], capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert "共 2 行数据，1 行无误，1 处错误" in res.stdout
    assert "第 3 行「主办单位」：单位“水务局”不在单位列表中" in res.stdout
    wb.active["F3"] = "城管局"
    wb.save(path)
    res = subprocess.run([str(BIN), "import-ledger", ini_path, str(path), "--check"], capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0 and "共 2 行数据，2 行无误，0 处错误" in res.stdout
    res = subprocess.run([str(BIN), "import-ledger", ini_path, str(path)], capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0 and "已导入 2 件事项" in res.stdout, res.stderr
    out = tmp_path / "导出.xlsx"
    res = subprocess.run([str(BIN), "export-ledger", ini_path, str(out), "--board", "rcgl"], capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    titles = sorted(dict(zip(rows[0], r, strict=True))["标题"] for r in rows[1:])
    assert titles == ["老旧小区改造", "道路维修"]
