"""The Federation gRPC servicer: what a parent answers to its children.

Every refusal is a precise status: PERMISSION_DENIED (wrong peer or subtree,
or a certificate that does not hold now: expired or revoked, checked on every
call, since TLS only checked it against the root), INVALID_ARGUMENT (signature
or root mismatch, malformed data), FAILED_PRECONDITION (a fork), OUT_OF_RANGE
(a batch that skips records). One boundary (``_boundary``) wraps every RPC, so
an exception nobody anticipated still leaves as one line with a status, never
as grpc's UNKNOWN "Exception calling application".
A descendant that lost its disk may pull its own and its subtree's logs back
(PullRequest.recover), from its parent or, when that is gone too, from a
higher ancestor; a parent that has no parent to ask (the national node) or
whose ancestors lost it too pulls its own log back from a child, which holds
it as an ancestor log, and only the origins of its own subtree.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError, Message

from pki.certs import division_of
from pki.division import in_subtree, is_ancestor
from pki.errors import Error, InputError, MalformedError, VerificationError
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync import hello_proof
from sync.arrival import ArrivalOrder
from sync.batches import MAX_BATCH_BYTES, make_batch, sendable
from sync.certstore import der, parse_der
from sync.deliver import make_deliveries
from sync.packing import pack, unpack
from sync.receive import PeerNotAllowed, Received
from sync.replica import Replica
from sync.requests import check_batch, check_chain, check_sizes
from sync.tls import peer_certificate

_STATUS = {
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
}
#: What a request's own bytes can provoke below us (a value SQLite cannot hold, text that
#: does not decode): the caller's fault, so INVALID_ARGUMENT. Anything else is our bug.
_MALFORMED = (ValueError, OverflowError, TypeError, LookupError, DecodeError)


log = logging.getLogger("tongban.children")

#: told of every child's Hello: its division and the sizes it holds of its subtree's logs
ContactHook = Callable[[str, dict[str, int]], None]
#: told of every push that stored new records, under the replica lock and before the
#: reply (the national node's licence relay runs here)
ReceiptHook = Callable[[Received], None]

_Rpc = TypeVar("_Rpc", bound=Callable[..., Any])


#: the longest a push waits for a pipelined predecessor when its call has no deadline
MAX_ORDER_WAIT_SECONDS = 30.0


def _waiting_budget(context: grpc.ServicerContext) -> float:
    """How long a push may wait for its predecessor: half of what its deadline leaves
    (the other half is for storing it), at most MAX_ORDER_WAIT_SECONDS."""
    remaining = context.time_remaining()
    return MAX_ORDER_WAIT_SECONDS if remaining is None else min(remaining / 2,
                                                                MAX_ORDER_WAIT_SECONDS)


def _who(context: grpc.ServicerContext) -> str:
    """The peer's division for a log line, or its address when it has no usable certificate."""
    try:
        return division_of(peer_certificate(context))
    except Error:
        return context.peer()


def _status(exc: Error) -> grpc.StatusCode:
    status = _STATUS.get(getattr(exc, "status", ""))
    if status is not None:
        return status
    if isinstance(exc, InputError | VerificationError):
        return grpc.StatusCode.INVALID_ARGUMENT
    return grpc.StatusCode.INTERNAL


def _one_line(text: str) -> str:
    """One line of at most 1,000 characters, control characters escaped: a peer's bytes
    echoed in a refusal must not move the other operator's cursor."""
    flat = " ".join(text.split())[:1000]
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in flat)


#: Each RPC's request type: the servicer parses requests itself (see ``add_to_server``).
_REQUESTS: dict[str, type[Message]] = {
    "Hello": federation_pb2.HelloRequest, "PushLogs": federation_pb2.PushRequest,
    "PullLogs": federation_pb2.PullRequest}
SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["Federation"].full_name


def _parse(method: str, data: bytes) -> Message:
    message = _REQUESTS[method]()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise MalformedError(f"{method} request", f"does not parse ({exc})") from exc
    return message


