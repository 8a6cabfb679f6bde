"""Audit throughput on a large replicated database, and the cost of checking one case proof.

The database is built the fast way (LogStore directly, one signed checkpoint
and one parent receipt per origin), because what is measured is the auditor,
not the writer. The audit itself is the full one: every record hashed and
parsed, judged by the authority table (node.authority: each origin's log opens
with its staff register, then case events by a registered clerk), stored leaf
hashes and tree nodes compared, signatures and chains.

    .venv/bin/python -m bench.bench_audit --origins 50 --records 20000
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import write_results
from node.authority import AuditPolicy
from pki import certs, keys
from pki.checkpoint import CheckpointSigner, make_receipt
from protos.tongban.v1 import record_pb2
from sync import certstore, receive
from sync.audit import audit_database, caseproof
from sync.certstore import CertStore
from sync.log import LogStore
from sync.records import build_record

REGION = "540000"


def _codes(n: int) -> list[str]:
    """n county codes under 540000: 5401xx, 5402xx, … (prefecture part never 00)."""
    return [f"54{1 + i // 99:02d}{1 + i % 99:02d}" for i in range(n)]


def _staff() -> bytes:
    return record_pb2.StaffMember(staff_id="窗口1", name="测试", roles=["clerk"]
                                  ).SerializeToString()


def _body(origin: str, seq: int) -> bytes:
    return record_pb2.CaseEvent(
        case_no=f"{origin}-2026-{seq // 4:07d}", action="accept", actor="窗口1",
        matter_code=f"{origin}-QR-001", matter_version=1, applicant_id="540102199001010011",
        applicant_name="测试申请人", channel="window", materials=["居民户口簿", "居民身份证"],
    ).SerializeToString()


def build(path: Path, origins: int, per_origin: int) -> tuple[certs.x509.Certificate, list]:
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
        hlc = int((now - timedelta(days=1)).timestamp() * 1000) << 16
        for first in range(0, per_origin, 10_000):
            batch = [build_record(code, seq, hlc + seq, record_pb2.CASE_EVENT, _body(code, seq))
                     if seq else build_record(code, 0, hlc, record_pb2.STAFF_REGISTERED, _staff())
                     for seq in range(first, min(first + 10_000, per_origin))]
            log.append(code, first, batch)
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.db"
        t0 = time.perf_counter()
        root, _ = build(path, args.origins, args.records)
        built = time.perf_counter() - t0
        size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        report = audit_database(path, root, datetime.now(UTC), policy=AuditPolicy())
        took = time.perf_counter() - t0
        assert report.ok, report.text()
        total = report.records()

        db = sqlite3.connect(path)
        origin = _codes(1)[0]
        refs = [(origin, seq) for seq in (4, 5, 6, 7)]  # one case's four events
        proof = caseproof.prove(db, refs, f"{origin}-2026-0000001")
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
        f"database: {total:,} records from {args.origins} origins, {size_mb:.1f} MB "
        f"(built in {built:.1f} s, not measured)",
        "full audit (hash + parse every record, the authority table, compare stored leaf",
        "  hashes and tree nodes, checkpoint signatures, receipts, chains at the receipt time):",
        f"  time                      {took:10.2f} s",
        f"  records/s                 {total / took:10,.0f}",
        f"case proof check (4 records, inclusion proofs at size {args.records:,}, 1 receipt,",
        f"  chain county -> region -> root), {args.checks} runs:",
        f"  mean                      {statistics.mean(timings) * 1000:10.2f} ms",
        f"  p99                       {timings[int(len(timings) * 0.99) - 1] * 1000:10.2f} ms",
        f"  proof file                {len(proof):10,} bytes",
    ]
    command = (f".venv/bin/python -m bench.bench_audit --origins {args.origins} "
               f"--records {args.records} --checks {args.checks}")
    write_results("audit", command, lines)


if __name__ == "__main__":
    main()
