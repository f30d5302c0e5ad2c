"""台账 import benchmark: preview and import of an N-row Excel ledger through a real server (ZEO).

    .venv/bin/python bench/bench_ledger.py              # 300 rows x 5 runs
    .venv/bin/python bench/bench_ledger.py --n 2000 --runs 3

Each run posts the same kind of workbook (new titles) to
``/api/v1/boards/rcgl/ledger/preview`` and then ``/import`` and checks the
answer (every row valid, N items created).  Prints the median and p95 of each,
per row, and the server's peak RSS.  Not a test: CI never runs it.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def workbook(tag: str, n: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["序号", "事项名称", "任务来源", "具体内容", "办理要求", "责任单位", "配合单位", "完成时限"])
    for i in range(1, n + 1):
        wb.active.append([i, f"{tag}第{i}件", "县政府常务会议", "按期完成改造任务，" * 10, "每月 5 日前报送进展",
                          "住建局", "交通局、东城街道", "2026年12月20日"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="rows per workbook")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from duban_archive.testing import LiveServer, http_call, multipart

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(Path(tmp), storage="zeo", workers=True).start()
        try:
            assert server.proc is not None
            pid = server.proc.pid
            peak = [rss_kb(pid)]
            base_rss = peak[0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], rss_kb(pid))
                    time.sleep(0.05)

            threading.Thread(target=sample, daemon=True).start()
            token = server.token("supervisor")
            previews, imports = [], []
            for run in range(args.runs):
                body, ctype = multipart({}, "台账.xlsx", workbook(f"第{run}批", args.n), xlsx)
                t0 = time.perf_counter()
                status, res = http_call(server.base, token, "POST", "/api/v1/boards/rcgl/ledger/preview", body, ctype)
                t1 = time.perf_counter()
                assert status == 200 and res["valid"] == args.n, (status, str(res)[:300])
                status, res = http_call(server.base, token, "POST", "/api/v1/boards/rcgl/ledger/import", body, ctype)
                t2 = time.perf_counter()
                assert status == 201 and res["count"] == args.n, (status, str(res)[:300])
                previews.append(t1 - t0)
                imports.append(t2 - t1)
            stop.set()
        finally:
            server.stop()

    def line(name: str, xs: list[float]) -> str:
        xs = sorted(xs)
        p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
        med = statistics.median(xs)
        return f"{name}: median {med:.2f} s ({1000 * med / args.n:.1f} ms/row), p95 {p95:.2f} s"

    print(f"{args.n} rows x {args.runs} runs (ZEO)")
    print(line("preview", previews))
    print(line("import", imports))
    print(f"server RSS: {base_rss // 1024} MB at start, peak {peak[0] // 1024} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