def _boundary(rpc: _Rpc) -> _Rpc:
    """The one exit for every failure of an RPC: a status and a one-line message.

    An ``Error`` carries its own status. An exception from below that a
    request's content can cause (_MALFORMED) is INVALID_ARGUMENT; anything
    else is INTERNAL and logged with its trace, since it is a bug. Both are
    logged with the method and the peer.
    """
    @functools.wraps(rpc)
    def call(self: FederationService, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            if isinstance(request, bytes):
                request = _parse(rpc.__name__, request)
            return rpc(self, request, context)
        except Error as exc:
            status, details = _status(exc), exc.diagnostics()
        except _MALFORMED as exc:
            status = grpc.StatusCode.INVALID_ARGUMENT
            details = f"malformed request: {type(exc).__name__}: {exc}"
            log.warning("%s from %s refused: %s", rpc.__name__, _who(context), _one_line(details))
        except Exception as exc:  # the boundary: whatever it is, the caller gets one line
            status = grpc.StatusCode.INTERNAL
            details = f"internal error in {rpc.__name__} ({type(exc).__name__}); see the server log"
            log.exception("%s from %s failed", rpc.__name__, _who(context))
        context.abort(status, _one_line(details))
    return call  # type: ignore[return-value]


class FederationService(federation_pb2_grpc.FederationServicer):
    def __init__(self, replica: Replica, on_contact: ContactHook | None = None,
                 on_received: ReceiptHook | None = None) -> None:
        self.replica = replica
        self.on_contact = on_contact
        self.on_received = on_received
        self._arrivals = ArrivalOrder()

    def _admit(self, peer: x509.Certificate, presented: Sequence[x509.Certificate] = (),
               view: Replica | None = None) -> list[x509.Certificate]:
        """The peer's chain, verified now with the revocations held now, or PeerNotAllowed.

        TLS checked the certificate against the root only; a child revoked since
        (or expired) is refused here, on every call. Call with the replica lock held,
        or with ``view`` a snapshot (Replica.snapshot).
        """
        r = view or self.replica
        try:
            return r.receiver.verify_peer(peer, [*presented, *r.chain, *r.own_certs],
                                          Purpose.TLS_CLIENT)
        except VerificationError as exc:
            raise PeerNotAllowed(f"peer refused: {exc.diagnostics()}") from exc

    def _is_child(self, peer: x509.Certificate) -> bool:
        try:
            self.replica.require_child(peer)
        except PeerNotAllowed:
            return False
        return True

    def _child(self, context: grpc.ServicerContext, view: Replica | None = None) -> str:
        """The calling child's division, if we issued its certificate and it holds now."""
        peer = peer_certificate(context)
        code = self.replica.require_child(peer)
        self._admit(peer, view=view)
        return code

    @_boundary
    def Hello(self, request, context):
        r = self.replica
        try:
            peer = peer_certificate(context)
            presented = parse_der(check_chain("hello certificate chain", request.chain_der),
                                  "hello certificate chain")
            if not presented or der(presented[0]) != der(peer):
                raise VerificationError("hello chain does not start with the TLS certificate")
            told = check_sizes("hello sizes", request.sizes)
            delivered = check_sizes("hello delivered", request.delivered)
            # Read from a snapshot, so a Hello never waits behind a push; what it writes
            # (certificates not held yet, the child's contact) waits for the lock instead.
            with r.snapshot() as view:
                chain = self._admit(peer, presented[1:], view)
                # Only our parent or a child learns what we hold; anyone else, however
                # well certified, gets the refusal and nothing more. An ancestor calls
                # only to recover its own log (the national node after a restore), and
                # only the one that issued our certificate may.
                from_parent = is_ancestor(division_of(peer), r.division)
                if from_parent:
                    view.require_parent(chain)
                recovering = not from_parent and not self._is_child(peer)
                if recovering:
                    code = division_of(peer)  # its chain to the root was verified just now
                    if code == r.division or not in_subtree(r.division, code):
                        r.require_child(peer)  # the refusal, naming what it is not
                    sizes = {o: n for o, n in view.log.sizes().items() if in_subtree(code, o)}
                    unheld, waiting = [], False
                else:
                    unheld = [c for c in chain if not view.certs.holds(c)]
                    sizes = view.log.sizes()
                    waiting = (not from_parent
                               and bool(view.host.addressed_into(division_of(peer), delivered)))
            if unheld:
                r.write_soon(lambda: r.receiver.keep_certificates(unheld))
            if self.on_contact and not from_parent and not recovering:
                on_contact, child = self.on_contact, division_of(peer)
                r.write_soon(lambda: on_contact(child, told))
        except Error as exc:
            log.warning("hello from %s refused: %s", _who(context), _one_line(exc.diagnostics()))
            raise
        key, chain = self._signing_identity()
        own = der(chain[0])
        return federation_pb2.HelloResponse(
            division=r.division, chain_der=[own, *(der(c) for c in chain[1:])], sizes=sizes,
            time_ms=int(time.time() * 1000), deliveries_waiting=waiting, packs_batches=True,
            nonce_signature=hello_proof.sign(key, request.nonce, division_of(peer), own))

    def _signing_identity(self) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]]:
        """The node key and the chain it belongs to, as one pair: a certificate reload
        (node.certwatch) swaps them one after the other under the lock, and a Hello,
        which reads without it, must not sign with one and present the other."""
        r = self.replica
        key, chain = r.key, r.chain
        if not hello_proof.key_matches(key, chain[0]):
            with r.lock:  # a reload is half done: wait for it
                key, chain = r.key, r.chain
        return key, chain

    @_boundary
    def PushLogs(self, request, context):
        batch = request.batch
        try:
            with self._arrivals.handling(batch.origin, batch.first_seq):
                unpack(batch)  # outside the lock: bzip2 lets go of the GIL
                check_batch(batch)  # a position SQLite cannot hold waits for nothing
                # a pipelined predecessor may still be inflating: let it go first
                self._arrivals.wait_for_predecessors(
                    batch.origin, batch.first_seq, lambda: self._held(batch.origin),
                    _waiting_budget(context))
                return self._store_push(request, context)
        except Error as exc:
            log.warning("child %s: refused batch of %s from %d: %s", _who(context),
                        _one_line(batch.origin[:20]), batch.first_seq,
                        _one_line(exc.diagnostics()))
            raise

    def _held(self, origin: str) -> int:
        with self.replica.snapshot() as view:
            return view.log.size(origin)

    def _store_push(self, request, context) -> federation_pb2.PushResponse:
        r = self.replica
        with r.lock:
            r.flush_pending()
            peer = self._child(context)
            received = r.receiver.receive(request.batch, peer,
                                          lambda origin: in_subtree(peer, origin))
            acked = self._ack(received)
            if self.on_received and received.new_records:
                self.on_received(received)
        log.info("child %s: accepted %d records of %s, holding %d", peer,
                 received.new_records, received.origin, received.stored_size)
        return acked

    def _ack(self, received: Received) -> federation_pb2.PushResponse:
        r = self.replica
        if received.checkpoint is None:
            return federation_pb2.PushResponse(stored_size=received.stored_size)
        receipt = r.cosign(received.origin, received.checkpoint.size, received.note)
        return federation_pb2.PushResponse(stored_size=received.stored_size,
                                           receipt=receipt.note, receipt_time_ms=receipt.time_ms)

    @_boundary
    def PullLogs(self, request, context):
        """Ancestors' logs and deliveries for a child; with ``recover``, a descendant's own
        and subtree logs sent back (it lost its disk; DESIGN.md, "Recovery"), or our
        parent's, which it lost and we hold as ancestor logs."""
        r = self.replica
        held = check_sizes("pull sizes", request.sizes)
        delivered = check_sizes("pull delivered", request.delivered)
        budget = max(1, min(request.max_bytes or MAX_BATCH_BYTES, 4 * MAX_BATCH_BYTES))
        if request.recover:
            recovering = check_sizes("pull recover", request.recover)
            cert = peer_certificate(context)
            with r.snapshot() as view:
                peer = (self._require_parent(cert, view)
                        if is_ancestor(division_of(cert), r.division)
                        else self._require_descendant(cert, view))
                batches, more = self._batches(view, lambda o: in_subtree(peer, o), recovering,
                                              budget)
            return federation_pb2.PullResponse(batches=self._packed(request, context, batches),
                                               more=more)
        with r.snapshot() as view:  # a pull only reads: it never waits behind a push
            peer = self._child(context, view)
            batches, more = self._batches(view, lambda o: is_ancestor(o, peer), held, budget)
            budget -= sum(len(x) for b in batches for x in b.records)
            wanted = view.host.addressed_into(peer, delivered)
            deliveries, left = make_deliveries(view.log, view.db, view.certs, wanted,
                                               max(budget, 1))
            more = more or left
        if deliveries:
            return federation_pb2.PullResponse(batches=batches, more=more,
                                               deliveries=deliveries)
        return federation_pb2.PullResponse(batches=self._packed(request, context, batches),
                                           more=more)

    @staticmethod
    def _packed(request: federation_pb2.PullRequest, context: grpc.ServicerContext,
                batches: list[federation_pb2.LogBatch]) -> list[federation_pb2.LogBatch]:
        """The batches packed (outside the lock) when the caller reads packed batches, and
        the answer then sent without gRPC's gzip; else as they are."""
        if not request.packed or not batches:
            return batches
        context.set_compression(grpc.Compression.NoCompression)
        return [pack(batch) for batch in batches]

    @staticmethod
    def _batches(r: Replica, wanted: Callable[[str], bool], held: dict[str, int], budget: int
                 ) -> tuple[list[federation_pb2.LogBatch], bool]:
        """Batches of the ``wanted`` origins from what the caller holds, within ``budget``,
        read from ``r`` (a snapshot)."""
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

    def _require_parent(self, cert: x509.Certificate, r: Replica) -> str:
        """Our parent, by a chain verified now: the one ancestor that may pull back what we
        hold of its subtree (recovery pulls only). ``r`` is a snapshot."""
        chain = self._admit(cert, self._held_issuers(cert, r), view=r)
        return r.require_parent(chain)

    @staticmethod
    def _held_issuers(cert: x509.Certificate, r: Replica) -> list[x509.Certificate]:
        """The chain held for ``cert``'s issuer (not among our own certificates when it is
        a grandchild's, or a parent's new key after ``pki rotate``)."""
        issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        held = r.certs.chain_for(str(issuer[0].value)) if issuer else []
        return parse_der(held, f"certificates held for {division_of(cert)}'s issuer")

    def _require_descendant(self, cert: x509.Certificate, r: Replica) -> str:
        """A node below us, by a chain verified now: a child, or a grandchild whose parent is
        gone too (recovery pulls only; pushes still come from children alone). ``r`` is
        a snapshot."""
        code = division_of(cert)
        if code == r.division or not in_subtree(r.division, code):
            raise PeerNotAllowed(f"peer {code} is not in the subtree of {r.division}")
        self._admit(cert, self._held_issuers(cert, r), view=r)
        return code


def add_to_server(service: FederationService, server: grpc.Server) -> None:
    """Serve ``service``, receiving each request as bytes and parsing it inside the boundary.

    With the generated registration grpc parses first, and a request that does
    not parse is answered INTERNAL "Exception deserializing request!" with a
    trace in the log; here it is INVALID_ARGUMENT in one line, like any other
    malformed request.
    """
    handlers: dict[str, grpc.RpcMethodHandler] = {
        method: grpc.unary_unary_rpc_method_handler(
            getattr(service, method), request_deserializer=None,
            response_serializer=lambda message: message.SerializeToString())
        for method in _REQUESTS
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
