"""Sync through the link emulator with real `tongban serve` processes and mutual TLS.

The region serves; the county's uplink (its own `tongban serve`, or an
in-process Uplink where the test needs its report) reaches it only through a
LinkEmulator. County staff keep writing while the link syncs; in the end both
sides must hold the same bytes at the same sequence numbers.
"""

from __future__ import annotations

import time

import pytest
from node_fixtures import tongban

from node import link
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import (
    COUNTY,
    REGION,
    Writer,
    add_events,
    assert_same_log,
    copy_federation,
    records,
    set_parent_address,
    size,
    verify_logs,
)
from ops.linkemu import LinkEmulator, LinkStats, profile_by_name
from sync.batches import MAX_BATCH_BYTES, MIN_BATCH_BYTES
from sync.pacer import MIN_DEADLINE_S, START_BYTES, TARGET_SECONDS, Pacer
from sync.uplink import LinkDown

#: Events written before the uplink starts: more than the pacer's first batch (START_BYTES
#: of ~100-byte records), so the parent holds part of them while the rest is in flight.
INITIAL = 1000


@pytest.fixture
def fed(fed_template, tmp_path):
    fed = copy_federation(fed_template, tmp_path / "fed")
    fed.start(REGION)
    yield fed
    fed.stop_all()


def wait_converged(fed, timeout: float) -> None:
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if size(region, COUNTY) == size(county, COUNTY) and size(county, REGION) == size(
                region, REGION):
            return
        time.sleep(0.05)
    log = fed.nodes[COUNTY].log_path.read_text() if fed.nodes[COUNTY].log_path else ""
    raise AssertionError(f"not converged in {timeout}s: region holds {size(region, COUNTY)}"
                         f"/{size(county, COUNTY)}; county log:\n{log[-3000:]}")


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} in {timeout}s"
        time.sleep(0.05)


def converge_with_writes(fed, profile, initial: int, timeout: float,
                         mid_sync=lambda _emu: None) -> LinkStats:
    """Writes go on while the uplink pushes; ``mid_sync`` runs once the parent holds part.

    Returns the link's statistics at convergence, so a caller can show the link really
    did what its profile says (connections cut, the uplink connecting again)."""
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, initial, per_write=100)
    base = size(county, COUNTY)
    with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=7) as emu:
        set_parent_address(county, emu.address)
        writer = Writer(county, pause=0.05)
        writer.start()
        fed.start(COUNTY, uplink=True)
        wait_for(lambda: 0 < size(region, COUNTY) < base, timeout, "push under way")
        # Writes that land from here on overlap a push in progress, by construction.
        during = writer.written
        mid_sync(emu)
        wait_for(lambda: writer.written >= during + 2 * writer.per_write, timeout,
                 "writes during the push")
        writer.stop.set()
        writer.join()
        wait_converged(fed, timeout)
        stats = emu.stats()
    fed.stop(COUNTY)
    assert size(region, COUNTY) == size(county, COUNTY) == base + writer.written
    assert_same_log(county, region, COUNTY)
    assert_same_log(county, region, REGION)
    verify_logs(county)
    verify_logs(region)
    return stats


def set_deadline_scale(home, scale: float) -> None:
    h = Home(home)
    config = h.load_config()
    config.deadline_scale = scale
    h.save_config(config)


def test_satellite_converges_while_the_county_keeps_writing(fed):
    converge_with_writes(fed, profile_by_name("satellite"), INITIAL, timeout=90)


def test_blackhole_is_noticed_by_deadline_and_sync_resumes(fed):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 60, per_write=60)
    # A tenth of the real deadlines: the same rule, noticed in under two seconds.
    set_deadline_scale(county, 0.1)
    hello_deadline = Pacer(deadline_scale=0.1).deadline(4096)
    assert hello_deadline == pytest.approx(0.1 * (4 * 4096 / 2000 + 10))
    # Satellite round trips; the bandwidth only makes the resumed sync wait longer.
    profile = profile_by_name("satellite", mean_seconds_between_drops=0,
                              bandwidth_bps_up=1_000_000, bandwidth_bps_down=1_000_000)
    with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=3) as emu:
        set_parent_address(county, emu.address)
        emu.go_down("blackhole")
        started = time.monotonic()
        result = fed.sync(COUNTY, check=False)
        took = time.monotonic() - started
        assert result.returncode == 2, result.stderr
        assert "failed: DEADLINE_EXCEEDED" in result.stderr, result.stderr
        # Noticed by Hello's deadline on an unmeasured link: not before it, not much after.
        assert hello_deadline <= took < hello_deadline + 2, took
        emu.go_up()
        set_deadline_scale(county, 1.0)
        assert fed.sync(COUNTY).returncode == 0
    assert_same_log(county, region, COUNTY)


