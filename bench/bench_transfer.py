"""Benchmark: 移交 of 100 filed records (issue 13).

    .venv/bin/python bench/bench_transfer.py              # 100 records of 300 KiB, 5 rounds
    .venv/bin/python bench/bench_transfer.py --records 300 --kib 1024 --n 3

One round = ``archive.transfer.create_transfer`` in a transaction — re-hash every package (SHA-256
and SM3), lay out the 登记表 with its 归档/移交目录 (PDF/A, the safe renderer) and the workbook,
claim the records, commit — then the transfer package written to a temporary file (what
``GET /api/v1/transfers/{id}/package.zip`` streams), then the transfer cancelled so the next
round can transfer the same records.  The records are made directly (an item each and a package
version whose blob holds random bytes): filing 100 items for real would take minutes and is
``bench_dossier.py``'s subject.

Measured on the 2-core machine (shared with other work, load ~5), 5 rounds / 2 rounds:

    100 records × 300 KiB   create median 1.05 s wall, 1.01 s CPU   package (29.7 MiB) 0.03 s
    500 records × 100 KiB   create median 4.44 s wall, 4.23 s CPU   package (49.7 MiB) 0.06 s

(CPU = this process + the render workers; almost all of it is laying out the 目录.)  At load ~9-11
the same 100 records took 1.4-4.1 s wall.  That is within the few seconds a request may take, so
the transfer is made inside the request: the render runs in a forked worker (other requests keep
being served), its time limit grows with the records, and a request retried after a write conflict
takes the register it rendered a moment ago from a cache keyed by its HTML.  Writing each digest
on a line of its own instead of ``word-break: break-all`` cut the 目录's layout time by ~40 %.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def setup(records: int, kib: int):
    import transaction
    from pyramid.paster import get_app

    from duban_archive.archive.model import ArchiveRecord, PackageVersion, archive_root
    from duban_archive.content_types.actions import create_item
    from duban_archive.content_types.attachment import _sm3
    from duban_archive.content_types.bootstrap import add_demo_content
    from duban_archive.content_types.site_access import open_site
    from duban_archive.timeutil import now

    app = get_app(str(ROOT / "testing.ini"))
    registry = app.registry
    with open_site(registry, create=True) as site:
        add_demo_content(site)
        transaction.commit()
    checks = {"conclusion": "部分未检测", "sections": {
        "authenticity": [{"id": "authenticity.digest", "passed": True}],
        "integrity": [{"id": "integrity.files", "passed": True}],
        "usability": [{"id": "usability.dossier", "passed": True}],
        "security": [{"id": "security.virus", "passed": None}]}}
    ids = []
    with open_site(registry) as site:
        root = archive_root(site)
        for n in range(records):
            from datetime import date

            item = create_item(site, site.boards["zdgz"], {
                "title": f"推进城区老旧小区综合改造提升工程（第 {n + 1} 批）", "source": "市政府常务会议",
                "content": "完成老旧小区综合改造", "requirement": "按月报送进展", "lead_unit": "zjj",
                "deadline": date(2026, 12, 31)}, "supervisor", registry)
            retention = ("Y", "D30", "D10")[n % 3]
            code = f"Z109-WS·2026-{retention}-ZJJ-{n + 1:04d}"
            rec = ArchiveRecord(item.item_id, code, retention, 2026, "ZJJ", n + 1, now(), "records_officer")
            version = PackageVersion(1, now(), "records_officer", "归档")
            data = os.urandom(kib * 1024)
            with version.blob.open("w") as f:
                f.write(data)
            sm3 = _sm3()
            sm3.update(data)
            version.size, version.sha256, version.sm3 = len(data), hashlib.sha256(data).hexdigest(), sm3.hexdigest()
            version.pages, version.checks = 12, checks
            rec.versions.append(version)
            root.add(item.item_id, rec)
            root.by_code[code] = item.item_id
            ids.append(item.item_id)
        transaction.commit()
    return registry, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--kib", type=int, default=300)
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-transfer-") as var:
        os.environ["DUBAN_VAR_DIR"] = var
        import transaction

        from duban_archive.archive import transfer as tr
        from duban_archive.archive.render import warm_up
        from duban_archive.content_types.site_access import open_site

        registry, ids = setup(args.records, args.kib)
        warm_up()
        form = {"title": "2026年度督查督办电子档案移交", "description": "基准测试", "transferor_unit": "县委督查室",
                "receiver_unit": "县档案馆", "carrier": "online", "carrier_spec": "", "carrier_numbers": "",
                "transferor": "王档案", "receiver": "李馆员", "reviewer": "赵主任", "transfer_date": "2026-12-04"}
        import resource

        def cpu() -> float:
            own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

        creates, packages, sizes, cpus = [], [], [], []
        for round_ in range(args.n):
            data = tr.validate_form({**form, "title": f"{form['title']}（第 {round_ + 1} 次）", "items": ids})
            t0, c0 = time.perf_counter(), cpu()
            with open_site(registry) as site:
                made = tr.create_transfer(site, data, actor="records_officer")
                tid = made.transfer_id
                transaction.commit()
            creates.append(time.perf_counter() - t0)
            cpus.append(cpu() - c0)
            t0 = time.perf_counter()
            with open_site(registry) as site, tempfile.TemporaryFile() as out:
                tr.write_package(site, site["archive"].transfers.transfers[tid], out)
                sizes.append(out.tell())
            packages.append(time.perf_counter() - t0)
            with open_site(registry) as site:
                tr.cancel_transfer(site, tid, actor="records_officer", reason="基准测试")
                transaction.commit()
        load = os.getloadavg()[0]
        print(f"{args.records} records × {args.kib} KiB, {args.n} rounds, load {load:.1f}")
        print(f"create_transfer  median {statistics.median(creates):.3f} s  max {max(creates):.3f} s  "
              f"(CPU, this process + render workers: median {statistics.median(cpus):.3f} s)")
        print(f"write_package    median {statistics.median(packages):.3f} s  max {max(packages):.3f} s  "
              f"({sizes[-1] / 1048576:.1f} MiB)")


if __name__ == "__main__":
    main()
