"""Cross-region round trip: a hand-over (代收代办) and its acceptance through satellite links.

Federation 000000 → 540000 → 540102 and 000000 → 650000 → 650102, every node a real
`tongban serve --no-uplink` process with mutual TLS on 127.0.0.1; each county's
link to its region passes through the link emulator with the `satellite` profile
(128 kbit/s each way, 350 ms one way, 20 ms jitter), the links above are loopback.
Timed: from `case apply --handled-by 650102` at 540102 until 540102 shows the
handler's 受理, each hop one exchange in path order (540102, 540000, 650000, 650102;
accept at 650102; 650102, 650000, 540000, 540102): first as one real `tongban sync
--once` process per hop (what an operator's cron does), then as the uplink's exchange
in this process (no interpreter start, but a new channel each time), then with one
uplink per node kept open from exchange to exchange, as `tongban serve` runs it.

The physical minimum is what the two satellite links cannot avoid: four one-way
trips (hand-over up from 540102, down to 650102; answer up from 650102, down to
540102) plus the two records' bytes at the links' bandwidth (the bytes the emulator
actually carried, TLS and certificates included, are reported beside it).
Everything above it is protocol (TLS handshakes, Hello, push and pull round trips)
and process start.

Run: .venv/bin/python -m bench.bench_crossregion [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import in_process, load_now, write_results
from bench.workload import WORKLOAD, Workload
from node.home import Home
from node.link import make_uplink
from node.store import NodeStore
from node.wiring import build as build_replica
from ops.fedcheck import set_parent_address
from ops.linkemu import LinkEmulator, profile_by_name
from ops.localfed import Federation
from sync import deliver
from sync.uplink import LinkDown, Uplink

LIST_FILE = Path(__file__).resolve().parents[1] / "ops" / "data" / "crossregion_list.toml"
TREE = (("000000", None), ("540000", "000000"), ("540102", "540000"),
        ("650000", "000000"), ("650102", "650000"))
THERE = ("540102", "540000", "650000", "650102")
BACK = ("650102", "650000", "540000", "540102")
MATERIALS = ("居民身份证", "近期免冠照片", "居住证明（房屋租赁合同或不动产权证书）")
STAFF = "窗口01"


def build(root: Path) -> Federation:
    fed = Federation(root, run=in_process)
    for division, parent in TREE:
        fed.add(division, parent)
    for county in ("540102", "650102"):
        home = fed.nodes[county].home
        in_process("matter", "import", "--sample", home=home)
        in_process("staff", "add", "--id", STAFF, "--name", "测试", "--role", "clerk",
                   "--role", "reviewer", "--role", "approver", home=home)
    in_process("crossregion", "publish", str(LIST_FILE), home=fed.nodes["000000"].home)
    return fed


#: The satellite profile drops connections now and then (as the link does): an exchange
#: cut by a drop is tried again, as the running uplink would, and the time counts.
ATTEMPTS = 5
RETRIES: list[str] = []


def sync(fed: Federation, division: str) -> float:
    """Real `tongban sync --once` processes until one succeeds; their wall seconds."""
    began = time.perf_counter()
    for _ in range(ATTEMPTS):
        done = subprocess.run([sys.executable, "-m", "node.cli", "sync", "--once", "--home",
                               str(fed.nodes[division].home)], capture_output=True)
        if done.returncode == 0:
            return time.perf_counter() - began
        RETRIES.append(f"sync --once {division}: {done.stderr.decode().strip()[-120:]}")
    raise RuntimeError(f"{division}: {ATTEMPTS} attempts failed")


def exchange(fed: Federation, division: str) -> float:
    """Exchanges of the real uplink in this process until one succeeds; wall seconds."""
    store = NodeStore.open(Home(fed.nodes[division].home))
    try:
        began = time.perf_counter()
        for _ in range(ATTEMPTS):
            uplink = make_uplink(store, build_replica(store))
            try:
                uplink.exchange()
                return time.perf_counter() - began
            except LinkDown as exc:
                RETRIES.append(f"exchange {division}: {str(exc)[:120]}")
        raise RuntimeError(f"{division}: {ATTEMPTS} attempts failed")
    finally:
        store.close()


class KeptOpen:
    """One uplink per node, kept from exchange to exchange as `tongban serve` keeps its
    uplink: the channel stays open (no TLS handshake after the first), and a push goes out
    from the parent's sizes of the last exchange while Hello crosses."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[NodeStore, Uplink]] = {}

    def __call__(self, fed: Federation, division: str) -> float:
        if division not in self._open:
            store = NodeStore.open(Home(fed.nodes[division].home))
            self._open[division] = (store, make_uplink(store, build_replica(store)))
        uplink = self._open[division][1]
        began = time.perf_counter()
        for _ in range(ATTEMPTS):
            try:
                uplink.exchange()
                return time.perf_counter() - began
            except LinkDown as exc:   # the channel closed itself: the next try reconnects
                RETRIES.append(f"kept-open exchange {division}: {str(exc)[:120]}")
        raise RuntimeError(f"{division}: {ATTEMPTS} attempts failed")

    def warm(self, fed: Federation) -> None:
        """Open every channel before timing, as a running serve has it open already."""
        for division in (*THERE, *BACK):
            self(fed, division)

    def close(self) -> None:
        for store, uplink in self._open.values():
            uplink.close()
            store.close()
        self._open.clear()


def applicant(county: str, rng: random.Random) -> tuple[str, str]:
    """A resident ID and name as bench.workload makes them for the county's people."""
    return Workload.resident_id(rng, county), Workload.name(rng, county)


