"""The weak-link emulator, measured with real sockets on 127.0.0.1.

Timings are checked against the profile with tolerances wide enough for a busy
two-core machine but narrow enough that a wrong formula (bits vs bytes, one-way
vs round trip, rate vs mean) fails.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ops.linkemu import TRANSMIT_QUEUE_LIMIT, LinkEmulator, parse_address
from ops.linkemu_profiles import (
    PROFILES,
    Outage,
    Profile,
    parse_duration,
    parse_rate,
    profile_by_name,
)
from pki.errors import EnvironmentProblem, InputError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_emulator_errors(caplog: pytest.LogCaptureFixture):
    """An error asyncio logs in the emulator's thread is a bug even if the test passed."""
    yield
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors


class Server:
    """A tiny threaded TCP server; ``handle(conn)`` runs per connection.

    It records what a real target would notice: how many connections reached
    it, how many bytes, and whether each connection ended cleanly or by reset.
    """

    def __init__(self, handle: Callable[[socket.socket, Server], None]) -> None:
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self.received = 0
        self.endings: list[str] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._handle(conn, self)
            ending = "eof"
        except (ConnectionResetError, BrokenPipeError):
            ending = "reset"
        with self._lock:
            self.endings.append(ending)

    def count(self, n: int) -> None:
        with self._lock:
            self.received += n

    def close(self) -> None:
        self._listener.close()


def echo(conn: socket.socket, server: Server) -> None:
    while data := conn.recv(65536):
        server.count(len(data))
        conn.sendall(data)


@pytest.fixture
def echo_server():
    server = Server(echo)
    yield server
    server.close()


def connect(link: LinkEmulator, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", link.port), timeout=timeout)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        data = sock.recv(min(n, 65536))
        assert data, f"connection closed with {n} bytes still expected"
        chunks.append(data)
        n -= len(data)
    return b"".join(chunks)


def round_trip(sock: socket.socket, payload: bytes = b"ping") -> float:
    began = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - began


def expect_reset(sock: socket.socket, timeout: float = 3.0) -> None:
    """The link cut us: an RST, not a polite FIN and not silence."""
    sock.settimeout(timeout)
    with pytest.raises(ConnectionResetError):
        while sock.recv(65536):
            pass
    sock.close()


def expect_refused(link: LinkEmulator) -> None:
    """A new connection is reset: during the handshake or on the first read (a race)."""
    try:
        sock = connect(link)
    except ConnectionResetError:
        return
    expect_reset(sock)


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def perfect(**overrides) -> Profile:
    return profile_by_name("perfect", **overrides)


# -- shaping --


def test_throughput_matches_configured_rate_each_way() -> None:
    """64 kbit/s up and 128 kbit/s down at the same time, each within 15%."""
    size = 20_000
    arrivals_up: list[tuple[float, int]] = []

    def sink_and_source(conn: socket.socket, server: Server) -> None:
        sender = threading.Thread(target=conn.sendall, args=(os.urandom(size),))
        sender.start()
        got = 0
        while got < size:
            data = conn.recv(65536)
            arrivals_up.append((time.monotonic(), len(data)))
            got += len(data)
        sender.join()

    server = Server(sink_and_source)
    profile = perfect(bandwidth_bps_up=64_000, bandwidth_bps_down=128_000)
    try:
        with LinkEmulator(("127.0.0.1", server.port), profile, seed=1) as link:
            sock = connect(link)
            sender = threading.Thread(target=sock.sendall, args=(os.urandom(size),))
            sender.start()
            arrivals_down = []
            got = 0
            while got < size:
                data = sock.recv(65536)
                arrivals_down.append((time.monotonic(), len(data)))
                got += len(data)
            sender.join()
            wait_for(lambda: sum(n for _, n in arrivals_up) >= size, timeout=10)
            sock.close()
    finally:
        server.close()

    def rate_bps(arrivals: list[tuple[float, int]]) -> float:
        # The first chunk's own transmission happened before we saw it.
        after_first = sum(n for _, n in arrivals[1:])
        return after_first * 8 / (arrivals[-1][0] - arrivals[0][0])

    assert rate_bps(arrivals_up) == pytest.approx(64_000, rel=0.15)
    assert rate_bps(arrivals_down) == pytest.approx(128_000, rel=0.15)


def test_round_trip_latency_added(echo_server: Server) -> None:
    profile = perfect(one_way_latency_s=0.15)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile) as link:
        sock = connect(link)
        rtts = [round_trip(sock) for _ in range(4)]
        sock.close()
    for rtt in rtts:
        assert 0.29 <= rtt <= 0.38


def test_satellite_profile_round_trip(echo_server: Server) -> None:
    profile = profile_by_name("satellite", mean_seconds_between_drops=0)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile, seed=3) as link:
        sock = connect(link)
        rtts = [round_trip(sock, b"x" * 100) for _ in range(3)]
        sock.close()
    # 700 ms ± 2 × 20 ms jitter, plus 2 × 100 bytes at 128 kbit/s (12.5 ms).
    for rtt in rtts:
        assert 0.65 <= rtt <= 0.80


