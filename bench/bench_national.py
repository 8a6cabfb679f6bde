"""The national node at 10^5 and 10^6 records: ingest, size, audit, stats, rebuild, backup, queries.

The national node (a real enrolled home, `tongban init` + `pki init-root`) is
fed through the real receive path (sync.receive.Receiver: chain to the root
with the subtree rule, checkpoint signature, Merkle consistency, projection,
one transaction per batch) with the logs of China's levels: 1 national + 31
provincial + 333 prefectural + 2,843 county origins (3,208 logs), certificates
root -> province -> prefecture -> county. Volumes follow where cases are
handled: counties 90 % of the records, prefectures 7 %, provinces 2.5 %, the
national node 0.5 %, all from the realistic workload (bench.workload).

The senders' logs are built first in a scratch database (not measured): each
origin's records, its signed checkpoint, and batches cut by the real sender
(sync.batches.make_batch, 1 MiB). Everything after that is measured; the
commands run as real subprocesses with their own peak RSS (os.wait4).

Run: .venv/bin/python -m bench.bench_national [--records 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import in_process, load_now, run_measured, write_results
from bench.workload import WORKLOAD, Workload, published_matters
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from pki import certs, keys
from pki.checkpoint import CheckpointSigner
from pki.division import in_subtree, listed
from sync import certstore
from sync.batches import MAX_BATCH_BYTES, make_batch
from sync.certstore import CertStore
from sync.log import LogStore

PROVINCES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35",
             "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54",
             "61", "62", "63", "64", "65")
PREFECTURES, COUNTIES = 333, 2843
SHARE = {"national": 0.005, "province": 0.025, "prefecture": 0.07, "county": 0.90}
CLOCK: dict[str, str] = {}  # the real clock; the workload ends on 2026-11-30
ROW_KEY = '"case_no"'


def _spread(codes: list[str], count: int) -> list[str]:
    """``count`` of ``codes`` taken evenly along the list (all of them if fewer)."""
    if len(codes) <= count:
        return codes
    return [codes[i * len(codes) // count] for i in range(count)]


def divisions() -> dict[str, list[str]]:
    """1 + 31 + 333 + 2,843 current GB/T 2260 codes (the certificates enrol only current
    ones), prefectures and counties spread evenly over the shipped list."""
    current: dict[str, list[str]] = {"prefecture": [], "county": []}
    for province in PROVINCES:
        for code in (f"{province}{p:02d}{c:02d}" for p in range(1, 100) for c in range(100)):
            entry = listed(code)
            if entry is not None and entry[1] is None:
                current["prefecture" if code.endswith("00") else "county"].append(code)
    prefectures = _spread(current["prefecture"], PREFECTURES)
    chosen = set(prefectures)
    counties = _spread([c for c in current["county"] if c[:4] + "00" in chosen], COUNTIES)
    return {"national": ["000000"], "province": [f"{p}0000" for p in PROVINCES],
            "prefecture": prefectures, "county": counties}


def _parent(code: str) -> str:
    if code.endswith("0000"):
        return "000000"
    if code.endswith("00"):
        return code[:2] + "0000"
    return code[:4] + "00"


def senders(path: Path, root_cert, root_key, workload: Workload, total: int
            ) -> tuple[sqlite3.Connection, dict[str, int]]:
    """A scratch database with every origin's log, signed checkpoint and certificate chain."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    LogStore.migrate(db)
    certstore.migrate(db)
    log, store = LogStore(db), CertStore(db)
    now = datetime.now(UTC)
    start = now - timedelta(days=400)
    issued = {"000000": (root_cert, root_key)}
    sizes: dict[str, int] = {}
    db.execute("BEGIN")
    for level, codes in divisions().items():
        if level == "national":
            continue  # the national node writes its own log (measure)
        per_origin = max(1, round(total * SHARE[level] / len(codes)))
        for code in codes:
            if code not in issued:
                key = keys.generate_key()
                parent_cert, parent_key = issued[_parent(code)]
                cert = certs.issue(certs.make_csr(key, code), parent_cert, parent_key, start, 3000)
                issued[code] = (cert, key)
                store.add([cert])
            cert, key = issued[code]
            records = workload.records(code, per_origin)[:per_origin]
            log.append(code, 0, records)
            root = log.root(code, len(records))
            log.add_checkpoint(code, len(records), root,
                               CheckpointSigner(key, code).sign(len(records), root, None, None))
            sizes[code] = len(records)
    db.execute("COMMIT")
    return db, sizes


