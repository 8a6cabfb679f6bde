"""The child's side of a link: Hello, push own and subtree logs, pull ancestors' logs.

The receiver's stored sizes are the only cursor, so an exchange that dies
half-way resumes exactly where the parent's store stands.

On a long thin link a round trip per batch would cost a large share of the
link, so on a slow link pushes are pipelined two deep: the next batch starts
while the previous one is still crossing. Its bytes queue behind the previous
batch's on the one TCP stream, so the parent still receives whole batches in
order, and the link never idles for a round trip. If the parent ever gets one
early it answers OUT_OF_RANGE and the uplink resends from the parent's size.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from pki.certs import division_of, issued_by
from pki.checkpoint import parse_note, verify_receipt
from pki.division import in_subtree, is_ancestor
from pki.errors import EnvironmentProblem, Error, VerificationError
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync import hello_proof
from sync.batches import make_batch, sendable
from sync.certstore import der, parse_der
from sync.contract import Progress
from sync.deliver import accept, delivered_sizes
from sync.pacer import Pacer
from sync.packing import pack, unpack
from sync.receive import PeerNotAllowed
from sync.replica import Replica
from sync.tls import CHANNEL_OPTIONS, KEEPALIVE_TIME_MS, TlsIdentity, target_name

#: Below this many seconds of link time per batch a round trip costs little: no pipelining,
#: which also keeps a fast link from delivering a batch before its predecessor is stored.
PIPELINE_MIN_SECONDS = 0.5


class LinkDown(EnvironmentProblem):
    """The parent could not be reached or the call failed in transit; retry later.

    ``report`` is what the exchange achieved before the failure (kept by the parent).
    """

    report: ExchangeReport | None = None


class LinkRefused(Error):
    """The parent answered and refused: retrying the same thing will not help."""


@dataclass
class ExchangeReport:
    parent: str = ""
    pushed: dict[str, int] = field(default_factory=dict)
    pulled: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    #: the same messages gzip-compressed as gRPC sends them: what the link really carried
    wire_bytes_sent: int = 0
    wire_bytes_received: int = 0
    #: payload bytes of every PushLogs call started, answered or not: minus the payload the
    #: parent stored, this is what a drop cost
    payload_attempted: int = 0
    #: per origin, the sequence number the first push started from (the parent's size)
    started_from: dict[str, int] = field(default_factory=dict)
    receipts: int = 0
    #: records addressed into our subtree from logs we do not replicate (sync.deliver)
    delivered: int = 0
    seconds: float = 0.0
    #: what the parent said it holds, per origin, in Hello (node.log_guard judges by it)
    parent_sizes: dict[str, int] = field(default_factory=dict)
    #: own and subtree records fetched back from the parent (recovery after a lost disk)
    recovered: dict[str, int] = field(default_factory=dict)
    #: parent's clock minus ours, from the wall time in its Hello answer taken as the
    #: midpoint of our send and arrival times; wrong by at most ``clock_uncertainty_ms``
    #: (half the round trip), whatever the exchange carried
    clock_offset_ms: int | None = None
    clock_uncertainty_ms: int | None = None


@dataclass
class _Call:
    batch: federation_pb2.LogBatch
    future: grpc.Future
    payload: int
    wire: int           # bytes the request takes on the wire
    started: float
    wire_done: float    # when its bytes should have left the wire, by the pacer's rate
    #: started while an earlier batch was in flight, so the parent may see it first
    behind_another: bool = False


_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.ABORTED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
              grpc.StatusCode.OUT_OF_RANGE}


def wire_size(message, *, gzip: bool = True) -> int:
    """Bytes ``message`` takes on the wire under the channel's gzip (zlib's default level,
    as gRPC core uses), or as it is when sent packed without gzip (sync.packing):
    throughput in payload bytes would overstate a thin link several times over, since
    records compress well."""
    data = message.SerializeToString()
    return len(zlib.compress(data)) if gzip else len(data)


def _translate(exc: grpc.RpcError, address: str, child: str = "") -> Error:
    """One line for a failed call; ``child`` names the server when it is a child we
    recover from (nothing of ours waits to go out to it, no batch of ours is quarantined)."""
    code = exc.code() if hasattr(exc, "code") else None
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    status = code.name if code else "?"
    if child:
        kind = LinkDown if code in _RETRYABLE else LinkRefused
        return kind(f"child {child} at {address} {'failed' if kind is LinkDown else 'refused'}"
                    f": {status}: {detail}")
    if code in _RETRYABLE:
        return LinkDown(f"link to parent {address} failed: {status}: "
                        f"{detail} (nothing is lost: the records wait here and go out when "
                        "the link is back; tongban serve retries by itself)")
    return LinkRefused(f"parent {address} refused: {status}: {detail} "
                       "(retrying will not help: the parent's operator finds the batch and "
                       "its reason in the parent's quarantine table)")


class Uplink:
    def __init__(self, replica: Replica, identity: TlsIdentity, address: str,
                 parent_division: str, pacer: Pacer | None = None,
                 progress: Progress | None = None, keepalive_ms: int = KEEPALIVE_TIME_MS) -> None:
        self.replica = replica
        self.address = address
        self.parent_division = parent_division
        self.identity = identity
        self.pacer = pacer or Pacer()
        self.progress = progress or (lambda _line: None)
        self.keepalive_ms = keepalive_ms
        #: checked between batches, so a stopping node never abandons a batch half-sent
        self.should_stop: Callable[[], bool] = lambda: False
        self._open: grpc.Channel | None = None
        #: what the parent held after the last exchange on the open channel
        self._parent_sizes: dict[str, int] | None = None
        self._deliveries_waiting = False
        #: only ``recover_only`` talks to an ancestor above the parent, or to a child
        self._ancestor_ok = False
        self._child_ok = False
        #: the parent said (in its last Hello) that it reads packed batches (sync.packing)
        self._parent_packs = False

    def _channel(self) -> grpc.Channel:
        """The channel to the parent, kept open between exchanges.

        On a satellite hop a TLS handshake costs several round trips of 700 ms;
        keepalive holds the connection, so a node that syncs every few seconds
        pays it once per connection, not once per exchange.
        """
        if self._open is None:
            options = [*(o for o in CHANNEL_OPTIONS if o[0] != "grpc.keepalive_time_ms"),
                       ("grpc.keepalive_time_ms", self.keepalive_ms),
                       ("grpc.ssl_target_name_override", target_name(self.parent_division))]
            self._open = grpc.secure_channel(
                self.address, self.identity.channel_credentials(), options=options,
                compression=grpc.Compression.Gzip)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None
        self._parent_sizes = None

    def exchange(self) -> ExchangeReport:
        """One full exchange; raises LinkDown (retry) or LinkRefused (operator must act).

        A failed exchange closes the channel, so the next one reconnects afresh.
        """
        started = time.monotonic()
        report = ExchangeReport()
        with self.replica.lock:
            self.replica.host.sign_own_tail()
        channel = self._channel()
        try:
            stub = federation_pb2_grpc.FederationStub(channel)
            hello = self._start_hello(stub)
            if self._parent_sizes is None:
                parent_sizes = self._finish_hello(hello, report)
                self._recover(stub, parent_sizes, report)
                self._push(stub, parent_sizes, report)
            else:
                # A kept-open channel: push from what the parent held after the last
                # exchange while Hello crosses, saving its round trip. Were the
                # parent behind that (restored from a backup), the first push gets
                # OUT_OF_RANGE, the channel closes and the next exchange starts with Hello.
                self._push(stub, self._parent_sizes, report)
                parent_sizes = self._finish_hello(hello, report)
                self._recover(stub, parent_sizes, report)
            if self._pull_needed(parent_sizes):
                self._pull(stub, report)
            self._parent_sizes = {
                origin: max(parent_sizes.get(origin, 0), start + report.pushed.get(origin, 0))
                for origin, start in {**parent_sizes, **report.started_from}.items()}
        except grpc.RpcError as exc:
            self.close()
            error = _translate(exc, self.address)
            if isinstance(error, LinkDown):
                report.seconds = time.monotonic() - started
                error.report = report
            raise error from exc
        except BaseException:
            self.close()
            raise
        report.seconds = time.monotonic() - started
        return report

    def recover_only(self, *, from_child: bool = False) -> ExchangeReport:
        """Hello and the recovery pulls, nothing else: the step ``tongban recover`` runs.

        The server may be the parent or, when the parent lost its disk too, any
        higher ancestor that holds our log (``parent_division`` names it, for the
        TLS name and the check of its certificate); nothing is pushed to it. With
        ``from_child`` it is the child ``parent_division`` names, which holds our
        own log as an ancestor log: the national node has no parent to ask. The
        batches are checked the same way (the one Receiver, our own checkpoints).
        """
        started = time.monotonic()
        report = ExchangeReport()
        self._ancestor_ok = not from_child
        self._child_ok = from_child
        try:
            stub = federation_pb2_grpc.FederationStub(self._channel())
            parent_sizes = self._finish_hello(self._start_hello(stub), report)
            self._recover(stub, parent_sizes, report)
        except grpc.RpcError as exc:
            raise _translate(exc, self.address,
                             self.parent_division if from_child else "") from exc
        finally:
            self._ancestor_ok = self._child_ok = False
            self.close()
        report.seconds = time.monotonic() - started
        return report

    def _start_hello(self, stub) -> grpc.Future:
        r = self.replica
        with r.lock:
            sizes = r.log.sizes()
            delivered = delivered_sizes(r.db)
        self._hello_sent_ms = time.time() * 1000
        self._hello_arrived_ms: float | None = None
        self._hello_nonce = hello_proof.new_nonce()
        hello = stub.Hello.future(
            federation_pb2.HelloRequest(division=r.division, chain_der=[der(c) for c in r.chain],
                                        sizes=sizes, time_ms=int(self._hello_sent_ms),
                                        delivered=delivered, nonce=self._hello_nonce),
            timeout=self.pacer.deadline(4096))
        # the arrival time is taken when the answer lands, not when _finish_hello reads it
        # (on a kept-open channel pushes run first)
        hello.add_done_callback(self._hello_arrived)
        return hello

    def _hello_arrived(self, _future: grpc.Future) -> None:
        self._hello_arrived_ms = time.time() * 1000

    def _finish_hello(self, hello: grpc.Future, report: ExchangeReport) -> dict[str, int]:
        r = self.replica
        response = hello.result()
        chain = parse_der(list(response.chain_der), "parent certificate chain")
        report.parent = self._require_server(chain)
        # before anything of the answer is used: the chain is only data unless its key
        # signed our nonce
        hello_proof.check(chain[0], response.chain_der[0], self._hello_nonce, r.division,
                          response.nonce_signature)
        self._deliveries_waiting = response.deliveries_waiting
        self._parent_packs = response.packs_batches
        if response.time_ms:
            sent = self._hello_sent_ms
            arrived = self._hello_arrived_ms or time.time() * 1000
            report.clock_offset_ms = round(response.time_ms - (sent + arrived) / 2)
            report.clock_uncertainty_ms = round((arrived - sent) / 2) + 1
        with r.lock:
            verified = r.receiver.verify_peer(chain[0], chain[1:], Purpose.TLS_SERVER)
            r.receiver.keep_certificates(verified)
        self._parent_cert = chain[0]
        role = "child" if self._child_ok else "parent"
        self.progress(f"hello {report.parent}: {role} holds {sum(response.sizes.values())} "
                      f"records of {len(response.sizes)} origins")
        report.parent_sizes = dict(response.sizes)
        return dict(response.sizes)

    def _require_server(self, chain: list) -> str:
        """The server's division: our parent (it issued our certificate), or, in
        ``recover_only``, the higher ancestor or the child this uplink was pointed at."""
        r = self.replica
        if self._child_ok:
            if not chain:
                raise VerificationError(f"child {self.parent_division} presented no certificate")
            child = r.require_child(chain[0])
            if child != self.parent_division:
                raise PeerNotAllowed(f"the server at {self.address} is {child}, not "
                                     f"{self.parent_division}")
            return child
        if (self._ancestor_ok and chain and division_of(chain[0]) == self.parent_division
                and is_ancestor(self.parent_division, r.division)
                and not issued_by(r.chain[0], chain[0])):
            return self.parent_division
        return r.require_parent(chain)

    def _recover(self, stub, parent_sizes: dict[str, int], report: ExchangeReport) -> None:
        """Fetch back own and subtree records the parent holds beyond ours (a lost disk,
        a restored backup), before anything is pushed or written.

        They arrive through the one Receiver, so each batch is checked against the
        origin's signed checkpoint and against the checkpoints and records still held
        here: a parent cannot hand back a log this node's key did not sign.
        """
        r = self.replica
        while not self.should_stop():
            with r.lock:
                held = {o: s for o, s in r.log.sizes().items() if in_subtree(r.division, o)}
            behind = {o for o, size in parent_sizes.items()
                      if in_subtree(r.division, o) and size > held.get(o, 0)}
            if not behind:
                return
            budget = self.pacer.batch_bytes()
            response = stub.PullLogs(
                federation_pb2.PullRequest(recover={**held, **{o: held.get(o, 0)
                                                               for o in behind}},
                                           max_bytes=budget, packed=True),
                timeout=self.pacer.deadline(budget))
            for batch in response.batches:
                unpack(batch)
            report.bytes_received += response.ByteSize()
            for batch in response.batches:
                with r.lock:
                    received = r.receiver.receive(
                        batch, self.parent_division, lambda o: in_subtree(r.division, o))
                report.recovered[batch.origin] = (report.recovered.get(batch.origin, 0)
                                                  + received.new_records)
                self.progress(f"recover {batch.origin}: holding {received.stored_size}")
            if not response.batches:
                return  # the parent holds records of it, but no checkpoint covering them

    def _push(self, stub, parent_sizes: dict[str, int], report: ExchangeReport) -> None:
        r = self.replica
        with r.lock:
            origins = sorted(o for o in r.log.sizes() if in_subtree(r.division, o))
        for origin in origins:
            self._push_origin(stub, origin, parent_sizes.get(origin, 0), report)

    def _push_origin(self, stub, origin: str, held_above: int, report: ExchangeReport) -> None:
        """Push ``origin`` from the parent's size, at most two calls in flight (see module doc)."""
        r = self.replica
        report.started_from[origin] = held_above
        inflight: deque[_Call] = deque()
        next_start = held_above
        last_done = 0.0
        #: the certificates of a batch of this origin the parent stored in this exchange:
        #: later batches carrying the same ones leave them out (the parent holds them)
        stored_certs: list[bytes] | None = None
        while True:
            if (len(inflight) < 2 and not self.should_stop() and self._more(origin, next_start)
                    and (not inflight or self._wire_free(inflight[-1]))):
                with r.lock:
                    batch = make_batch(r.log, r.certs, origin, next_start,
                                       self.pacer.batch_bytes())
                if batch is not None:
                    inflight.append(self._start_push(
                        stub, batch, inflight, report,
                        omit_certificates=stored_certs == list(batch.certificates)))
                    next_start += len(batch.records)
                    continue
            if not inflight:
                return
            call = inflight.popleft()
            try:
                response = call.future.result()
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.OUT_OF_RANGE or not call.behind_another:
                    raise
                # Overtook its predecessor in the parent's thread pool: the predecessor's
                # answer has already moved held_above to this batch's first_seq, so compare
                # nothing; drain the rest and resend from the parent's size.
                for later in inflight:
                    later.future.cancel()
                inflight.clear()
                next_start = held_above
                continue
            now = time.monotonic()
            self.pacer.observe(call.payload, now - max(call.started, last_done))
            last_done = now
            report.bytes_sent += call.batch.ByteSize()
            report.wire_bytes_sent += call.wire
            report.pushed[origin] = report.pushed.get(origin, 0) + max(
                0, response.stored_size - held_above)
            held_above = max(held_above, response.stored_size)
            stored_certs = list(call.batch.certificates)
            if response.receipt:
                self._keep_receipt(call.batch.checkpoint, response)
                report.receipts += 1
            self.progress(f"push {origin}: parent holds {held_above}")

    def _more(self, origin: str, start: int) -> bool:
        with self.replica.lock:
            return start < sendable(self.replica.log, origin)

    def _wire_free(self, previous: _Call) -> bool:
        """Whether the next batch may start while ``previous`` is in flight.

        On a slow link at once: its bytes queue behind the previous batch's on the
        one TCP stream. A batch shorter than PIPELINE_MIN_SECONDS waits for its answer.
        (Pipelining before the pacer has measured anything, when the Hello was slow,
        was tried for a satellite's cold start and dropped: a busy parent answers Hello
        slowly too, and forty children with two pushes each queued at its one writer
        past their deadlines.)
        """
        if previous.wire_done - previous.started < PIPELINE_MIN_SECONDS:
            return previous.future.done()
        return True

    def _start_push(self, stub, batch: federation_pb2.LogBatch, inflight: deque[_Call],
                    report: ExchangeReport, *, omit_certificates: bool) -> _Call:
        """Send ``batch`` packed when the parent reads that, without the certificates when
        ``omit_certificates`` (an earlier batch of this exchange stored the same ones: the
        receiver takes them from what it holds, sync.receive)."""
        payload = sum(len(x) for x in batch.records)
        now = time.monotonic()
        wire_free = max([now] + [c.wire_done for c in inflight])
        wire_done = wire_free + self.pacer.link_seconds(payload)
        sent = pack(batch) if self._parent_packs else federation_pb2.LogBatch()
        if not self._parent_packs:
            sent.CopyFrom(batch)
        if omit_certificates:
            del sent.certificates[:]
        request = federation_pb2.PushRequest(batch=sent)
        future = stub.PushLogs.future(
            request, timeout=(wire_free - now) + self.pacer.deadline(payload),
            compression=(grpc.Compression.NoCompression if self._parent_packs
                         else grpc.Compression.Gzip))
        report.payload_attempted += payload
        return _Call(batch, future, payload, wire_size(request, gzip=not self._parent_packs),
                     now, wire_done, behind_another=bool(inflight))

    def _keep_receipt(self, note: bytes, response: federation_pb2.PushResponse) -> None:
        r = self.replica
        receipt = verify_receipt(note, response.receipt, self._parent_cert)
        checkpoint, _ = parse_note(note)
        with r.lock:
            r.receiver.keep_receipt(checkpoint.division, checkpoint.size, receipt,
                                    response.receipt)

    def _pull_needed(self, parent_sizes: dict[str, int]) -> bool:
        """Whether the parent holds more of an ancestor's log than we do, or records
        addressed to us (Hello told us)."""
        r = self.replica
        with r.lock:
            held = r.log.sizes()
        behind = any(size > held.get(origin, 0) for origin, size in parent_sizes.items()
                     if is_ancestor(origin, r.division))
        return behind or self._deliveries_waiting

    def _pull(self, stub, report: ExchangeReport) -> None:
        r = self.replica
        while not self.should_stop():
            with r.lock:
                sizes = {o: s for o, s in r.log.sizes().items() if is_ancestor(o, r.division)}
                delivered = delivered_sizes(r.db)
            started = time.monotonic()
            budget = self.pacer.batch_bytes()
            response = stub.PullLogs(
                federation_pb2.PullRequest(sizes=sizes, max_bytes=budget, delivered=delivered,
                                           packed=True),
                timeout=self.pacer.deadline(budget))
            packed = any(b.packed_records for b in response.batches)
            report.wire_bytes_received += wire_size(response, gzip=not packed)
            for batch in response.batches:
                unpack(batch)
            nbytes = sum(len(x) for b in response.batches for x in b.records)
            self.pacer.observe(nbytes, time.monotonic() - started)
            report.bytes_received += response.ByteSize()
            for batch in response.batches:
                with r.lock:
                    received = r.receiver.receive(
                        batch, self.parent_division,
                        lambda origin: is_ancestor(origin, r.division))
                report.pulled[batch.origin] = (report.pulled.get(batch.origin, 0)
                                               + received.new_records)
                self.progress(f"pull {batch.origin}: holding {received.stored_size}")
            for delivery in response.deliveries:
                self._accept_delivery(delivery, report)
            if not response.more or not (response.batches or response.deliveries):
                break

    def _accept_delivery(self, delivery: federation_pb2.Delivery, report: ExchangeReport) -> None:
        record = accept(self.replica, delivery)
        if record is not None:
            report.delivered += 1
            self.progress(f"delivery {record.origin}#{record.seq} for {record.recipient}")