def test_order_and_content_preserved_under_jitter(echo_server: Server) -> None:
    """Jitter larger than the gap between chunks must still not reorder the stream."""
    payload = os.urandom(200 * 1024)
    profile = perfect(bandwidth_bps_up=4_000_000, bandwidth_bps_down=4_000_000,
                      one_way_latency_s=0.02, jitter_s=0.018)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile, seed=5) as link:
        sock = connect(link)
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        echoed = recv_exactly(sock, len(payload))
        sender.join()
        sock.close()
    assert hashlib.sha256(echoed).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_backpressure_keeps_sender_at_link_speed(echo_server: Server) -> None:
    """A sender pushing 1 MB into a 32 kbit/s link gets only about a second's worth taken."""
    profile = perfect(bandwidth_bps_up=32_000)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile) as link:
        sock = connect(link)
        threading.Thread(target=sock.sendall, args=(b"\0" * 1_000_000,), daemon=True).start()
        time.sleep(1.0)
        taken = link.stats().up.accepted
        sock.close()
    # One second of link (4000 bytes) plus the transmit queue and one chunk in hand.
    assert 3000 <= taken <= 4000 * 1.2 + TRANSMIT_QUEUE_LIMIT + 1500


def test_counters_per_direction() -> None:
    def reply_bigger(conn: socket.socket, server: Server) -> None:
        server.count(len(recv_exactly(conn, 3000)))
        conn.sendall(b"r" * 5000)

    server = Server(reply_bigger)
    try:
        with LinkEmulator(("127.0.0.1", server.port), perfect(one_way_latency_s=0.01)) as link:
            sock = connect(link)
            sock.sendall(b"q" * 3000)
            assert recv_exactly(sock, 5000) == b"r" * 5000
            sock.settimeout(3)
            assert sock.recv(1) == b""  # the server's FIN crosses the link too
            sock.close()
            wait_for(lambda: link.stats().connections_open == 0)
            stats = link.stats()
    finally:
        server.close()
    assert (stats.up.accepted, stats.up.delivered, stats.up.lost) == (3000, 3000, 0)
    assert (stats.down.accepted, stats.down.delivered, stats.down.lost) == (5000, 5000, 0)
    assert stats.connections_total == 1
    assert (stats.connections_cut, stats.connections_refused, stats.drops) == (0, 0, 0)
    assert stats.state == "up"


# -- failures --


def test_manual_drop_resets_both_ends(echo_server: Server) -> None:
    with LinkEmulator(("127.0.0.1", echo_server.port), perfect()) as link:
        sock = connect(link)
        round_trip(sock)
        link.drop_connections()
        expect_reset(sock)
        wait_for(lambda: echo_server.endings == ["reset"])
        stats = link.stats()
        assert (stats.drops, stats.connections_cut, stats.connections_open) == (1, 1, 0)
        again = connect(link)
        round_trip(again)
        again.close()


def test_refuse_outage_then_recovery(echo_server: Server) -> None:
    with LinkEmulator(("127.0.0.1", echo_server.port), perfect()) as link:
        existing = connect(link)
        round_trip(existing)
        link.go_down("refuse")
        expect_reset(existing)
        expect_refused(link)
        assert link.stats().state == "refuse"
        assert echo_server.accepted == 1
        link.go_up()
        fresh = connect(link)
        round_trip(fresh)
        fresh.close()
        stats = link.stats()
    assert (stats.connections_refused, stats.connections_cut) == (1, 1)
    assert echo_server.accepted == 2


def test_blackhole_passes_nothing_then_cuts(echo_server: Server) -> None:
    profile = perfect(one_way_latency_s=0.2)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile) as link:
        existing = connect(link)
        round_trip(existing)
        received_before = echo_server.received
        existing.sendall(b"i" * 70)
        wait_for(lambda: link.stats().up.accepted == received_before + 70)
        link.go_down("blackhole")  # with those 70 bytes still on the wire
        existing.sendall(b"s" * 30)  # sent into the blackhole
        existing.shutdown(socket.SHUT_WR)  # and so is the FIN
        late = connect(link)  # accepted, but reaches nothing
        late.sendall(b"l" * 50)
        existing.settimeout(0.6)
        with pytest.raises(TimeoutError):
            existing.recv(1)
        assert echo_server.received == received_before
        assert echo_server.accepted == 1
        assert echo_server.endings == []
        assert link.stats().connections_open == 2
        link.go_up()
        expect_reset(existing)
        expect_reset(late)
        wait_for(lambda: echo_server.endings == ["reset"])
        fresh = connect(link)
        round_trip(fresh)
        fresh.close()
        stats = link.stats()
    assert stats.up.lost == 150
    assert stats.connections_cut == 2
    assert stats.drops == 0


def test_scheduled_refuse_outage_from_profile(echo_server: Server) -> None:
    profile = perfect(outage=(0.5, 0.7, "refuse"))
    with LinkEmulator(("127.0.0.1", echo_server.port), profile) as link:
        began = time.monotonic()
        before = connect(link)
        round_trip(before)
        time.sleep(max(0.0, began + 0.7 - time.monotonic()))
        assert link.stats().state == "refuse"
        expect_reset(before)
        expect_refused(link)
        time.sleep(max(0.0, began + 1.5 - time.monotonic()))
        after = connect(link)
        round_trip(after)
        after.close()
        assert link.stats().state == "up"


