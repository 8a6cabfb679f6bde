"""The Federation gRPC servicer: what a parent answers to its children.

Every refusal is a precise status: PERMISSION_DENIED (wrong peer or subtree),
INVALID_ARGUMENT (signature or root mismatch, malformed data),
FAILED_PRECONDITION (a fork), OUT_OF_RANGE (a batch that skips records).
A descendant that lost its disk may pull its own and its subtree's logs back
(PullRequest.recover), from its parent or, when that is gone too, from a
higher ancestor.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc
from cryptography import x509

from pki.certs import division_of
from pki.division import in_subtree, is_ancestor
from pki.errors import Error, InputError, VerificationError
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.batches import MAX_BATCH_BYTES, make_batch, sendable
from sync.certstore import der, parse_der
from sync.deliver import make_deliveries
from sync.receive import PeerNotAllowed, Received
from sync.replica import Replica
from sync.tls import peer_certificate

_STATUS = {
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
}


log = logging.getLogger("tongban.children")

#: told of every child's Hello: its division and the sizes it holds of its subtree's logs
ContactHook = Callable[[str, dict[str, int]], None]
#: told of every push that stored new records, under the replica lock and before the
#: reply (the national node's licence relay runs here)
ReceiptHook = Callable[[Received], None]


def _who(context: grpc.ServicerContext) -> str:
    """The peer's division for a log line, or its address when it has no usable certificate."""
    try:
        return division_of(peer_certificate(context))
    except Error:
        return context.peer()


def _abort(context: grpc.ServicerContext, exc: Error) -> None:
    status = _STATUS.get(getattr(exc, "status", ""))
    if status is None:
        status = (grpc.StatusCode.INVALID_ARGUMENT
                  if isinstance(exc, InputError | VerificationError)
                  else grpc.StatusCode.INTERNAL)
    context.abort(status, exc.diagnostics())


class FederationService(federation_pb2_grpc.FederationServicer):
    def __init__(self, replica: Replica, on_contact: ContactHook | None = None,
                 on_received: ReceiptHook | None = None) -> None:
        self.replica = replica
        self.on_contact = on_contact
        self.on_received = on_received

    def Hello(self, request, context):
        r = self.replica
        try:
            peer = peer_certificate(context)
            presented = parse_der(list(request.chain_der), "hello certificate chain")
            if not presented or der(presented[0]) != der(peer):
                raise VerificationError("hello chain does not start with the TLS certificate")
            with r.lock:
                chain = r.receiver.verify_peer(peer, presented[1:], Purpose.TLS_CLIENT)
                r.receiver.keep_certificates(chain)
                sizes = r.log.sizes()
                waiting = bool(r.host.addressed_into(division_of(peer),
                                                     dict(request.delivered)))
                if self.on_contact:
                    self.on_contact(division_of(peer), dict(request.sizes))
        except Error as exc:
            log.warning("hello from %s refused: %s", _who(context), exc.diagnostics())
            _abort(context, exc)
        return federation_pb2.HelloResponse(
            division=r.division, chain_der=[der(c) for c in r.chain], sizes=sizes,
            time_ms=int(time.time() * 1000), deliveries_waiting=waiting)

    def PushLogs(self, request, context):
        r = self.replica
        try:
            peer = r.require_child(peer_certificate(context))
            with r.lock:
                received = r.receiver.receive(request.batch, peer,
                                              lambda origin: in_subtree(peer, origin))
                acked = self._ack(received)
                if self.on_received and received.new_records:
                    self.on_received(received)
            log.info("child %s: accepted %d records of %s, holding %d", peer,
                     received.new_records, received.origin, received.stored_size)
            return acked
        except Error as exc:
            log.warning("child %s: refused batch of %s from %d: %s", _who(context),
                        request.batch.origin, request.batch.first_seq, exc.diagnostics())
            _abort(context, exc)

    def _ack(self, received: Received) -> federation_pb2.PushResponse:
        r = self.replica
        if received.checkpoint is None:
            return federation_pb2.PushResponse(stored_size=received.stored_size)
        receipt = r.cosign(received.origin, received.checkpoint.size, received.note)
        return federation_pb2.PushResponse(stored_size=received.stored_size,
                                           receipt=receipt.note, receipt_time_ms=receipt.time_ms)

    def PullLogs(self, request, context):
        """Ancestors' logs and deliveries for a child; with ``recover``, a descendant's own
        and subtree logs sent back (it lost its disk; DESIGN.md, "Recovery")."""
        r = self.replica
        try:
            cert = peer_certificate(context)
            budget = max(1, min(request.max_bytes or MAX_BATCH_BYTES, 4 * MAX_BATCH_BYTES))
            if request.recover:
                peer = self._require_descendant(cert)
                with r.lock:
                    batches, more = self._batches(lambda o: in_subtree(peer, o),
                                                  dict(request.recover), budget)
                return federation_pb2.PullResponse(batches=batches, more=more)
            peer = r.require_child(cert)
            with r.lock:
                batches, more = self._batches(lambda o: is_ancestor(o, peer),
                                              dict(request.sizes), budget)
                budget -= sum(len(x) for b in batches for x in b.records)
                wanted = r.host.addressed_into(peer, dict(request.delivered))
                deliveries, left = make_deliveries(r.log, r.db, r.certs, wanted, max(budget, 1))
                more = more or left
        except Error as exc:
            _abort(context, exc)
        return federation_pb2.PullResponse(batches=batches, more=more, deliveries=deliveries)

    def _batches(self, wanted: Callable[[str], bool], held: dict[str, int], budget: int
                 ) -> tuple[list[federation_pb2.LogBatch], bool]:
        """Batches of the ``wanted`` origins from what the caller holds, within ``budget``."""
        r = self.replica
        batches = []
        more = False
        for origin in sorted(r.log.sizes()):
            if not wanted(origin):
                continue
            start = held.get(origin, 0)
            if start >= sendable(r.log, origin):
                continue
            if budget <= 0:
                more = True
                break
            batch = make_batch(r.log, r.certs, origin, start, budget)
            if batch is None:
                continue
            batches.append(batch)
            budget -= sum(len(x) for x in batch.records)
            if start + len(batch.records) < sendable(r.log, origin):
                more = True
        return batches, more

    def _require_descendant(self, cert: x509.Certificate) -> str:
        """A node below us, by a chain verified now: a child, or a grandchild whose parent is
        gone too (recovery pulls only; pushes still come from children alone)."""
        r = self.replica
        code = division_of(cert)
        if code == r.division or not in_subtree(r.division, code):
            raise PeerNotAllowed(f"peer {code} is not in the subtree of {r.division}")
        with r.lock:
            issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
            held = r.certs.chain_for(str(issuer[0].value)) if issuer else []
            pool = parse_der(held, f"certificates held for {code}'s issuer")
            r.receiver.verify_peer(cert, pool, Purpose.TLS_CLIENT)
        return code
