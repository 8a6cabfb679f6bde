"""Audit throughput on a county written the real way and on a large replicated database.

Three databases, all of the realistic workload (bench.workload):

- a county home written the real way: one clerk action per transaction
  through ``NodeStore.write`` (fsync'd, checkpoints at the store's cadence),
  audited with ``node.audits.audit`` in a fresh process, as ``tongban audit verify HOME``
  does (the rate is over the audit call; the whole process time is reported beside it);
- the same, but with a checkpoint signed on every write, as the store did
  before issue 18 (``CHECKPOINT_INTERVAL_MS = 0``), for comparison;
- a replicated database built the fast way (LogStore directly, one signed
  checkpoint and one parent receipt per origin), where what is measured is
  the auditor alone.

The audit is the full one: every record hashed and parsed, stored leaf hashes
and tree nodes compared, signatures and chains.

    .venv/bin/python -m bench.bench_audit --origins 50 --records 20000 --real 100000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import load_now, write_results
from bench.workload import WORKLOAD, Workload, counties, published_matters
from node import audits
from node import store as node_store
from node.authority import AuditPolicy
from node.home import Home
from node.store import NodeStore
from ops.localfed import Federation, tongban
from pki import certs, keys
from pki.checkpoint import CheckpointSigner, make_receipt
from protos.tongban.v1 import record_pb2
from sync import certstore, receive
from sync.audit import audit_database, caseproof
from sync.certstore import CertStore
from sync.log import LogStore
from sync.records import parse_body, parse_record

REGION = "540000"


def _codes(n: int) -> list[str]:
    """n county codes under 540000 (the workload's Tibetan counties first)."""
    return [c for c in counties(4 * n) if c.startswith("54")][:n]


def written_the_real_way(tmp: Path, workload_of, events: int, *, every_write: bool
                         ) -> tuple[int, float, float, int, float, float]:
    """(records, B/record, write rate, checkpoints, audit records/s, seconds of the whole
    audit process) of a county home."""
    fed = Federation(tmp)
    fed.add("000000")
    fed.add("540100", "000000")
    home = fed.add("540102", "540100").home
    tongban("matter", "import", "--sample", home=home)
    store = NodeStore.open(Home(home))
    workload = workload_of(store)
    before = store.home.db_path.stat().st_size
    interval = node_store.CHECKPOINT_INTERVAL_MS
    node_store.CHECKPOINT_INTERVAL_MS = 0 if every_write else interval
    try:
        started = time.perf_counter()
        written = 0
        for draft in workload.drafts("540102", events,
                                       first_seq=store.log.size("540102")):
            store.write([draft])
            written += 1
            if written == events:
                break
        rate = written / (time.perf_counter() - started)
    finally:
        node_store.CHECKPOINT_INTERVAL_MS = interval
    store.ensure_checkpoint()
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    checkpoints = len(store.log.checkpoints("540102"))
    size = store.log.size("540102")
    per_record = (store.home.db_path.stat().st_size - before) / written
    store.close()
    records, took, command = audited_in_fresh_process(home)
    return size, per_record, rate, checkpoints, records / took, command


def audited_in_fresh_process(home: Path) -> tuple[int, float, float]:
    """(records, seconds in ``audits.audit``, seconds for the whole process) of auditing
    ``home`` in a new interpreter, as ``tongban audit verify HOME`` runs: the heap the
    writer left behind (and its collector passes) is not the auditor's."""
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "bench.bench_audit", "--audit-only", str(home)],
                         check=True, capture_output=True, text=True).stdout
    command = time.perf_counter() - started
    records, took = json.loads(out)
    return records, took, command


def audit_only(home: Path) -> None:
    """The child side of audited_in_fresh_process: [records, seconds] on stdout."""
    started = time.perf_counter()
    audited = audits.audit(home, None)
    took = time.perf_counter() - started
    assert audited.report.ok, audited.report.text()
    print(json.dumps([audited.report.records(), took]))