def one_round(fed: Federation, links: dict[str, LinkEmulator], rng: random.Random,
              hop: Callable[[Federation, str], float]) -> dict[str, float]:
    window, handler = fed.nodes["540102"].home, fed.nodes["650102"].home
    before = {c: _carried(link) for c, link in links.items()}
    idno, name = applicant("540102", rng)
    began = time.perf_counter()
    case_no = in_process("case", "apply", "--matter", "GG00101000", "--handled-by", "650102",
                         "--applicant", idno, "--name", name,
                         *[a for m in MATERIALS for a in ("--material", m)], "--actor", STAFF,
                         "--quiet", home=window).stdout.strip()
    hops = {f"there {d}": hop(fed, d) for d in THERE}
    arrived = time.perf_counter()
    in_process("case", "accept", case_no, "--actor", STAFF, home=handler)
    hops |= {f"back {d}": hop(fed, d) for d in BACK}
    done = time.perf_counter()
    state = in_process("case", "show", case_no, "--json", home=window).stdout
    assert '"state": "accepted"' in state, state
    carried = sum(_carried(link) - before[c] for c, link in links.items())
    return {"round_trip_s": done - began, "hand_over_s": arrived - began,
            "payload_bytes": _payload(fed, case_no),
            "satellite_hops_s": sum(v for k, v in hops.items() if k.endswith(("540102",
                                                                              "650102"))),
            "satellite_bytes": carried, **hops}


def _summary(rounds: list[dict[str, float]], minimum: float, bandwidth: int) -> list[str]:
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    floor = minimum + median["payload_bytes"] * 8 / bandwidth
    return [
        f"  round trip, apply → 受理 visible at the window: {median['round_trip_s']:.2f} s",
        f"    of which hand-over reaching the handler:      {median['hand_over_s']:.2f} s",
        f"    the four satellite-link exchanges together:   {median['satellite_hops_s']:.2f} s",
        f"  bytes over the two satellite links per round:   {median['satellite_bytes']:.0f} "
        f"(the two records themselves, twice each: {median['payload_bytes']:.0f})",
        f"  physical minimum: 4 one-way trips + the records at {bandwidth // 1000} kbit/s = "
        f"{floor:.2f} s",
        f"  ratio round trip / minimum {median['round_trip_s'] / floor:.1f}×; satellite "
        f"exchanges / minimum {median['satellite_hops_s'] / floor:.1f}×",
        "  per hop (median wall seconds):",
        *[f"    {key:<16} {value:.2f}" for key, value in median.items()
          if key.startswith(("there", "back"))],
    ]


def _payload(fed: Federation, case_no: str) -> int:
    """The conversation's own bytes on the satellite links: the hand-over and the answer,
    each crossing two of them (up from one county, down to the other)."""
    store = NodeStore.open(Home(fed.nodes["540102"].home))
    try:
        keys = store.db.execute("SELECT origin, seq FROM case_events WHERE case_no = ?",
                                (case_no,)).fetchall()
        return 2 * sum(len(data) for data in deliver.held_records(store.log, store.db, keys))
    finally:
        store.close()


def _carried(link: LinkEmulator) -> int:
    stats = link.stats()
    return stats.up.delivered + stats.down.delivered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_before = load_now()
    profile = profile_by_name("satellite")
    rng = random.Random(18)
    with tempfile.TemporaryDirectory() as tmp:
        fed = build(Path(tmp) / "fed")
        links: dict[str, LinkEmulator] = {}
        kept = KeptOpen()
        try:
            for division in ("000000", "540000", "650000"):
                fed.start(division)
            for county, region in (("540102", "540000"), ("650102", "650000")):
                link = LinkEmulator(("127.0.0.1", fed.nodes[region].port), profile, seed=18)
                link.start()
                links[county] = link
                set_parent_address(fed.nodes[county].home, link.address)
            for county in ("540102", "650102"):     # the list down, every link warmed once
                for division in ("540000", "650000", county):
                    sync(fed, division)
            measured = {how: [one_round(fed, links, rng, hop) for _ in range(args.rounds)]
                        for how, hop in (("sync --once processes", sync),
                                         ("uplink exchanges in one process", exchange))}
            kept.warm(fed)
            measured["uplinks kept open, as tongban serve runs them"] = [
                one_round(fed, links, rng, kept) for _ in range(args.rounds)]
        finally:
            kept.close()
            for link in links.values():
                link.stop()
            fed.stop_all()
    minimum = 4 * profile.one_way_latency_s
    lines = [
        f"profile: satellite ({profile.bandwidth_bps_up // 1000} kbit/s each way, "
        f"{profile.one_way_latency_s * 1000:.0f} ms one way, {profile.jitter_s * 1000:.0f} ms "
        "jitter) on both county links; loopback above",
        f"rounds: {args.rounds} per client kind (median shown; each: apply, 4 exchanges "
        "there, accept, 4 back)",
    ]
    for how, rounds in measured.items():
        lines += ["", f"clients: {how}", *_summary(rounds, minimum, profile.bandwidth_bps_up)]
    lines += ["", f"exchanges tried again after a link drop: {len(RETRIES)}",
              *[f"  {line}" for line in RETRIES]]
    lines += [
        "",
        "Above the minimum: each exchange opens a channel (TLS handshake: 2 round trips",
        "on the satellite link), then Hello, push and pull (a round trip each); a",
        "`sync --once` process adds its interpreter start. A kept-open uplink has no",
        "handshake and pushes while Hello crosses, so its exchange is Hello (with the",
        "push beside it) and pull: two round trips.",
    ]
    write_results("crossregion", "python -m bench.bench_crossregion", lines,
                  workload=f"{WORKLOAD} (applicants' IDs and names); one hand-over per round",
                  load_before=load_before)


if __name__ == "__main__":
    main()
