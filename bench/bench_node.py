"""Node store: case events with their projection on a file database, and rebuild.

Targets (issue 2, issue 18): batched >= 20,000 events/s; durable single-command
commits >= 300/s; db rebuild >= 50,000 records/s; all on the realistic workload
(bench.workload). Single commits are one clerk action per transaction, fsync'd,
with checkpoints signed at the store's cadence; the bytes stored per record
are reported for both ways of writing.

Run: .venv/bin/python -m bench.bench_node
"""

from __future__ import annotations

import itertools
import tempfile
import time
from pathlib import Path

from bench.common import load_now, write_results
from bench.workload import WORKLOAD, Workload, published_matters
from node.catalogue_file import load_file, sample_catalogue_path
from node.db import connect
from node.home import Config, Home
from node.matters import publish
from node.store import NodeStore, migrate
from pki.keys import generate_key, save_private_key

COUNTY = "540102"
BATCHED = 100_000
SINGLE = 2_000


def _node(root: Path) -> NodeStore:
    home = Home(root)
    home.path.mkdir()
    save_private_key(generate_key(), home.key_path)
    db = connect(home.db_path, create=True)
    migrate(db)
    db.close()
    home.save_config(Config(division=COUNTY, name="bench"))
    store = NodeStore.open(home)
    publish(store, load_file(sample_catalogue_path()))
    return store


def _bytes(store: NodeStore) -> int:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.home.db_path.stat().st_size


def batched(store: NodeStore, workload: Workload, events: int, batch: int
            ) -> tuple[float, float]:
    """Events per second of wall time and per second of this process's CPU time (on a
    shared machine the wall time includes waiting for a core)."""
    drafts = list(workload.drafts(COUNTY, events, first_seq=store.log.size(COUNTY)))
    start, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(drafts), batch):
        store.write(drafts[first:first + batch])
    return (len(drafts) / (time.perf_counter() - start),
            len(drafts) / (time.process_time() - cpu))


def single(store: NodeStore, workload: Workload, count: int) -> tuple[float, int]:
    drafts = itertools.islice(workload.drafts(COUNTY, count, first_seq=store.log.size(COUNTY),
                                                first_number=900_000), count)
    start = time.perf_counter()
    written = 0
    for draft in drafts:
        store.write([draft])
        written += 1
    return written / (time.perf_counter() - start), written


def rebuild(store: NodeStore) -> tuple[int, float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    count = store.rebuild()
    return (count, count / (time.perf_counter() - start),
            count / (time.process_time() - cpu))


def main() -> None:
    load = load_now()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        store = _node(Path(tmp) / "batched")
        workload = Workload(published_matters(store))
        empty = _bytes(store)
        batched_rate, batched_cpu = batched(store, workload, BATCHED, 1000)
        total = store.log.size(COUNTY)
        per_batched = (_bytes(store) - empty) / total
        count, rebuild_rate, rebuild_cpu = rebuild(store)
        store.close()
        lone = _node(Path(tmp) / "single")
        empty = _bytes(lone)
        single_rate, written = single(lone, Workload(published_matters(lone)), SINGLE)
        per_single = (_bytes(lone) - empty) / written
        checkpoints = len(lone.log.checkpoints(COUNTY))
        lone.close()
    write_results("node", ".venv/bin/python -m bench.bench_node", [
        f"batched case events (1000/txn, with projection, {total:,} events): "
        f"{batched_rate:,.0f} events/s (target >= 20,000), {batched_cpu:,.0f} per CPU second; "
        f"{per_batched:,.0f} B stored/record",
        f"durable single-event commits (one clerk action per transaction, fsync each, "
        f"checkpoints at the store's cadence): {single_rate:,.0f}/s (target >= 300); "
        f"{written:,} records, {checkpoints} checkpoints, {per_single:,.0f} B stored/record",
        f"db rebuild of {count:,} records: {rebuild_rate:,.0f} records/s (target >= 50,000), "
        f"{rebuild_cpu:,.0f} per CPU second",
    ], workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
