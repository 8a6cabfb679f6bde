"""The child's side of a link: Hello, push own and subtree logs, pull ancestors' logs.

The receiver's stored sizes are the only cursor, so an exchange that dies
half-way resumes exactly where the parent's store stands.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from pki.checkpoint import parse_note, verify_receipt
from pki.division import in_subtree, is_ancestor
from pki.errors import EnvironmentProblem, Error
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.certstore import der, parse_der
from sync.pacer import Pacer
from sync.replica import Replica
from sync.send import make_batch, sendable
from sync.tls import CHANNEL_OPTIONS, Identity, target_name

Progress = Callable[[str], None]


class LinkDown(EnvironmentProblem):
    """The parent could not be reached or the call failed in transit; retry later."""


class LinkRefused(Error):
    """The parent answered and refused: retrying the same thing will not help."""


@dataclass
class ExchangeReport:
    parent: str = ""
    pushed: dict[str, int] = field(default_factory=dict)
    pulled: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0
    receipts: int = 0
    seconds: float = 0.0


_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED,
              grpc.StatusCode.ABORTED, grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL,
              grpc.StatusCode.OUT_OF_RANGE}


def _translate(exc: grpc.RpcError, address: str) -> Error:
    code = exc.code() if hasattr(exc, "code") else None
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    if code in _RETRYABLE:
        return LinkDown(f"link to parent {address} failed: {code.name if code else '?'}: "
                        f"{detail}")
    return LinkRefused(f"parent {address} refused: {code.name if code else '?'}: {detail}")


class Uplink:
    def __init__(self, replica: Replica, identity: Identity, address: str,
                 parent_division: str, pacer: Pacer | None = None,
                 progress: Progress | None = None) -> None:
        self.replica = replica
        self.address = address
        self.parent_division = parent_division
        self.identity = identity
        self.pacer = pacer or Pacer()
        self.progress = progress or (lambda _line: None)
        #: checked between batches, so a stopping node never abandons a batch half-sent
        self.should_stop: Callable[[], bool] = lambda: False

    def _channel(self) -> grpc.Channel:
        options = [*CHANNEL_OPTIONS,
                   ("grpc.ssl_target_name_override", target_name(self.parent_division))]
        return grpc.secure_channel(self.address, self.identity.channel_credentials(),
                                   options=options, compression=grpc.Compression.Gzip)

    def exchange(self) -> ExchangeReport:
        """One full exchange; raises LinkDown (retry) or LinkRefused (operator must act)."""
        started = time.monotonic()
        report = ExchangeReport()
        channel = self._channel()
        try:
            stub = federation_pb2_grpc.FederationStub(channel)
            parent_sizes = self._hello(stub, report)
            self._push(stub, parent_sizes, report)
            self._pull(stub, report)
        except grpc.RpcError as exc:
            raise _translate(exc, self.address) from exc
        finally:
            channel.close()
        report.seconds = time.monotonic() - started
        return report

    def _hello(self, stub, report: ExchangeReport) -> dict[str, int]:
        r = self.replica
        with r.lock:
            sizes = r.log.sizes()
        response = stub.Hello(
            federation_pb2.HelloRequest(division=r.division, chain_der=[der(c) for c in r.chain],
                                        sizes=sizes, time_ms=int(time.time() * 1000)),
            timeout=self.pacer.deadline(4096))
        chain = parse_der(list(response.chain_der), "parent certificate chain")
        report.parent = r.require_parent(chain)
        verified = r.trust.verify_certificate(chain[0], chain[1:], Purpose.TLS_SERVER)
        with r.lock, r.receiver.transaction():
            r.certs.add(verified)
        self._parent_cert = chain[0]
        self.progress(f"hello {report.parent}: parent holds {sum(response.sizes.values())} "
                      f"records of {len(response.sizes)} origins")
        return dict(response.sizes)

    def _push(self, stub, parent_sizes: dict[str, int], report: ExchangeReport) -> None:
        r = self.replica
        with r.lock:
            origins = sorted(o for o in r.log.sizes() if in_subtree(r.division, o))
        for origin in origins:
            held_above = parent_sizes.get(origin, 0)
            while not self.should_stop():
                with r.lock:
                    limit = sendable(r.log, origin)
                    if held_above >= limit:
                        break
                    batch = make_batch(r.log, r.certs, origin, held_above,
                                       self.pacer.batch_bytes())
                if batch is None:
                    break
                nbytes = sum(len(x) for x in batch.records)
                started = time.monotonic()
                response = stub.PushLogs(federation_pb2.PushRequest(batch=batch),
                                         timeout=self.pacer.deadline(nbytes))
                self.pacer.observe(nbytes, time.monotonic() - started)
                report.bytes_sent += batch.ByteSize()
                report.pushed[origin] = report.pushed.get(origin, 0) + (
                    response.stored_size - held_above)
                held_above = response.stored_size
                if response.receipt:
                    self._keep_receipt(batch.checkpoint, response)
                    report.receipts += 1
                self.progress(f"push {origin}: parent holds {held_above}/{limit}")

    def _keep_receipt(self, note: bytes, response: federation_pb2.PushResponse) -> None:
        r = self.replica
        receipt = verify_receipt(note, response.receipt, self._parent_cert)
        checkpoint, _ = parse_note(note)
        with r.lock, r.receiver.transaction():
            r.log.add_receipt(checkpoint.division, checkpoint.size, receipt.cosigner,
                              receipt.time * 1000, response.receipt)

    def _pull(self, stub, report: ExchangeReport) -> None:
        r = self.replica
        while not self.should_stop():
            with r.lock:
                sizes = {o: s for o, s in r.log.sizes().items() if is_ancestor(o, r.division)}
            started = time.monotonic()
            budget = self.pacer.batch_bytes()
            response = stub.PullLogs(
                federation_pb2.PullRequest(sizes=sizes, max_bytes=budget),
                timeout=self.pacer.deadline(budget))
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
            if not response.more or not response.batches:
                break