def test_random_drops_follow_configured_mean(echo_server: Server) -> None:
    profile = perfect(mean_seconds_between_drops=0.2)
    with LinkEmulator(("127.0.0.1", echo_server.port), profile, seed=7) as link:
        sock = connect(link)
        time.sleep(3.0)
        stats = link.stats()
        expect_reset(sock)
    # 15 expected; the bounds are the Poisson 1st and 99th percentiles.
    assert 7 <= stats.drops <= 25
    assert stats.connections_cut >= 1


# -- life cycle and errors --


def test_listen_on_taken_port_is_an_environment_problem(echo_server: Server) -> None:
    taken = ("127.0.0.1", echo_server.port)
    with pytest.raises(EnvironmentProblem, match=r"cannot listen on 127\.0\.0\.1:\d+"):
        LinkEmulator(taken, perfect(), listen=taken).start()


def test_unreachable_target_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        dead_port = placeholder.getsockname()[1]
    with LinkEmulator(("127.0.0.1", dead_port), perfect()) as link:
        expect_refused(link)
        stats = link.stats()
    assert (stats.connections_total, stats.connections_failed) == (1, 1)


def test_stop_resets_open_connections_and_is_idempotent(echo_server: Server) -> None:
    link = LinkEmulator(("127.0.0.1", echo_server.port), perfect())
    link.start()
    sock = connect(link)
    round_trip(sock)
    link.stop()
    link.stop()
    expect_reset(sock)
    assert link.stats().connections_cut == 1
    with pytest.raises(EnvironmentProblem, match="not running"):
        link.go_down("refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", link.port), timeout=2)


def test_go_down_rejects_unknown_mode(echo_server: Server) -> None:
    with LinkEmulator(("127.0.0.1", echo_server.port), perfect()) as link, \
            pytest.raises(InputError, match="outage mode got 'flaky'"):
        link.go_down("flaky")


def test_profiles() -> None:
    assert set(PROFILES) >= {"perfect", "satellite", "poor", "outage"}
    satellite = profile_by_name("satellite")
    assert (satellite.bandwidth_bps_up, satellite.one_way_latency_s) == (128_000, 0.35)
    assert satellite.mean_seconds_between_drops == 60
    poor = profile_by_name("poor")
    assert (poor.bandwidth_bps_down, 2 * poor.one_way_latency_s) == (32_000, 1.0)
    outage = profile_by_name("outage", outage=(1, 2, "refuse"))
    assert outage.outage == Outage(1, 2, "refuse")
    assert outage.bandwidth_bps_up == satellite.bandwidth_bps_up
    with pytest.raises(InputError, match="unknown link profile 'dialup'"):
        profile_by_name("dialup")
    with pytest.raises(InputError, match="unknown link profile field bandwith"):
        profile_by_name("poor", bandwith=1)
    with pytest.raises(InputError, match="jitter_s got -1"):
        profile_by_name("poor", jitter_s=-1)
    with pytest.raises(InputError, match="outage mode got 'flaky'"):
        profile_by_name("poor", outage=(1, 2, "flaky"))


def test_units() -> None:
    assert [parse_rate(t) for t in ("64k", "2M", "128kbit/s", "32000", "0")] == [
        64_000, 2_000_000, 128_000, 32_000, 0]
    assert [parse_duration(t) for t in ("800ms", "30s", "2m", "1h", "1.5")] == [
        0.8, 30.0, 120.0, 3600.0, 1.5]
    assert parse_address("[::1]:7000") == ("::1", 7000)
    with pytest.raises(InputError, match="bandwidth got 'fast'"):
        parse_rate("fast")
    with pytest.raises(InputError, match="duration got '5 days'"):
        parse_duration("5 days")
    with pytest.raises(InputError, match="address got '7000'"):
        parse_address("7000")


# -- command line --


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.linkemu", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=20)


def test_cli_help_and_bad_input() -> None:
    shown = run_cli("--help")
    assert shown.returncode == 0
    assert "--outage-mode blackhole" in shown.stdout and "satellite:" in shown.stdout
    bad = run_cli("--target", "127.0.0.1:1", "--bandwidth", "fast")
    assert bad.returncode == 2
    assert "bandwidth got 'fast'" in bad.stderr


def test_cli_shapes_reports_and_stops_on_sigterm(echo_server: Server) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops.linkemu", "--target", f"127.0.0.1:{echo_server.port}",
         "--profile", "perfect", "--rtt", "200ms", "--status-every", "0.2", "--seed", "1"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("linkemu: 127.0.0.1:"), banner + proc.stderr.read()
        assert "rtt 200 ms" in banner
        host, port = parse_address(banner.split()[1])
        sock = socket.create_connection((host, port), timeout=5)
        assert 0.19 <= round_trip(sock, b"hello") <= 0.3
        status = proc.stdout.readline()
        assert "link up" in status and "conns 1 open/1 total" in status, status
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("linkemu: stopped")
    expect_reset(sock)
