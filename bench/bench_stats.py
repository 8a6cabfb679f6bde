"""Statistics at the national node: ``tongban stats --subtree`` over 1,000,000 case events.

Target (issue 16): at most 3 s and at most 300 MB.

The national database is filled in-process: the realistic workload
(bench.workload) of 70 counties (7 prefectures × 10) is built as records and
stored through ``NodeStore.ingest`` — the path verified replication takes after
its checks — so the tables and indexes are the ones a real national node has.
The timed commands run as real subprocesses, so the figures include Python
start-up, as an operator sees it.

Run: .venv/bin/python -m bench.bench_stats
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import load_now, write_results
from bench.workload import WORKLOAD, Workload
from node.catalogue_file import sample_catalogue
from node.db import connect
from node.home import Config, Home
from node.matters import current_matter, list_matters, publish
from node.store import NodeStore, migrate
from pki.keys import generate_key, save_private_key
from protos.tongban.v1 import record_pb2

TARGET_EVENTS = 1_000_000
COUNTIES = [f"54{p:02d}{c:02d}" for p in range(1, 8) for c in range(2, 12)]
CHANNELS = ("window", "window", "window", "online", "mobile", "self-service")
APPLICANT = "540102199001010011"
HOUR = 3_600_000


def _national(root: Path) -> tuple[Home, list[record_pb2.Matter]]:
    home = Home(root / "000000")
    home.path.mkdir()
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    migrate(db)
    db.close()
    home.save_config(Config(division="000000", name="国家节点"))
    store = NodeStore.open(home)
    publish(store, sample_catalogue("000000"))  # the national node's own namespace
    matters = [current_matter(store.db, item["code"]) for item in list_matters(store.db)]
    store.close()
    return home, matters


def fill(home: Home, matters: list[record_pb2.Matter], target: int) -> tuple[int, int]:
    """Ingest about ``target`` workload events spread over the counties; (events, cases)."""
    workload = Workload(matters, seed=16)
    store = NodeStore.open(home)
    per_county = target // len(COUNTIES)
    events = 0
    for county in COUNTIES:
        records = workload.records(county, per_county)
        for first in range(0, len(records), 20_000):
            with store.transaction():
                store.ingest(county, first, records[first:first + 20_000])
        events += len(records)
    (cases,) = store.db.execute("SELECT count(*) FROM cases").fetchone()
    store.close()
    return events, cases


def timed(*args: str) -> tuple[float, float, str]:
    """(seconds, peak MB of the child, stdout) for one real tongban command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "node.cli", *args], capture_output=True,
                          text=True, check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak <= before:
        raise RuntimeError("peak RSS of the child was not measurable (an earlier child was larger)")
    return seconds, peak / 1024, done.stdout


def main() -> None:
    load = load_now()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        home, matters = _national(Path(tmp))
        start = time.perf_counter()
        events, cases = fill(home, matters, TARGET_EVENTS)
        fill_s = time.perf_counter() - start
        size_mb = home.db_path.stat().st_size / 2**20
        where = ["--home", str(home.path)]
        stats_s, stats_mb, out = timed("stats", "--subtree", "--json", *where)
        county_s, county_mb, _ = timed("stats", "--subtree", "--by", "county", "--json", *where)
        report_s, report_mb, _ = timed("report", "--subtree", "--out", f"{tmp}/r.html", *where)
    ok = stats_s <= 3 and stats_mb <= 300
    write_results("stats", ".venv/bin/python -m bench.bench_stats", [
        f"national node: {events:,} case events of {cases:,} cases from {len(COUNTIES)} counties"
        f", database {size_mb:,.0f} MB, filled in {fill_s:,.0f} s",
        f"tongban stats --subtree --json: {stats_s:.2f} s, peak {stats_mb:.0f} MB"
        f" (target <= 3 s, <= 300 MB: {'met' if ok else 'NOT met'})",
        f"tongban stats --subtree --by county --json: {county_s:.2f} s, peak {county_mb:.0f} MB",
        f"tongban report --subtree: {report_s:.2f} s, peak {report_mb:.0f} MB",
        f"applications counted by stats: {json.loads(out)['total']['applications']:,}",
    ], workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
