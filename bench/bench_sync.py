"""Sync of 10,000 realistic case events through the `satellite` link (128 kbit/s, 700 ms RTT).

Targets (issue 6, issue 18): `sync --once` <= 1.25x and a kept-open channel
<= 1.15x the physical limit of the link, where the limit is the size of the
batches as sent (packed with bzip2, sync.packing) divided by the bandwidth; <= 20 bytes on the wire
per event (emulator byte counters, everything TCP carries); re-sent bytes
after a forced drop reported. Drops are off for the main figures. Events come
from bench.workload. Reported: a cold first sync (the county never synced, so
the pacer starts from its default), then a one-shot sync of a county that has
synced before (the pacer starts from the rate it measured then), then the
kept-open channel as `tongban serve` runs it.

Run: .venv/bin/python -m bench.bench_sync
"""

from __future__ import annotations

import gzip
import itertools
import tempfile
import time
from pathlib import Path

from bench.common import load_now, write_results
from bench.workload import WORKLOAD, Workload, published_matters
from node import link, linkstate
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import (
    COUNTY,
    REGION,
    build_federation,
    records,
    set_parent_address,
    size,
)
from ops.linkemu import LinkEmulator, profile_by_name
from protos.tongban.v1 import federation_pb2
from sync.batches import make_batch
from sync.packing import pack
from sync.uplink import LinkDown

EVENTS = 10_000
BANDWIDTH = 128_000
_next_case = [1]


def add_events(home: Path, count: int, per_write: int) -> None:
    """``count`` workload events, ``per_write`` per transaction, case numbers never reused."""
    store = NodeStore.open(Home(home))
    try:
        workload = Workload(published_matters(store), seed=_next_case[0])
        drafts = list(workload.drafts(COUNTY, count, first_seq=store.log.size(COUNTY),
                                      first_number=_next_case[0]))[:count]
        _next_case[0] += count
        for first in range(0, count, per_write):
            store.write(drafts[first:first + per_write])
    finally:
        store.close()


def _sync(home: Path, progress=None):
    store = NodeStore.open(Home(home))
    try:
        uplink = link.make_uplink(store, build(store), progress=progress)
        return link.exchange_once(store, uplink)
    finally:
        store.close()


def _warm(county: Path, fed) -> tuple[float, float]:
    """Two exchanges over one kept-open connection; the second, with EVENTS new events, timed."""
    store = NodeStore.open(Home(county))
    uplink = link.make_uplink(store, build(store))
    try:
        link.exchange_once(store, uplink)
        held = size(fed.nodes[REGION].home, COUNTY)
        add_events(county, EVENTS, per_write=1000)
        marks: list[str] = []
        uplink.progress = marks.append
        started = time.monotonic()
        link.exchange_once(store, uplink)
        seconds = time.monotonic() - started
    finally:
        uplink.close()
        store.close()
    acked = [int(line.split()[-1]) for line in marks if line.startswith("push")]
    limit = sum(_wire_sizes(county, [held, *acked])) * 8 / BANDWIDTH
    return seconds, limit


def _wire_sizes(home: Path, bounds: list[int], *, framing: bool = False,
                gzipped: bool = False) -> list[int]:
    """The batches between consecutive acknowledged sizes, cut again and packed as sent
    (sync.packing: bzip2, no gRPC gzip); with ``framing``, only what each carries beside
    its records (certificates, checkpoint note, consistency proof); with ``gzipped``, as
    gRPC's gzip would have sent them unpacked (the protocol before packing)."""
    store = NodeStore.open(Home(home))
    try:
        replica = build(store)
        out = []
        for start, end in itertools.pairwise(bounds):
            budget = sum(len(d) for d in store.log.records(COUNTY, start, end))
            plain = make_batch(store.log, replica.certs, COUNTY, start, budget)
            if gzipped:
                out.append(len(gzip.compress(
                    federation_pb2.PushRequest(batch=plain).SerializeToString())))
                continue
            batch = pack(plain)
            if framing:
                batch.packed_records = b""
            out.append(len(federation_pb2.PushRequest(batch=batch).SerializeToString()))
        return out
    finally:
        store.close()


def _rate(home: Path) -> float:
    store = NodeStore.open(Home(home))
    try:
        return linkstate.load(store.db).throughput_bps
    finally:
        store.close()


def _cold(county: Path, fed, profile) -> tuple[float, float, float]:
    """The county's first sync ever: EVENTS events, pacer at its default start."""
    add_events(county, EVENTS, per_write=1000)
    held = size(fed.nodes[REGION].home, COUNTY)
    marks: list[str] = []
    with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=3) as emu:
        set_parent_address(county, emu.address)
        started = time.monotonic()
        _sync(county, progress=marks.append)
        seconds = time.monotonic() - started
    acked = [int(line.split()[-1]) for line in marks if line.startswith("push")]
    return seconds, sum(_wire_sizes(county, [held, *acked])) * 8 / BANDWIDTH, sum(
        _wire_sizes(county, [held, *acked], gzipped=True)) * 8 / BANDWIDTH


