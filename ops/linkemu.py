"""A loopback TCP proxy that behaves like a weak satellite or microwave link.

Linux netem is not available where tongban is developed and tested, yet the sync
code must be shown to survive 32 kbit/s, one-second round trips, drops and
outages. This proxy sits between a client and a target on 127.0.0.1 and shapes
every byte in user space: a serial link per direction shared by all
connections, propagation latency with jitter that never reorders a stream,
random drops that reset every connection, and outages that either refuse or
silently swallow traffic. It runs an asyncio loop in a background thread so a
test can hold it in a ``with`` block, and has a CLI for the demo and by hand.

"Up" is client to target, "down" is target to client.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import copy
import random
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ops.linkemu_profiles import (
    OUTAGE_MODES,
    PROFILES,
    Outage,
    Profile,
    parse_duration,
    parse_rate,
    profile_by_name,
)
from pki.errors import EnvironmentProblem, Error, InputError

__all__ = [
    "DirectionStats",
    "LinkEmulator",
    "LinkStats",
    "Outage",
    "Profile",
    "main",
    "profile_by_name",
]

T = TypeVar("T")

#: Small reads keep the shaping smooth: a 1500-byte chunk is ~0.1 s at 128 kbit/s.
SHAPED_CHUNK = 1500
#: With no bandwidth limit there is nothing to smooth; larger reads just save work.
UNSHAPED_CHUNK = 16384
#: Bytes a connection may have waiting for the serial link before we stop reading
#: from its sender, so the sender feels the link through TCP backpressure.
TRANSMIT_QUEUE_LIMIT = 4096
#: Bytes a connection may have in flight (sent over the link, not yet handed to a
#: slow receiver) before we stop reading, so a stalled receiver cannot make us
#: buffer without bound.
UNDELIVERED_LIMIT = 256 * 1024
#: asyncio's per-stream read buffer; kept small so the proxy does not soak up a
#: large burst from the sender that the link could not have carried yet.
STREAM_BUFFER_LIMIT = 4096
#: How long a caller waits for the emulator thread to act on a request.
CONTROL_TIMEOUT_S = 10.0

UP, REFUSE, BLACKHOLE = "up", "refuse", "blackhole"


@dataclass
class DirectionStats:
    """Bytes one direction has seen; ``accepted == delivered + lost`` once idle."""

    accepted: int = 0
    delivered: int = 0
    lost: int = 0


@dataclass
class LinkStats:
    """A snapshot of the link, for tests' assertions and the CLI's status line."""

    state: str = UP
    up: DirectionStats = field(default_factory=DirectionStats)
    down: DirectionStats = field(default_factory=DirectionStats)
    connections_open: int = 0
    connections_total: int = 0
    connections_refused: int = 0
    connections_failed: int = 0
    connections_cut: int = 0
    drops: int = 0


class _SerialLink:
    """One direction of the link: a wire that carries one chunk at a time.

    Shared by every connection, like the real radio: two streams pushing at once
    each get about half of it.
    """

    def __init__(self, bandwidth_bps: int, latency_s: float, jitter_s: float,
                 rng: random.Random) -> None:
        self._bandwidth_bps = bandwidth_bps
        self._latency_s = latency_s
        self._jitter_s = jitter_s
        self._rng = rng
        self._busy_until = 0.0
        self.chunk_size = SHAPED_CHUNK if bandwidth_bps else UNSHAPED_CHUNK

    def send(self, size: int, now: float) -> tuple[float, float]:
        """Queue ``size`` bytes; return when they leave the wire and arrive at the far end."""
        start = max(now, self._busy_until)
        transmitted = start + (size * 8 / self._bandwidth_bps if self._bandwidth_bps else 0.0)
        self._busy_until = transmitted
        delay = self._latency_s + self._rng.uniform(-self._jitter_s, self._jitter_s)
        return transmitted, transmitted + max(0.0, delay)


def _reset(writer: asyncio.StreamWriter | None) -> None:
    """Close abruptly with an RST, the way a link failure looks to a TCP endpoint."""
    if writer is None:
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _until_cut() -> None:
    """Park a stream whose FIN fell into a blackhole; only a cut (cancel) ends it."""
    await asyncio.get_running_loop().create_future()


class _Pipe:
    """One direction of one connection: read from the sender, deliver on schedule."""

    def __init__(self, link: LinkEmulator, wire: _SerialLink, stats: DirectionStats,
                 src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        self._link = link
        self._wire = wire
        self._stats = stats
        self._src = src
        self._dst = dst
        self._queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self._on_wire: collections.deque[tuple[float, int]] = collections.deque()
        self._untransmitted = 0
        self._undelivered = 0
        self._last_arrival = 0.0
        self._room = asyncio.Event()

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wait_for_room(loop)
            data = await self._src.read(self._wire.chunk_size)
            if not data:
                self._queue.put_nowait(None)
                return
            self._stats.accepted += len(data)
            if self._link.state == BLACKHOLE:
                self._stats.lost += len(data)
                continue
            transmitted, arrival = self._wire.send(len(data), loop.time())
            # Jitter varies the delay per chunk, but TCP never reorders a stream.
            self._last_arrival = max(self._last_arrival, arrival)
            self._on_wire.append((transmitted, len(data)))
            self._untransmitted += len(data)
            self._undelivered += len(data)
            self._queue.put_nowait((self._last_arrival, data))

    async def _wait_for_room(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            now = loop.time()
            while self._on_wire and self._on_wire[0][0] <= now:
                self._untransmitted -= self._on_wire.popleft()[1]
            if self._untransmitted > TRANSMIT_QUEUE_LIMIT:
                await asyncio.sleep(self._on_wire[0][0] - now)
            elif self._undelivered > UNDELIVERED_LIMIT:
                self._room.clear()
                await self._room.wait()
            else:
                return

    async def deliver(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            if item is None:
                if self._link.state == BLACKHOLE:
                    await _until_cut()
                if self._dst.can_write_eof():
                    self._dst.write_eof()
                return
            arrival, data = item
            await asyncio.sleep(max(0.0, arrival - loop.time()))
            self._undelivered -= len(data)
            self._room.set()
            if self._link.state == BLACKHOLE:
                self._stats.lost += len(data)
                continue
            self._dst.write(data)
            self._stats.delivered += len(data)
            await self._dst.drain()

    def discard_queue(self) -> None:
        """Count what was still on its way as lost: a cut link delivers nothing more."""
        self._stats.lost += self._undelivered
        self._undelivered = 0


class _Connection:
    """A client connection and, once the link lets it through, its target connection."""

    def __init__(self, link: LinkEmulator, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self._link = link
        self._client_reader = reader
        self._client_writer = writer
        self._target_writer: asyncio.StreamWriter | None = None
        self._pipes: list[_Pipe] = []
        self._aborted = False
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        if self._link.state == BLACKHOLE:
            await self._swallow()
            return
        try:
            target_reader, self._target_writer = await asyncio.open_connection(
                *self._link.target, limit=STREAM_BUFFER_LIMIT
            )
        except OSError:
            self._link.note_failed()
            self.abort()
            return
        stats = self._link.live_stats
        self._pipes = [
            _Pipe(self._link, self._link.wire_up, stats.up,
                  self._client_reader, self._target_writer),
            _Pipe(self._link, self._link.wire_down, stats.down,
                  target_reader, self._client_writer),
        ]
        try:
            async with asyncio.TaskGroup() as group:
                for pipe in self._pipes:
                    group.create_task(pipe.pump())
                    group.create_task(pipe.deliver())
        except* OSError:
            # One endpoint reset or vanished: the other must see the same.
            self.abort()
        if not self._aborted:
            self._client_writer.close()
            self._target_writer.close()

    async def _swallow(self) -> None:
        """A connection born inside a blackhole: it reaches nothing, until it is cut."""
        stats = self._link.live_stats.up
        try:
            while data := await self._client_reader.read(UNSHAPED_CHUNK):
                stats.accepted += len(data)
                stats.lost += len(data)
        except OSError:
            self.abort()
            return
        await _until_cut()

    def abort(self) -> None:
        if self._aborted:
            return
        self._aborted = True
        for pipe in self._pipes:
            pipe.discard_queue()
        _reset(self._client_writer)
        _reset(self._target_writer)


class LinkEmulator:
    """The proxy. Use as a context manager, or call ``start()`` and ``stop()``.

    Control methods may be called from any thread; each returns once the link
    has acted, so a test can rely on the new state straight away.
    """

    def __init__(self, target: tuple[str, int], profile: Profile,
                 listen: tuple[str, int] = ("127.0.0.1", 0), seed: int | None = None) -> None:
        self.target = target
        self.profile = profile
        self._listen = listen
        # Separate streams so that traffic (jitter draws) cannot shift the drop times.
        self._drop_rng = random.Random(None if seed is None else f"{seed}:drops")
        jitter_rng = random.Random(None if seed is None else f"{seed}:jitter")
        self.wire_up = _SerialLink(profile.bandwidth_bps_up, profile.one_way_latency_s,
                                   profile.jitter_s, jitter_rng)
        self.wire_down = _SerialLink(profile.bandwidth_bps_down, profile.one_way_latency_s,
                                     profile.jitter_s, jitter_rng)
        self.live_stats = LinkStats()
        self._connections: set[_Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._address: tuple[str, int] | None = None

    # -- life cycle (caller's thread) --

    def __enter__(self) -> LinkEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._thread is not None:
            raise InputError("link emulator already started: want a new LinkEmulator per run")
        started: concurrent.futures.Future[tuple[str, int]] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name=f"linkemu-{self.profile.name}", daemon=True
        )
        self._thread.start()
        try:
            self._address = started.result(timeout=CONTROL_TIMEOUT_S)
        except Error:
            self._thread.join()
            raise

    def stop(self) -> None:
        """Reset every connection, close the listener and join the thread; idempotent."""
        if self._thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join()

    @property
    def address(self) -> str:
        """``host:port`` to hand to the client instead of the target's address."""
        host, port = self._bound()
        return f"{host}:{port}"

    @property
    def port(self) -> int:
        return self._bound()[1]

    def _bound(self) -> tuple[str, int]:
        if self._address is None:
            raise InputError("link emulator has no address yet: call start() first")
        return self._address

    # -- control (caller's thread) --

    def go_down(self, mode: str) -> None:
        """Start an outage now, in ``refuse`` or ``blackhole`` mode (see ``Outage``)."""
        if mode not in OUTAGE_MODES:
            raise InputError(f"outage mode got {mode!r}, want one of {', '.join(OUTAGE_MODES)}")
        self._in_loop(self._go_down, mode)

    def go_up(self) -> None:
        """End the outage; after a blackhole every connection that lived through it is cut."""
        self._in_loop(self._go_up)

    def drop_connections(self) -> None:
        """A drop: reset every open connection through the link, both ends."""
        self._in_loop(self._drop)

    def stats(self) -> LinkStats:
        if self._thread is not None and self._thread.is_alive():
            return self._in_loop(self._snapshot)
        return self._snapshot()

    def _in_loop(self, fn: Callable[..., T], *args: Any) -> T:
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            raise EnvironmentProblem("link emulator is not running: call start() first")

        async def call() -> T:
            return fn(*args)

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return future.result(timeout=CONTROL_TIMEOUT_S)

    # -- inside the loop --

    @property
    def state(self) -> str:
        return self.live_stats.state

    def note_failed(self) -> None:
        self.live_stats.connections_failed += 1

    def _snapshot(self) -> LinkStats:
        snapshot = copy.deepcopy(self.live_stats)
        snapshot.connections_open = len(self._connections)
        return snapshot

    def _cut_all(self) -> None:
        for connection in list(self._connections):
            connection.abort()
            if connection.task is not None:
                connection.task.cancel()
            self.live_stats.connections_cut += 1
        self._connections.clear()

    def _drop(self) -> None:
        self.live_stats.drops += 1
        self._cut_all()

    def _go_down(self, mode: str) -> None:
        self.live_stats.state = mode
        if mode == REFUSE:
            self._cut_all()

    def _go_up(self) -> None:
        if self.live_stats.state == BLACKHOLE:
            self._cut_all()
        self.live_stats.state = UP

    def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.live_stats.connections_total += 1
        if self.state == REFUSE:
            self.live_stats.connections_refused += 1
            _reset(writer)
            return
        # Its own task rather than the server's callback task, because a cut cancels
        # it and asyncio reports a cancelled callback task as an unhandled error.
        connection = _Connection(self, reader, writer)
        self._connections.add(connection)
        connection.task = asyncio.get_running_loop().create_task(connection.run())
        connection.task.add_done_callback(lambda _: self._connections.discard(connection))

    async def _random_drops(self, mean_s: float) -> None:
        while True:
            await asyncio.sleep(self._drop_rng.expovariate(1.0 / mean_s))
            self._drop()

    async def _scheduled_outage(self, outage: Outage) -> None:
        await asyncio.sleep(outage.start_after_s)
        self._go_down(outage.mode)
        await asyncio.sleep(outage.duration_s)
        self._go_up()

    def _run(self, started: concurrent.futures.Future[tuple[str, int]]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(started))
        finally:
            loop.close()

    async def _main(self, started: concurrent.futures.Future[tuple[str, int]]) -> None:
        host, port = self._listen
        try:
            server = await asyncio.start_server(
                self._on_client, host, port, limit=STREAM_BUFFER_LIMIT
            )
        except OSError as exc:
            started.set_exception(
                EnvironmentProblem(f"link emulator cannot listen on {host}:{port}: {exc.strerror}")
            )
            return
        self._stopping = asyncio.Event()
        background = []
        if self.profile.mean_seconds_between_drops > 0:
            background.append(asyncio.create_task(
                self._random_drops(self.profile.mean_seconds_between_drops)))
        if self.profile.outage is not None:
            background.append(asyncio.create_task(self._scheduled_outage(self.profile.outage)))
        bound = server.sockets[0].getsockname()
        started.set_result((bound[0], bound[1]))
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in background:
                task.cancel()
            tasks = [c.task for c in self._connections if c.task is not None]
            self._cut_all()
            await asyncio.gather(*background, *tasks, return_exceptions=True)
            await server.wait_closed()


