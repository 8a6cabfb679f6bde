"""Pipelined pushes at a real servicer over mTLS: a small batch sent right behind a large
one is stored after it, not refused OUT_OF_RANGE and quarantined (sync.arrival).

The parent unpacks each push outside its lock; the large batch takes longer to inflate,
so without the ordering the small one reached the receiver first (seen in
test_recovery's kill test as an OUT_OF_RANGE row in the region's quarantine table).
"""

from __future__ import annotations

import sqlite3

from servicer_fixtures import served, stub_as

from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import COUNTY, REGION, add_events, records
from protos.tongban.v1 import federation_pb2
from sync.batches import MAX_BATCH_BYTES, make_batch
from sync.packing import pack


def _batches(home, start: int) -> tuple[federation_pb2.LogBatch, federation_pb2.LogBatch]:
    """A large batch from ``start`` and the small one that follows it, as the uplink makes
    them (checkpoint first)."""
    store = NodeStore.open(Home(home))
    try:
        store.ensure_checkpoint()
        certs = build(store).certs
        large = make_batch(store.log, certs, COUNTY, start, MAX_BATCH_BYTES)
        assert large is not None
        small = make_batch(store.log, certs, COUNTY, start + len(large.records), 2048)
        assert small is not None
        return large, small
    finally:
        store.close()


def _quarantine(home) -> list[tuple]:
    db = sqlite3.connect(home / "node.db")
    try:
        return db.execute("SELECT first_seq, status FROM quarantine").fetchall()
    finally:
        db.close()


def test_a_small_push_behind_a_large_one_waits_for_it(fed_copy):
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    add_events(county, 8000)
    held = len(records(region, COUNTY))
    large, small = _batches(county, held)
    end = small.first_seq + len(small.records)
    with served(region) as address, stub_as(county, REGION, address) as stub:
        first = stub.PushLogs.future(federation_pb2.PushRequest(batch=pack(large)), timeout=60)
        second = stub.PushLogs.future(federation_pb2.PushRequest(batch=pack(small)),
                                      timeout=60)
        assert first.result().stored_size == small.first_seq
        assert second.result().stored_size == end
    assert _quarantine(region) == []
    assert records(region, COUNTY) == records(county, COUNTY)[:end]