def main() -> None:
    lines: list[str] = []
    load = load_now()
    with tempfile.TemporaryDirectory() as tmp:
        fed = build_federation(Path(tmp))
        county = fed.nodes[COUNTY].home
        fed.start(REGION)
        try:
            profile = profile_by_name("satellite", mean_seconds_between_drops=0)
            cold_seconds, cold_limit, cold_gzip_limit = _cold(county, fed, profile)
            rtt = 2 * profile.one_way_latency_s
            with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=1) as emu:
                set_parent_address(county, emu.address)
                add_events(county, EVENTS, per_write=1000)
                before = emu.stats()
                marks: list[tuple[float, str]] = []
                started = time.monotonic()
                held = size(fed.nodes[REGION].home, COUNTY)
                report = _sync(
                    county, progress=lambda line: marks.append((time.monotonic(), line)))
                total = time.monotonic() - started
                after = emu.stats()
                warm_seconds, warm_limit = _warm(county, fed)
            acked = [int(line.split()[-1]) for _, line in marks if line.startswith("push")]
            sent = _wire_sizes(county, [held, *acked])
            framing = _wire_sizes(county, [held, *acked], framing=True)
            gzip_limit = sum(_wire_sizes(county, [held, *acked], gzipped=True)) * 8 / BANDWIDTH
            up = after.up.accepted - before.up.accepted
            down = after.down.accepted - before.down.accepted
            limit = sum(sent) * 8 / BANDWIDTH
            hello_at = next(t for t, line in marks if line.startswith("hello")) - started
            payload = sum(len(d) for _, d in records(county, COUNTY)[-EVENTS:])
            lines += [
                f"cold first sync (the county never synced; pacer from its default): "
                f"{EVENTS:,} events in {cold_seconds:.1f} s = {cold_seconds / cold_limit:.2f}x "
                f"the limit of {cold_limit:.1f} s (target <= 1.25x); "
                f"{cold_seconds / (cold_limit + 4 * rtt):.2f}x the limit plus the 4 round trips "
                f"no first sync can skip (TCP, TLS, Hello, the last answer: {4 * rtt:.1f} s); "
                f"{cold_seconds / cold_gzip_limit:.2f}x the {cold_gzip_limit:.1f} s the same "
                "batches under gRPC's gzip (before packing) take on the link alone",
                f"steady state, as `tongban serve` runs it (connection kept open between "
                f"exchanges, so no TLS handshake): {EVENTS:,} events in {warm_seconds:.1f} s = "
                f"{warm_seconds / warm_limit:.2f}x the limit of {warm_limit:.1f} s "
                f"(target <= 1.15x); {warm_seconds / (warm_limit + rtt):.2f}x the limit plus "
                "the last answer's round trip",
                "",
                "one-shot `tongban sync --once` (new connection, pacer from the last sync):",
                f"events: {EVENTS:,} realistic case events, payload {payload:,} bytes",
                f"link: {profile.describe()}",
                f"batches: {len(sent)}, size as sent (packed: bzip2) {sum(sent):,} bytes "
                f"({payload / max(sum(sent), 1):.1f}:1)",
                f"  of which certificates, checkpoint note and proof: {sum(framing):,} bytes "
                f"({sum(framing) / len(sent):,.0f} per batch, {sum(framing) / EVENTS:.2f} per "
                "event)",
                f"physical limit (batches as sent x 8 / 128 kbit/s): {limit:.1f} s",
                f"time to sync, end to end (TLS handshake, Hello, pipelined pushes): "
                f"{total:.1f} s = {total / limit:.2f}x the limit (target <= 1.25x); "
                f"{total / (limit + 4 * rtt):.2f}x the limit plus 4 round trips; "
                f"{total / gzip_limit:.2f}x the {gzip_limit:.1f} s of the gzip batches before "
                "packing",
                f"  of which connect + TLS + Hello: {hello_at:.1f} s; pushes after Hello: "
                f"{total - hello_at:.1f} s = {(total - hello_at) / limit:.2f}x the limit",
                f"bytes on the wire per event: {up / EVENTS:.1f} up, {down / EVENTS:.1f} down, "
                f"{(up + down) / EVENTS:.1f} total (target <= 20)",
                f"pushed {sum(report.pushed.values()):,} records, pacer ended at "
                f"{_rate(county) / 1000:.0f} kB/s of payload",
            ]

            # A forced drop half-way through another 10,000 events.
            add_events(county, EVENTS, per_write=1000)
            held_before = size(fed.nodes[REGION].home, COUNTY)
            with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=2) as emu:
                set_parent_address(county, emu.address)

                def drop_once(line: str) -> None:
                    if line.startswith("push") and emu.stats().drops == 0:
                        emu.drop_connections()

                attempted_first = 0
                try:
                    _sync(county, progress=drop_once)
                except LinkDown as exc:
                    attempted_first = exc.report.payload_attempted if exc.report else 0
                held_at_drop = size(fed.nodes[REGION].home, COUNTY)
                second = _sync(county)
                wire = emu.stats().up.accepted
            data = dict(records(county, COUNTY))
            stored_first = sum(len(data[s]) for s in range(held_before, held_at_drop))
            resumed_at = second.started_from[COUNTY]
            resent_stored = sum(len(data[s]) for s in range(resumed_at, held_at_drop))
            lines += [
                "",
                "forced drop after the first acknowledged batch of another 10,000 events:",
                f"  payload sent before the drop {attempted_first:,} bytes, stored by the parent "
                f"{stored_first:,}: lost in flight {attempted_first - stored_first:,} bytes",
                f"  parent held {held_at_drop} after the drop; the resumed exchange started "
                f"from {resumed_at}: payload {second.payload_attempted:,} bytes, of which "
                f"already stored: {resent_stored:,} bytes",
                f"  wire bytes up for both exchanges: {wire:,}",
            ]
        finally:
            fed.stop_all()
    write_results("sync", ".venv/bin/python -m bench.bench_sync", lines, workload=WORKLOAD,
                  load_before=load)


if __name__ == "__main__":
    main()
