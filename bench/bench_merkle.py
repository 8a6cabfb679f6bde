"""Merkle log store: append rate, then root and proof generation at 1,000,000 leaves.

Targets: appends well under 20 µs per record (the node's 20,000 records/s
budget includes projections); root, inclusion proof and consistency proof
each under 1 ms at 1,000,000 leaves. The database is a real file opened the
way a node opens it (WAL, synchronous=FULL), one transaction per batch as the
sync layer commits them. Every generated proof is verified, outside the timed
part, so a fast wrong answer cannot pass for a result.

Run: .venv/bin/python -m bench.bench_merkle [--leaves N] [--batch B] [--queries Q]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import load_now, write_results
from node.db import connect
from sync import merkle
from sync.log import LogStore

ORIGIN = "540102"
RECORD_BYTES = 256


def _records(start: int, count: int) -> list[bytes]:
    filler = b"\x5a" * (RECORD_BYTES - 8)
    return [seq.to_bytes(8, "big") + filler for seq in range(start, start + count)]


def _mean_us(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99)]
    return f"mean {statistics.fmean(samples) * 1e6:8.1f} µs   p99 {p99 * 1e6:8.1f} µs"


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    result = call()
    return time.perf_counter() - t, result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_merkle")
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    load = load_now()
    n, batch = args.leaves, args.batch

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.db"
        db = connect(path, create=True)
        LogStore.migrate(db)
        log = LogStore(db)

        in_append = 0.0
        start = time.perf_counter()
        for first in range(0, n, batch):
            records = _records(first, min(batch, n - first))
            db.execute("BEGIN IMMEDIATE")
            t = time.perf_counter()
            log.append(ORIGIN, first, records)
            in_append += time.perf_counter() - t
            db.execute("COMMIT")
        total = time.perf_counter() - start
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db_mb = path.stat().st_size / 1e6

        rng = random.Random(1)
        full_root = log.root(ORIGIN)
        reference = merkle.hash_tree([merkle.leaf_hash(r) for r in _records(0, n)])
        if full_root != reference:
            raise SystemExit(f"stored root {full_root.hex()} != reference {reference.hex()}")
        # At exactly n leaves, then at random sizes: right edges of every shape.
        timings = {group: ([], [], []) for group in ("full", "random")}
        for group, (roots, inclusions, consistencies) in timings.items():
            for _ in range(args.queries):
                size = n if group == "full" else rng.randint(2, n)
                index = rng.randrange(size)
                size1 = rng.randint(1, size - 1)
                dt, root = _timed(lambda size=size: log.root(ORIGIN, size))
                roots.append(dt)
                dt, proof = _timed(lambda index=index, size=size:
                                   log.inclusion_proof(ORIGIN, index, size))
                inclusions.append(dt)
                merkle.verify_inclusion(index, size, log.leaf_hash(ORIGIN, index), proof, root)
                dt, cproof = _timed(lambda size1=size1, size=size:
                                    log.consistency_proof(ORIGIN, size1, size))
                consistencies.append(dt)
                merkle.verify_consistency(size1, size, log.root(ORIGIN, size1), root, cproof)
        db.close()

    command = (f".venv/bin/python -m bench.bench_merkle --leaves {n} --batch {batch}"
               f" --queries {args.queries}")
    lines = [
        f"append {n:,} records of {RECORD_BYTES} B in batches of {batch} "
        "(file db, WAL, synchronous=FULL, one commit per batch):",
        f"  records/s incl. commit      {n / total:12,.0f}   ({total / n * 1e6:.2f} µs/record)",
        f"  records/s inside append()   {n / in_append:12,.0f}   "
        f"({in_append / n * 1e6:.2f} µs/record)",
        f"  database size               {db_mb:12,.1f} MB",
        f"root of size-{n:,} log: {full_root.hex()} (= merkle.hash_tree of the leaves)",
        f"queries, {args.queries} each, random index / size1, every proof verified:",
    ]
    for group, label in (("full", f"tree size {n:,}"), ("random", f"random sizes <= {n:,}")):
        roots, inclusions, consistencies = timings[group]
        lines += [
            f"  at {label}:",
            f"    root(size)                {_mean_us(roots)}",
            f"    inclusion_proof           {_mean_us(inclusions)}",
            f"    consistency_proof         {_mean_us(consistencies)}",
        ]
    write_results("merkle", command, lines, load_before=load,
                  workload="random 256-byte leaves (the tree's cost does not depend on content)")


if __name__ == "__main__":
    main()