def test_outage_window_during_sync_then_convergence(fed):
    cut: list[int] = []

    def blackhole_for_a_while(emu: LinkEmulator) -> None:
        emu.go_down("blackhole")
        time.sleep(2.0)
        emu.go_up()  # cuts every connection that lived through the blackhole
        cut.append(emu.stats().connections_cut)

    profile = profile_by_name("satellite", mean_seconds_between_drops=0)
    converge_with_writes(fed, profile, INITIAL, timeout=120, mid_sync=blackhole_for_a_while)
    assert cut == [1]  # the one connection the push was using


@pytest.mark.slow
def test_poor_link_with_drops_converges(fed):
    # The seeded random drops may fall while the link is idle; one drop is made while the
    # parent holds part of the push, so the rest and the later writes need a new connection.
    profile = profile_by_name("poor", mean_seconds_between_drops=25.0)
    stats = converge_with_writes(fed, profile, INITIAL, timeout=400,
                                 mid_sync=LinkEmulator.drop_connections)
    assert stats.drops >= 1 and stats.connections_cut >= 1, stats
    assert stats.connections_total > stats.connections_cut, stats


def test_after_a_drop_no_stored_record_is_sent_again(fed):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 8000, per_write=2000)
    profile = profile_by_name("satellite", bandwidth_bps_up=2_000_000,
                              mean_seconds_between_drops=0)
    with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port), profile, seed=5) as emu:
        set_parent_address(county, emu.address)
        store = NodeStore.open(Home(county))
        replica = build(store)
        uplink = link.make_uplink(store, replica)
        uplink.pacer = Pacer(throughput=150_000)

        def drop_after_first_ack(line: str) -> None:
            if line.startswith("push") and emu.stats().drops == 0:
                emu.drop_connections()

        uplink.progress = drop_after_first_ack
        with pytest.raises(LinkDown) as failed:
            uplink.exchange()
        first = failed.value.report
        # What the parent holds when it answers the resumed Hello: the parent may still be
        # storing the batch that was in flight at the drop, so not read before that.
        at_hello: list[int] = []

        def note_parent_size(line: str) -> None:
            if line.startswith("hello") and not at_hello:
                at_hello.append(size(region, COUNTY))

        uplink.progress = note_parent_size
        second = uplink.exchange()
        store.close()
        (held_after_drop,) = at_hello
        assert 0 < held_after_drop < size(county, COUNTY)
    payload = {seq: len(data) for seq, data in records(county, COUNTY)}
    # A batch whose bytes had all arrived before the cut is still stored after it (packed
    # batches are small on the wire): the parent's size when the second exchange began.
    resumed_at = second.started_from[COUNTY]
    assert held_after_drop <= resumed_at < size(county, COUNTY)
    stored_first = sum(n for seq, n in payload.items() if seq < resumed_at)
    lost_in_flight = first.payload_attempted - stored_first
    # The resumed exchange starts exactly at the parent's size: nothing stored is re-sent.
    assert second.payload_attempted == sum(payload.values()) - stored_first
    # What the drop cost is the batch on the wire (and at most the one queued behind it).
    assert 0 <= lost_in_flight <= 2 * MAX_BATCH_BYTES
    assert_same_log(county, region, COUNTY)


def test_pacer_sizes_batches_to_a_few_seconds_of_link_time():
    pacer = Pacer()
    assert pacer.batch_bytes() == START_BYTES == 64 * 1024
    pacer.observe(100, 1.0)  # a round trip, no data: ignored
    assert pacer.throughput == 0
    for _ in range(10):
        pacer.observe(40_000, 2.0)  # 20 kB/s of payload
    assert pacer.batch_bytes() == pytest.approx(20_000 * TARGET_SECONDS, rel=0.01)
    assert pacer.link_seconds(40_000) == pytest.approx(2.0, rel=0.01)
    for _ in range(10):
        pacer.observe(1_000_000, 1.0)
    assert pacer.batch_bytes() == MAX_BATCH_BYTES
    for _ in range(30):
        pacer.observe(MIN_BATCH_BYTES, 10.0)
    assert pacer.batch_bytes() == MIN_BATCH_BYTES
    # Deadlines grow with the batch and the slowness of the link, within bounds.
    assert MIN_DEADLINE_S <= pacer.deadline(1000) < pacer.deadline(100_000) <= 180


def test_status_shows_the_link_an_operator_needs(fed):
    county = fed.nodes[COUNTY].home
    add_events(county, 50)
    with LinkEmulator(("127.0.0.1", fed.nodes[REGION].port),
                      profile_by_name("perfect"), seed=1) as emu:
        set_parent_address(county, emu.address)
        fed.sync(COUNTY)
    add_events(county, 7)
    out = tongban("status", home=county).stdout
    assert f"link to {REGION}" in out and ": up" in out
    assert "throughput" in out and "kbit/s" in out
    assert "waiting          7 records" in out
    assert "since last receipt" in out
