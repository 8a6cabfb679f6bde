"""Federation: parent ingest in-process and through real `serve`, wire bytes per case event.

Targets (issue 4, issue 18): ingest >= 20,000 records/s in-process; through real
`tongban serve` processes with mutual TLS on loopback >= 25,000 records/s
aggregate with 40 children pushing at once, every child exiting 0; <= 20 bytes
on the wire per event on the realistic workload (bench.workload).

- in-process: the real receive path (chain, subtree rule, checkpoint signature,
  Merkle consistency, projection) on batches cut by the real sender, no network;
- one child through `serve`: a real `tongban serve --no-uplink` parent and a real
  `tongban sync --once` child process (gRPC, TLS, gzip, pacer), wall time;
- N children at once: N `tongban sync --once` processes started together
  against one `serve` parent; aggregate = records / wall time until the last exits;
- wire bytes: the link emulator (profile `perfect`, only counting) between a
  real uplink and a real gRPC server with mutual TLS: everything TCP carries.

Run: .venv/bin/python -m bench.bench_federation [--children 40 --per-child 5000]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import in_process, load_now, write_results
from bench.workload import WORKLOAD, Workload, gzip_ratio, published_matters
from node.home import Home
from node.link import make_uplink
from node.serve import start_server
from node.store import NodeStore
from node.wiring import build
from ops.linkemu import LinkEmulator, profile_by_name
from ops.localfed import Federation
from pki.division import in_subtree, listed
from sync.batches import MAX_BATCH_BYTES, make_batch

COUNTY = "540102"
PARENT = "540000"
EVENTS = 50_000
CORES = os.cpu_count() or 1


def fill(store: NodeStore, events: int, division: str) -> int:
    """``events`` workload events of ``division`` written 1,000 per transaction."""
    workload = Workload(published_matters(store))
    drafts = list(workload.drafts(division, events,
                                     first_seq=store.log.size(division)))[:events]
    for first in range(0, len(drafts), 1000):
        store.write(drafts[first:first + 1000])
    store.ensure_checkpoint()
    return store.log.size(division)


def ingest_rate(county: NodeStore, parent: NodeStore) -> tuple[int, float, float]:
    replica = build(parent)
    source = build(county)
    batches = []
    start = 0
    while (batch := make_batch(county.log, source.certs, COUNTY, start, MAX_BATCH_BYTES)):
        batches.append(batch)
        start += len(batch.records)
    began, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        replica.receiver.receive(batch, COUNTY, lambda o: in_subtree(COUNTY, o))
    return (start, start / (time.perf_counter() - began),
            start / (time.process_time() - cpu))


def wire_bytes(county: NodeStore, parent_home: Path) -> tuple[int, int, int]:
    parent = NodeStore.open(Home(parent_home))
    server, port, _health = start_server(parent, build(parent), "127.0.0.1:0")
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


def _restore(db_copy: Path, home: Path) -> None:
    shutil.copy(db_copy, home / "node.db")
    for suffix in ("-wal", "-shm"):
        (home / f"node.db{suffix}").unlink(missing_ok=True)


def _current_counties(count: int) -> list[str]:
    """Current Tibetan county codes of the shipped GB/T 2260 list, other than COUNTY (a node
    refuses a code the list does not hold)."""
    found = [code for code in (f"54{p:02d}{c:02d}" for p in range(1, 100) for c in range(21, 100))
             if (entry := listed(code)) is not None and entry[1] is None and code != COUNTY]
    if len(found) < count:
        raise SystemExit(f"only {len(found)} current Tibetan counties for {count} children")
    return found[:count]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """User + system CPU seconds of every child process this bench has waited for."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def serve_push(fed: Federation, children: list[str]
               ) -> tuple[float, list[int], int, float, float]:
    """Wall seconds for ``children`` to `sync --once` at once, exit codes, records, parent CPU
    and the children's CPU (their start-up included)."""
    parent = fed.start(PARENT)
    assert parent.process is not None
    cpu_before = _cpu_seconds(parent.process.pid)
    children_before = _children_cpu()
    try:
        started = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-m", "node.cli", "sync", "--once",
                                   "--home", str(fed.nodes[c].home)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for c in children]
        codes = [p.wait() for p in procs]
        seconds = time.perf_counter() - started
        parent_cpu = _cpu_seconds(parent.process.pid) - cpu_before
        children_cpu = _children_cpu() - children_before
        for p, child in zip(procs, children, strict=True):
            if p.returncode:
                print(f"child {child} exited {p.returncode}: {p.stderr.read().decode()[-400:]}",
                      file=sys.stderr)
    finally:
        fed.stop(PARENT)
    store = NodeStore.open(Home(parent.home))
    try:
        held = sum(store.log.size(c) for c in children)
    finally:
        store.close()
    return seconds, codes, held, parent_cpu, children_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=40)
    parser.add_argument("--per-child", type=int, default=5_000)
    args = parser.parse_args()
    load = load_now()
    lines: list[str] = []
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        fed = Federation(Path(tmp), run=in_process)
        fed.add("000000")
        fed.add(PARENT, "000000")
        fed.add(COUNTY, PARENT)
        others = _current_counties(args.children)
        for code in others:
            fed.add(code, PARENT)
        parent_home = fed.nodes[PARENT].home
        fresh = Path(tmp) / "parent-fresh.db"
        shutil.copy(parent_home / "node.db", fresh)
        for code in [COUNTY, *others]:
            in_process("matter", "import", "--sample", home=fed.nodes[code].home)
        county = NodeStore.open(Home(fed.nodes[COUNTY].home))
        events = fill(county, EVENTS, COUNTY)
        own = county.log.records(COUNTY, 0, events)
        raw = sum(len(d) for d in own)
        ratio = gzip_ratio(own)

        wire, payload, pushed = wire_bytes(county, parent_home)
        _restore(fresh, parent_home)
        parent = NodeStore.open(Home(parent_home))
        ingested, rate, rate_cpu = ingest_rate(county, parent)
        parent.close()
        county.close()

        _restore(fresh, parent_home)
        one_s, one_codes, one_held, one_cpu, one_child_cpu = serve_push(fed, [COUNTY])

        for code in others:
            store = NodeStore.open(Home(fed.nodes[code].home))
            fill(store, args.per_child, code)
            store.close()
        _restore(fresh, parent_home)
        many_s, many_codes, many_held, many_cpu, many_child_cpu = serve_push(fed, others)
    ok = sum(1 for c in many_codes if c == 0)
    lines += [
        f"case events: {events:,} of county {COUNTY} (sample catalogue first), "
        f"{raw / events:.1f} bytes/record as signed, gzip {ratio:.1f}:1 in 1 MiB batches",
        f"in-process parent ingest (real receive path incl. projection, one transaction per "
        f"batch, no network): {rate:,.0f} records/s ({ingested:,} records) (target >= 20,000),"
        f" {rate_cpu:,.0f} per CPU second = {1e6 / rate_cpu:.0f} µs/record",
        f"one child through real serve (`tongban serve` + `tongban sync --once` processes, "
        f"mTLS on loopback): {one_held:,} records in {one_s:.1f} s = "
        f"{one_held / one_s:,.0f} records/s incl. the child's start-up "
        f"({one_held / one_s / rate:.2f} of in-process); exit {one_codes[0]}; parent CPU "
        f"{one_cpu:.1f} s = {one_cpu / one_held * 1e6:.0f} µs/record; child CPU "
        f"{one_child_cpu:.1f} s",
        f"{args.children} children pushing at once through real serve: {many_held:,} records "
        f"({args.per_child:,} each) in {many_s:.1f} s = {many_held / many_s:,.0f} records/s "
        f"aggregate (target >= 25,000); {ok}/{args.children} children exited 0; parent CPU "
        f"{many_cpu:.1f} s = {many_cpu / max(many_held, 1) * 1e6:.0f} µs/record "
        f"({many_cpu / many_s:.2f} cores busy on average)",
        f"  where the CPU went: children {many_child_cpu:.1f} s "
        f"({many_child_cpu / args.children:.2f} s each, start-up included) + parent "
        f"{many_cpu:.1f} s = {(many_child_cpu + many_cpu) / max(many_held, 1) * 1e6:.0f} "
        f"µs/record on {CORES} cores shared by both sides; "
        f"{CORES} cores at that cost carry at most "
        f"{CORES * max(many_held, 1) / max(many_child_cpu + many_cpu, 1e-9):,.0f} records/s",
        f"on the wire, one sync of {pushed:,} records: {wire:,} bytes both ways incl. TLS,"
        f" HTTP/2, gzip, Hello and receipts = {wire / pushed:.1f} bytes/event (target <= 20)",
        f"  (protobuf messages before gzip: {payload:,} bytes = {payload / pushed:.1f}/event)",
    ]
    command = (f".venv/bin/python -m bench.bench_federation --children {args.children} "
               f"--per-child {args.per_child}")
    write_results("federation", command, lines, workload=WORKLOAD, load_before=load)


if __name__ == "__main__":
    main()
