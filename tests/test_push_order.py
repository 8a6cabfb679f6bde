"""Pipelined pushes at a real servicer over mTLS: a small batch sent right behind a large
one is stored after it, not refused OUT_OF_RANGE and quarantined (sync.arrival).

The parent unpacks each push outside its lock; the large batch takes longer to inflate,
so without the ordering the small one reached the receiver first (seen in
test_recovery's kill test as an OUT_OF_RANGE row in the region's quarantine table).
"""

from __future__ import annotations

import sqlite3
import threading
import time

from servicer_fixtures import served, stub_as

from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import COUNTY, REGION, add_events, records
from protos.tongban.v1 import federation_pb2
from sync.arrival import MAX_WAITING, ArrivalOrder
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


def test_only_a_few_pushes_of_one_origin_wait_at_once():
    """A waiting push holds a server thread: past MAX_WAITING, an early push of the same
    origin is judged at once (and refused OUT_OF_RANGE by the receiver) instead."""
    order = ArrivalOrder()
    held = 0
    waiters = [threading.Thread(target=order.wait_for_predecessors,
                                args=("540102", 100 + i, lambda: held, 30.0))
               for i in range(MAX_WAITING)]
    with order.handling("540102", 0):   # an earlier push is in hand, so the others wait
        for thread in waiters:
            thread.start()
        deadline = time.monotonic() + 5
        while order._waiting["540102"] < MAX_WAITING and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        order.wait_for_predecessors("540102", 200, lambda: held, 30.0)
        assert time.monotonic() - started < 1.0     # the third did not wait
        other = time.monotonic()
        order.wait_for_predecessors("540121", 5, lambda: 5, 30.0)  # held already: no wait
        assert time.monotonic() - other < 1.0
        held = 1_000
    for thread in waiters:
        thread.join(timeout=5)
        assert not thread.is_alive()