def ingest(home: Path, sender_db: sqlite3.Connection, sizes: dict[str, int]) -> float:
    """Seconds to receive every origin's batches at the national node (real receive path)."""
    log, store = LogStore(sender_db), CertStore(sender_db)
    node = NodeStore.open(Home(home))
    replica = build(node)
    batches = []
    for origin, size in sizes.items():
        first = 0
        while first < size and (batch := make_batch(log, store, origin, first, MAX_BATCH_BYTES)):
            peer = origin[:2] + "0000"
            batches.append((peer, batch))
            first += len(batch.records)
    started = time.perf_counter()
    for peer, batch in batches:
        replica.receiver.receive(batch, peer, lambda o, p=peer: in_subtree(p, o))
    seconds = time.perf_counter() - started
    node.close()
    return seconds


def measure(tmp: Path, total: int) -> list[str]:
    home = tmp / "000000"
    in_process("init", "--division", "000000", "--name", "国家节点", home=home)
    in_process("pki", "init-root", home=home)
    in_process("matter", "import", "--sample", home=home)
    node = NodeStore.open(Home(home))
    workload = Workload(published_matters(node), seed=total)
    node.close()
    root_cert = Home(home).root_cert()
    root_key = keys.load_private_key(Home(home).key_path)
    t = time.perf_counter()
    sender_db, sizes = senders(tmp / "senders.db", root_cert, root_key, workload, total)
    prepared = time.perf_counter() - t
    received = sum(sizes.values())
    seconds = ingest(home, sender_db, sizes)
    sender_db.close()
    node = NodeStore.open(Home(home))
    own = int(total * SHARE["national"])
    drafts = list(workload.drafts("000000", own, first_seq=node.log.size("000000")))[:own]
    for first in range(0, len(drafts), 1000):
        node.write(drafts[first:first + 1000])
    node.close()
    where = ["--home", str(home)]
    db_mb = Home(home).db_path.stat().st_size / 1e6
    rows = [
        f"## {received:,} records received from {len(sizes):,} origins, + {len(drafts):,} of "
        f"the national node's own; senders built in {prepared:.0f} s (not measured)",
        f"ingest through the real receive path: {seconds:.1f} s = {received / seconds:,.0f} "
        "records/s",
        f"database: {db_mb:,.1f} MB = {db_mb * 1e6 / received:,.0f} B/record",
    ]
    for label, args in (
        ("audit verify (full: every record, checkpoint, chain)",
         ["audit", "verify", str(home), "--json"]),
        ("stats --subtree --json", ["stats", "--subtree", "--json", *where]),
        ("case list --overdue --json", ["case", "list", "--overdue", "--json", *where]),
        ("case list --due-soon --json", ["case", "list", "--due-soon", "--json", *where]),
        ("case list --state accepted --limit 100", ["case", "list", "--state", "accepted",
                                                     "--limit", "100", *where]),
        ("case list (first page of 500)", ["case", "list", *where]),
        ("db rebuild", ["db", "rebuild", *where]),
        ("db backup", ["db", "backup", "--out", str(tmp / "backup.db"), *where]),
    ):
        took, peak, out = run_measured(args, CLOCK, ok=(0, 1) if args[0] == "audit" else (0,))
        extra = ""
        if args[:2] == ["case", "list"] and "--json" in args:
            extra = f", {out.count(ROW_KEY):,} rows"
        if args[:2] == ["db", "rebuild"]:
            extra = f" = {(received + own) / took:,.0f} records/s incl. start-up"
        if args[0] == "audit":
            report = json.loads(out)
            kinds = Counter((p["check"], p["reason"][:60]) for p in report["problems"])
            extra = (f" = {received / took:,.0f} records/s incl. start-up; ok={report['ok']}, "
                     f"{report['problem_count']} problems, first {dict(kinds.most_common(3))}")
        rows.append(f"{label}: {took:.2f} s, peak {peak:.0f} MB{extra}")
    restored = tmp / "restored"   # the home on a new disk: everything but the database
    shutil.copytree(home, restored, ignore=shutil.ignore_patterns("node.db*"))
    # Exit 1 by design: writes stay refused until a child is asked (recover --from-child),
    # and this bench runs no child.
    said: list[str] = []
    took, peak, _ = run_measured(["db", "restore", str(tmp / "backup.db"), "--home",
                                  str(restored)], CLOCK, ok=(1,), outcome=said)
    if "recover --from-child" not in said[-1]:
        raise RuntimeError(f"db restore did not name the next step: {said[-1]}")
    rows.append(f"db restore (integrity, log tables, version, key and certificate checked; "
                f"a national node has no parent to ask, so writes stay refused until "
                f"'tongban recover --from-child', not measured): {took:.2f} s, "
                f"peak {peak:.0f} MB")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    load = load_now()
    lines: list[str] = []
    for total in args.records:
        with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
            lines += measure(Path(tmp), total)
            lines.append(f"(load average after this size: {load_now()})")
            lines.append("")
    command = (".venv/bin/python -m bench.bench_national --records "
               + " ".join(str(n) for n in args.records))
    write_results("national", command, lines, workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
