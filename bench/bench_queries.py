"""Case lists at 1,000,000 records: `case list --overdue/--due-soon/--state/--limit`.

Target (issue 18): `case list --overdue`, `--due-soon` and `--state` answer in
<= 0.5 s and <= 100 MB at 1,000,000 records; `case list` pages.

A node with the realistic workload (bench.workload) of 70 counties is filled
in-process through ``NodeStore.ingest`` (the path verified replication takes
after its checks), so its tables and indexes are a real node's. Each command
runs as a real subprocess; its peak RSS is its own (bench.common.run_measured),
and its time includes Python start-up, as an operator sees it — reported
beside the bare start-up of the same command (`tongban case list --help`) so
the query's own share shows, and with its CPU seconds, which a shared
machine's load does not inflate as it does the wall time.

Run: .venv/bin/python -m bench.bench_queries [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import in_process, load_now, run_measured_cpu, write_results
from bench.workload import WORKLOAD, Workload, counties, published_matters
from node import cases
from node.home import Home
from node.store import NodeStore


def fill(home: Path, target: int, origins: int) -> int:
    store = NodeStore.open(Home(home))
    workload = Workload(published_matters(store), seed=7)
    total = 0
    for county in counties(origins):
        records = workload.records(county, target // origins)
        for first in range(0, len(records), 20_000):
            with store.transaction():
                store.ingest(county, first, records[first:first + 20_000])
        total += len(records)
    store.close()
    return total


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--origins", type=int, default=70)
    args = parser.parse_args()
    load = load_now()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        home = Path(tmp) / "540000"
        in_process("init", "--division", "540000", "--name", "西藏自治区", home=home)
        in_process("matter", "import", "--sample", home=home)
        started = time.perf_counter()
        total = fill(home, args.records, args.origins)
        filled = time.perf_counter() - started
        where = ["--home", str(home)]
        (case_count,) = NodeStore.open(Home(home)).db.execute(
            "SELECT count(*) FROM cases").fetchone()
        lines = [f"node: {total:,} records, {case_count:,} cases of {args.origins} counties, "
                 f"{Home(home).db_path.stat().st_size / 1e6:,.0f} MB, filled in {filled:.0f} s",
                 "each command a real subprocess (wall time incl. Python start-up, CPU seconds, "
                 "peak RSS its own):"]
        bare_s, bare_mb, bare_cpu, _ = run_measured_cpu(["case", "list", "--help"])
        lines.append(f"  {'tongban case list --help (start-up alone)':46} {bare_s:5.2f} s "
                     f"(CPU {bare_cpu:4.2f} s) {bare_mb:5.0f} MB")
        for args_ in (["case", "list", "--overdue", "--json"],
                      ["case", "list", "--due-soon", "--json"],
                      ["case", "list", "--state", "accepted", "--json"],
                      ["case", "list", "--state", "supplement", "--limit", "100", "--json"],
                      ["case", "list", "--json"],
                      ["case", "list", "--limit", "100", "--json"]):
            took, peak, cpu, out = run_measured_cpu([*args_, *where])
            rows = json.loads(out)
            after = [*args_, "--after", rows[-1]["case_no"]] if rows else None
            line = (f"  {' '.join(['tongban', *args_]):46} {took:5.2f} s (CPU {cpu:4.2f} s) "
                    f"{peak:5.0f} MB {len(rows):6,} rows")
            if after is not None:
                next_s, next_mb, next_cpu, _ = run_measured_cpu([*after, *where])
                line += (f"; next page (--after): {next_s:.2f} s (CPU {next_cpu:.2f} s) "
                         f"{next_mb:.0f} MB")
            lines.append(line)
        lines.append("the query alone, in-process (node.cases.listing, best of 3):")
        store = NodeStore.open(Home(home))
        for label, options in (("--overdue", {"overdue": True}),
                               ("--due-soon", {"due_soon": True}),
                               ("--state accepted", {"state": "accepted"}),
                               ("(first page of 500)", {"limit": 500})):
            best = min(_timed(lambda o=options: cases.listing(store, date.today(), **o))
                       for _ in range(3))
            lines.append(f"  case list {label:22} {best * 1000:8.1f} ms")
        store.close()
    lines.append("target: --overdue/--due-soon/--state <= 0.5 s and <= 100 MB at 1,000,000 "
                 "records")
    write_results("queries", f".venv/bin/python -m bench.bench_queries --records {args.records}"
                  f" --origins {args.origins}", lines, workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