def build(path: Path, origins: int, per_origin: int, workload: Workload
          ) -> tuple[certs.x509.Certificate, list]:
    now = datetime.now(UTC)
    start = now - timedelta(days=10)
    root_key = keys.generate_key()
    root = certs.make_root(root_key, start, 3650)
    region_key = keys.generate_key()
    region = certs.issue(certs.make_csr(region_key, REGION), root, root_key, start, 365)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    LogStore.migrate(db)
    certstore.migrate(db)
    receive.migrate(db)
    log = LogStore(db)
    store = CertStore(db)
    db.execute("BEGIN")
    store.add([region])
    for code in _codes(origins):
        key = keys.generate_key()
        store.add([certs.issue(certs.make_csr(key, code), region, region_key, start, 365)])
        records = workload.records(code, per_origin)[:per_origin]
        for first in range(0, per_origin, 10_000):
            log.append(code, first, records[first:first + 10_000])
        size = log.size(code)
        root_hash = log.root(code, size)
        note = CheckpointSigner(key, code).sign(size, root_hash, None, None)
        log.add_checkpoint(code, size, root_hash, note)
        receipt = make_receipt(note, region_key, REGION, now - timedelta(hours=1))
        log.add_receipt(code, size, REGION, receipt.time * 1000, receipt.to_bytes())
    db.execute("COMMIT")
    db.close()
    return root, [region]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--origins", type=int, default=50)
    parser.add_argument("--records", type=int, default=20_000, help="records per origin")
    parser.add_argument("--checks", type=int, default=300, help="case proof checks to time")
    parser.add_argument("--real", type=int, default=100_000,
                        help="records of the county written one event per transaction")
    parser.add_argument("--audit-only", type=Path, metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.audit_only:
        audit_only(args.audit_only)
        return
    load = load_now()
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        def workload_of(store: NodeStore) -> Workload:
            return Workload(published_matters(store))

        real = written_the_real_way(Path(tmp) / "real", workload_of, args.real,
                                    every_write=False)
        old = written_the_real_way(Path(tmp) / "old", workload_of, min(args.real, 20_000),
                                   every_write=True)
        matters_home = Path(tmp) / "real" / "540102"
        store = NodeStore.open(Home(matters_home))
        workload = workload_of(store)
        store.close()
        path = Path(tmp) / "audit.db"
        t0 = time.perf_counter()
        root, _ = build(path, args.origins, args.records, workload)
        built = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        report = audit_database(path, root, datetime.now(UTC), policy=AuditPolicy())
        took = time.perf_counter() - t0
        assert report.ok, report.text()
        total = report.records()

        db = sqlite3.connect(path)
        origin = _codes(1)[0]
        case_no = parse_body(record_pb2.CaseEvent, parse_record(
            LogStore(db).record(origin, 0)).body, "case event").case_no
        refs = [(origin, seq) for seq, data in enumerate(LogStore(db).records(
            origin, 0, args.records)) if case_no.encode() in data]  # one case's events
        proof = caseproof.prove(db, refs, case_no)
        db.close()
        now = datetime.now(UTC)
        caseproof.check(proof, root, now)
        timings = []
        for _ in range(args.checks):
            t = time.perf_counter()
            caseproof.check(proof, root, now)
            timings.append(time.perf_counter() - t)
    timings.sort()
    lines = [
        "county written the real way (one clerk action per transaction, fsync each,",
        "  checkpoints at the store's cadence), `tongban audit verify HOME`:",
        f"  {real[0]:,} records, {real[3]:,} checkpoints, {real[1]:,.0f} B stored/record "
        "(target <= 500)",
        f"  written at {real[2]:,.0f} records/s; audit {real[4]:,.0f} records/s "
        "(target >= 150,000),",
        f"  audited in a fresh process ({real[5]:.2f} s for the whole process, Python "
        "start-up and imports included)",
        "same, one checkpoint per write (the store before issue 18):",
        f"  {old[0]:,} records, {old[3]:,} checkpoints, {old[1]:,.0f} B stored/record; "
        f"written at {old[2]:,.0f}/s; audit {old[4]:,.0f} records/s",
        "",
        f"database: {total:,} records from {args.origins} origins, {size_mb:.1f} MB "
        f"(built in {built:.1f} s, not measured)",
        "full audit (hash + parse every record, the authority table, compare stored leaf",
        "  hashes and tree nodes, checkpoint signatures, receipts, chains at the receipt time):",
        f"  time                      {took:10.2f} s",
        f"  records/s                 {total / took:10,.0f}",
        f"case proof check ({len(refs)} records, inclusion proofs at size {args.records:,}, "
        "1 receipt,",
        f"  chain county -> region -> root), {args.checks} runs:",
        f"  mean                      {statistics.mean(timings) * 1000:10.2f} ms",
        f"  p99                       {timings[int(len(timings) * 0.99) - 1] * 1000:10.2f} ms",
        f"  proof file                {len(proof):10,} bytes",
    ]
    command = (f".venv/bin/python -m bench.bench_audit --origins {args.origins} "
               f"--records {args.records} --checks {args.checks} --real {args.real}")
    write_results("audit", command, lines, workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
