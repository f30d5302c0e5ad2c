"""The console script: ``import-ledger`` (bad row -> nothing imported) and ``tick --now``."""

import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook

BIN = Path(sys.executable).parent / "duban-archive"


def run(*args):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=180)


def test_import_ledger_bad_row_and_tick_from_the_command_line(app, ini_path, tmp_path):
    for db in app.registry._zodb_databases.values():
        db.close()  # the demo site exists; let the commands open the storage
    wb = Workbook()
    ws = wb.active
    ws.append(["事项名称", "任务来源", "督办内容", "办理要求", "承办单位", "完成时限"])
    ws.append(["老旧小区改造", "常务会议", "完成 3 个小区", "按月报送", "市住建局", "2026-06-30"])
    ws.append(["道路维修", "领导批示", "修复道路", "按周报送", "市水务局", "2026-06-31"])
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    res = run("import-ledger", ini_path, str(bad))
    assert res.returncode == 1
    assert "未导入任何事项" in res.stderr
    assert "第 3 行「主办单位」" in res.stderr and "第 3 行「办结时限」" in res.stderr
    res = run("tick", ini_path, "--now", "2026-06-01T08:00:00+08:00")
    assert res.returncode == 0 and "发送成功 0 条" in res.stdout
