"""Federation: parent ingest of verified records, and bytes on the wire per case event.

Targets (issue 4): ingest >= 20,000 records/s on this 2-core machine; <= 150 bytes
on the wire per typical case event, protocol overhead included.

Ingest runs the real receive path (chain, subtree rule, checkpoint signature,
Merkle consistency, projection) on batches cut by the real sender. Wire bytes
are counted by the link emulator (profile `perfect`, so only counting) between
a real uplink and a real gRPC server with mutual TLS: everything TCP carries,
TLS, HTTP/2 and gzip included.

Run: .venv/bin/python -m bench.bench_federation
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from bench.bench_node import _accept_draft, _apply_draft
from bench.common import write_results
from node.home import Home
from node.link import make_uplink
from node.matters import current_matter, list_matters
from node.serve import start_server
from node.store import Draft, NodeStore
from node.wiring import build
from ops.linkemu import LinkEmulator, profile_by_name
from ops.localfed import Federation, tongban
from pki.division import in_subtree
from protos.tongban.v1 import record_pb2
from sync.batches import MAX_BATCH_BYTES, make_batch

CASES = 4000
STEPS = ("review", "decide", "conclude", "deliver")


def _step(case_no: str, action: str) -> Draft:
    extra = {"approve": True} if action == "decide" else (
        {"method": "窗口领取"} if action == "deliver" else {})
    data = record_pb2.CaseEvent(case_no=case_no, action=action, actor="窗口03",
                                **extra).SerializeToString()
    return Draft(record_pb2.CASE_EVENT, lambda _s, _h: data)


def fill(county: NodeStore) -> int:
    """CASES cases taken from apply to delivery: six events each, 200 cases per transaction."""
    matter = current_matter(county.db, list_matters(county.db)[0]["code"])
    for _ in range(0, CASES, 200):
        base = county.log.size(county.division)
        county.write([_apply_draft(matter) for _ in range(200)])
        numbers = [f"540102-2026-{base + i:07d}" for i in range(200)]
        county.write([_accept_draft(n) for n in numbers])
        for action in STEPS:
            county.write([_step(n, action) for n in numbers])
    return county.log.size(county.division)


def ingest_rate(county: NodeStore, parent: NodeStore) -> tuple[int, float]:
    replica = build(parent)
    source = build(county)
    batches = []
    start = 0
    while (batch := make_batch(county.log, source.certs, "540102", start, MAX_BATCH_BYTES)):
        batches.append(batch)
        start += len(batch.records)
    began = time.perf_counter()
    for batch in batches:
        replica.receiver.receive(batch, "540102", lambda o: in_subtree("540102", o))
    return start, start / (time.perf_counter() - began)


def wire_bytes(county: NodeStore, parent_home: Path) -> tuple[int, int, int]:
    parent = NodeStore.open(Home(parent_home))
    server, port = start_server(parent, build(parent), "127.0.0.1:0")
    try:
        with LinkEmulator(("127.0.0.1", port), profile_by_name("perfect")) as link:
            county.config.parent_address = link.address
            report = make_uplink(county, build(county)).exchange()
            stats = link.stats()
    finally:
        server.stop(0).wait()
        parent.close()
    return stats.up.delivered + stats.down.delivered, report.bytes_sent, sum(
        report.pushed.values())


def main() -> None:
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        fed = Federation(Path(tmp))
        fed.add("000000")
        fed.add("540100", "000000")
        fed.add("540102", "540100")
        tongban("matter", "import", "--sample", home=fed.nodes["540102"].home)
        county = NodeStore.open(Home(fed.nodes["540102"].home))
        events = fill(county)
        parent_home = fed.nodes["540100"].home
        fresh = Path(tmp) / "parent-fresh.db"
        shutil.copy(parent_home / "node.db", fresh)
        wire, payload, pushed = wire_bytes(county, parent_home)
        shutil.copy(fresh, parent_home / "node.db")
        for suffix in ("-wal", "-shm"):
            (parent_home / f"node.db{suffix}").unlink(missing_ok=True)
        parent = NodeStore.open(Home(parent_home))
        ingested, rate = ingest_rate(county, parent)
        raw = county.db.execute("SELECT sum(length(data)) FROM records WHERE origin='540102'"
                                ).fetchone()[0]
    write_results("federation", ".venv/bin/python -m bench.bench_federation", [
        f"case events: {events:,} ({CASES:,} cases x apply, accept, review, decide, conclude,"
        " deliver; first ones are the sample catalogue)",
        f"record bytes (protobuf, as signed): {raw / events:.1f} bytes/event on average",
        f"parent ingest of verified records: {rate:,.0f} records/s ({ingested:,} records, "
        "real receive path incl. projection, one transaction per batch) (target >= 20,000)",
        f"on the wire, one sync of {pushed:,} records: {wire:,} bytes both ways incl. TLS,"
        f" HTTP/2, gzip, Hello and receipts = {wire / pushed:.1f} bytes/event (target <= 150)",
        f"  (protobuf messages before gzip: {payload:,} bytes = {payload / pushed:.1f}/event)",
    ])


if __name__ == "__main__":
    main()