# -- command line --

_EPILOG = """\
example: a county node (gRPC on 7443) seen through a bad satellite link,
with a one-minute blackhole after ten seconds:

  python -m ops.linkemu --listen 127.0.0.1:7000 --target 127.0.0.1:7443 \\
      --profile satellite --bandwidth 64k --rtt 800ms --drop-every 30s \\
      --outage-after 10s --outage-for 60s --outage-mode blackhole --seed 1

then point the client at 127.0.0.1:7000. Profiles:
""" + "\n".join(f"  {p.describe()}" for p in PROFILES.values())


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` for IPv6) into a tuple for sockets."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise InputError(f"address got {text!r}, want host:port such as 127.0.0.1:7000")
    return host.strip("[]"), int(port)


def _arg(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Let argparse report our InputError text as its own usage error."""
    def convert(text: str) -> T:
        try:
            return parse(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.diagnostics()) from None
    convert.__name__ = parse.__name__
    return convert


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.linkemu",
        description="Loopback TCP proxy that emulates a weak satellite/microwave link.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--listen", type=_arg(parse_address), default=("127.0.0.1", 0),
                        help="address clients connect to (default 127.0.0.1:0, printed)")
    parser.add_argument("--target", type=_arg(parse_address), required=True,
                        help="address the link leads to")
    parser.add_argument("--profile", choices=list(PROFILES), default="satellite")
    parser.add_argument("--bandwidth", type=_arg(parse_rate),
                        help="both directions, bits/s: 64k, 2M (0 = unlimited)")
    parser.add_argument("--bandwidth-up", type=_arg(parse_rate), help="client to target only")
    parser.add_argument("--bandwidth-down", type=_arg(parse_rate), help="target to client only")
    parser.add_argument("--rtt", type=_arg(parse_duration), help="round trip: 800ms, 1s")
    parser.add_argument("--jitter", type=_arg(parse_duration), help="± per one-way trip: 20ms")
    parser.add_argument("--drop-every", type=_arg(parse_duration),
                        help="mean time between drops: 30s (0 = never)")
    parser.add_argument("--outage-after", type=_arg(parse_duration), help="outage start: 10s")
    parser.add_argument("--outage-for", type=_arg(parse_duration), help="outage length: 60s")
    parser.add_argument("--outage-mode", choices=OUTAGE_MODES)
    parser.add_argument("--seed", type=int, help="seed drops and jitter for a repeatable run")
    parser.add_argument("--status-every", type=_arg(parse_duration), default=5.0,
                        help="seconds between status lines (default 5s)")
    return parser


def profile_from_args(args: argparse.Namespace) -> Profile:
    """The chosen profile with the command line's overrides applied."""
    overrides: dict[str, Any] = {}
    if args.bandwidth is not None:
        overrides["bandwidth_bps_up"] = overrides["bandwidth_bps_down"] = args.bandwidth
    if args.bandwidth_up is not None:
        overrides["bandwidth_bps_up"] = args.bandwidth_up
    if args.bandwidth_down is not None:
        overrides["bandwidth_bps_down"] = args.bandwidth_down
    if args.rtt is not None:
        overrides["one_way_latency_s"] = args.rtt / 2
    if args.jitter is not None:
        overrides["jitter_s"] = args.jitter
    if args.drop_every is not None:
        overrides["mean_seconds_between_drops"] = args.drop_every
    base = PROFILES[args.profile].outage
    if any(v is not None for v in (args.outage_after, args.outage_for, args.outage_mode)):
        duration = args.outage_for if args.outage_for is not None else (
            base.duration_s if base else None)
        if duration is None:
            raise InputError(f"--outage-for missing: profile {args.profile} has no outage "
                             "window to take its length from")
        overrides["outage"] = Outage(
            args.outage_after if args.outage_after is not None else (
                base.start_after_s if base else 0.0),
            duration,
            args.outage_mode or (base.mode if base else BLACKHOLE),
        )
    return profile_by_name(args.profile, **overrides)


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def status_line(elapsed_s: float, now: LinkStats, before: LinkStats, interval_s: float) -> str:
    """One line an operator can watch: state, bytes and current rate each way, connections."""
    def rate(after: DirectionStats, earlier: DirectionStats) -> str:
        bps = (after.delivered - earlier.delivered) * 8 / interval_s if interval_s > 0 else 0.0
        return f"{bps / 1000:.1f} kbit/s"

    return (
        f"[{elapsed_s:7.1f}s] link {now.state} | "
        f"up {_kib(now.up.delivered)} {rate(now.up, before.up)} | "
        f"down {_kib(now.down.delivered)} {rate(now.down, before.down)} | "
        f"conns {now.connections_open} open/{now.connections_total} total | "
        f"drops {now.drops} cut {now.connections_cut}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        profile = profile_from_args(args)
        link = LinkEmulator(args.target, profile, listen=args.listen, seed=args.seed)
        link.start()
    except Error as exc:
        print(f"linkemu: {exc.diagnostics()}", file=sys.stderr)
        return exc.exit_code
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    target = f"{args.target[0]}:{args.target[1]}"
    print(f"linkemu: {link.address} -> {target} ({profile.describe()})", flush=True)
    began = last_at = time.monotonic()
    last = link.stats()
    try:
        while not stop.wait(args.status_every):
            now_at, now = time.monotonic(), link.stats()
            print(status_line(now_at - began, now, last, now_at - last_at), flush=True)
            last, last_at = now, now_at
    finally:
        link.stop()
    now_at = time.monotonic()
    print(status_line(now_at - began, link.stats(), last, now_at - last_at), flush=True)
    print("linkemu: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
