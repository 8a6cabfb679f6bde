"""Bundles: what a link would carry, in an encrypted, signed file, for a USB stick.

A bundle file (format version 2, pki.envelope) is the serialised Bundle,
deflated, encrypted to the recipient's certificate key (HPKE) and signed by the
sender over the header and ciphertext. Reading one checks, in order, the
header's framing, the recipient (this node), the sender's chain to the root,
the relation (a child's bundle at its parent, the parent's reply at the child)
and the signature over the stored bytes, then decrypts segment by segment with
the node's key, inflating no further than the header declares, before a single
row is written. Every batch then goes through the same Receiver as a network
push, so a bundle can never get in what the link would refuse. An auditor
without the recipient's key can still check the header, chain and signature
(sync.audit.bundle).

What the child holds of its ancestors' logs travels as zero-record LogBatch
entries (origin = the ancestor, first_seq = the size held): the proto has no
sizes field on Bundle, and an empty batch says exactly "I hold first_seq
records of this origin" without a proto change. A child never sends
ancestors' records, so an ancestor batch with records is refused.

Recovery by file: the child's bundle says in ``held`` how much of its own and
its subtree's logs it holds; the parent's reply carries back whatever it holds
beyond that, and its own ``held``, so a child that lost its disk recovers from
the reply exactly as from a network pull (node.log_guard judges by ``held``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError

from pki import envelope
from pki.certs import division_of, same_public_key, serial_hex
from pki.checkpoint import parse_note, verify_receipt
from pki.division import in_subtree, is_ancestor
from pki.envelope import Envelope
from pki.errors import EnvironmentProblem, Error, MalformedError, VerificationError
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2
from sync import merkle
from sync.batches import MAX_BATCH_BYTES, make_batch, sendable
from sync.certstore import parse_der
from sync.contract import Progress
from sync.deliver import accept, delivered_sizes, make_deliveries
from sync.frontier import verify_standalone
from sync.replica import Replica

#: The one limit on a bundle, unpacked: importing and auditing decode it the same way
#: (``read`` then ``open_contents``), and an export stops adding batches before it (the
#: rest goes in the next bundle, as the parent's receipts then say). A county's backlog
#: after weeks offline is a few megabytes. Decoding holds the file, the inflated bytes
#: and the parsed Bundle, one 64 KiB segment decrypted at a time, so 64 MiB keeps
#: ``bundle import`` and ``audit verify`` under 300 MB on any input, including a
#: deflate bomb (bench/bench_hostile.py).
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
#: A bundle file on disk: deflate, segment tags and the header add a little to data
#: that does not compress.
MAX_BUNDLE_FILE_BYTES = MAX_BUNDLE_BYTES + (1 << 20)
#: addressed records travel one by one with their proofs; a reply carries up to this many bytes
MAX_BUNDLE_DELIVERY_BYTES = 16 * 1024 * 1024


@dataclass
class Imported:
    """What one import did; ``receipts`` are the ones made (at a parent) or stored (at a child)."""

    sender: str
    from_child: bool
    #: the sender's verified certificate: the reply is encrypted to its key
    sender_cert: x509.Certificate
    stored: dict[str, int] = field(default_factory=dict)
    receipts: list[federation_pb2.ReceiptEntry] = field(default_factory=list)
    held_by_sender: dict[str, int] = field(default_factory=dict)
    csrs: list[bytes] = field(default_factory=list)
    #: the child's delivery cursor (sync.deliver.delivered_sizes)
    delivered: dict[str, int] = field(default_factory=dict)
    #: Bundle.held: what the sender holds of the child's own and subtree logs (recovery)
    held_of_subtree: dict[str, int] = field(default_factory=dict)

    @property
    def new_records(self) -> int:
        return sum(self.stored.values())


@dataclass(frozen=True)
class Keyring:
    """What a node can decrypt with: every certificate it held and the keys it still has.

    A bundle made before the recipient rotated its key is encrypted to the old
    certificate; the old key (kept in the home's old-keys/) still opens it.
    """

    division: str
    certs: Sequence[x509.Certificate]
    keys: Sequence[ec.EllipticCurvePrivateKey]

    @classmethod
    def of(cls, replica: Replica) -> Keyring:
        return cls(replica.division, replica.own_certs, [replica.key])

    def key_for(self, sealed: Envelope, what: str) -> ec.EllipticCurvePrivateKey:
        """The private key the bundle was encrypted to, or an Error saying whose it was."""
        if sealed.recipient != self.division:
            raise VerificationError(f"{what} is for {sealed.recipient}, not for this node "
                                    f"{self.division}")
        cert = next((c for c in self.certs if envelope.fingerprint(c) == sealed.recipient_fp),
                    None)
        if cert is None:
            raise VerificationError(
                f"{what} is encrypted to a certificate of {sealed.recipient} this node never "
                f"held (sha256 {sealed.recipient_fp.hex()[:16]}…)")
        for key in self.keys:
            if same_public_key(key.public_key(), cert.public_key()):
                return key
        raise EnvironmentProblem(f"{what} is encrypted to this node's certificate serial "
                                 f"{serial_hex(cert)}, whose key is not in this home")


# --- the file form -------------------------------------------------------------------------------


def encode(bundle: federation_pb2.Bundle, replica: Replica, recipient_cert: x509.Certificate
           ) -> bytes:
    """The bundle encrypted to ``recipient_cert``'s key and signed with the node key."""
    return envelope.seal(bundle.SerializeToString(), sender=bundle.sender,
                         recipient=bundle.recipient, recipient_cert=recipient_cert,
                         chain=replica.chain, signing_key=replica.key,
                         created_ms=bundle.created_ms)


def read(blob: bytes, what: str) -> Envelope:
    """The header and layout, or "malformed <what>: …"; nothing decrypted yet."""
    return envelope.parse(blob, what, MAX_BUNDLE_BYTES)


def sender_pool(sealed: Envelope, what: str) -> list[x509.Certificate]:
    """The header's sender chain, parsed; its first certificate must be the sender's."""
    pool = parse_der(list(sealed.chain_der), f"{what} sender chain")
    if not pool or division_of(pool[0]) != sealed.sender:
        raise VerificationError(f"{what}: sender chain does not start with a certificate for "
                                f"the sender {sealed.sender}")
    return pool


def open_contents(sealed: Envelope, key: ec.EllipticCurvePrivateKey, what: str
                  ) -> federation_pb2.Bundle:
    """The Bundle inside, which must name the header's sender, recipient and time."""
    data = envelope.open_content(sealed, key, what)
    bundle = federation_pb2.Bundle()
    try:
        bundle.ParseFromString(data)  # type: ignore[arg-type]  # upb parses any buffer
    except DecodeError as exc:
        raise MalformedError(what, f"not a tongban bundle: {exc}") from exc
    inner = (bundle.sender, bundle.recipient, bundle.created_ms)
    if inner != (sealed.sender, sealed.recipient, sealed.created_ms):
        raise MalformedError(what, f"contents name {inner[0] or '?'} to {inner[1] or '?'}, "
                             f"the header {sealed.sender} to {sealed.recipient}")
    return bundle


def open_verified(replica: Replica, blob: bytes, what: str, keyring: Keyring | None = None
                  ) -> tuple[federation_pb2.Bundle, list[x509.Certificate]]:
    """The bundle and the sender's verified chain, if it is addressed here and signed by its sender.

    The sender must be this node's direct child or its parent: nobody else
    has anything to hand us by file. Nothing is decrypted before the
    signature over the stored header and ciphertext verifies.
    """
    sealed = read(blob, what)
    key = (keyring or Keyring.of(replica)).key_for(sealed, what)
    pool = sender_pool(sealed, what)
    chain = replica.receiver.verify_peer(pool[0], pool[1:], Purpose.SIGNING)
    if is_ancestor(sealed.sender, replica.division):
        replica.require_parent(chain)
    else:
        replica.require_child(chain[0])
    envelope.verify_sender(sealed, chain[0], what)
    return open_contents(sealed, key, what), chain


def parent_certificate(replica: Replica) -> x509.Certificate:
    """The parent's newest certificate this node accepts as its parent's: bundles for the
    parent are encrypted to it (a parent that rotated its key is known from its Hello or
    its last reply; before that, the certificate that issued ours; for a province, the root)."""
    own = replica.chain[0]
    held = [*replica.chain[1:2], replica.receiver.root,
            *replica.certs.for_division(_issuer_division(own))]
    usable = []
    for cert in held:
        if cert.subject != own.issuer:
            continue
        try:
            replica.require_parent([cert, *replica.chain[1:]])
        except Error:
            continue
        usable.append(cert)
    if not usable:
        raise EnvironmentProblem("no usable certificate of the parent to encrypt the bundle "
                                 "to: re-import the node certificate chain (tongban pki import)")
    # Newest first; in a tie (a rotation within the second) the one that issued ours is
    # the older: the parent rotated after issuing it.
    return max(usable, key=lambda c: (c.not_valid_before_utc, c not in replica.chain[1:2]))


def _issuer_division(cert: x509.Certificate) -> str:
    names = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


# --- making bundles ------------------------------------------------------------------------------


#: Room kept in an export for the sender chain, requests, receipts and deliveries.
_ENVELOPE_BYTES = MAX_BUNDLE_DELIVERY_BYTES + (4 << 20)


def _batches_from(replica: Replica, origin: str, start: int, budget: list[int]
                  ) -> list[federation_pb2.LogBatch]:
    """Batches from ``start`` towards the newest checkpoint, each with its prefix frontier,
    while ``budget[0]`` bytes remain (what does not fit goes in the next bundle)."""
    r = replica
    out = []
    limit = sendable(r.log, origin)
    while start < limit:
        batch = make_batch(r.log, r.certs, origin, start, MAX_BATCH_BYTES)
        if batch is None or batch.ByteSize() > budget[0]:
            break
        budget[0] -= batch.ByteSize()
        batch.prefix_frontier.extend(merkle.CompactRange.of_stored(
            start, lambda lvl, idx: r.log.tree_node(origin, lvl, idx)).hashes)
        out.append(batch)
        start += len(batch.records)
    return out


def export_for_parent(replica: Replica, parent: str, csrs: list[bytes] | None = None
                      ) -> federation_pb2.Bundle:
    """Everything the parent lacks by its newest receipts, and what we hold of the ancestors."""
    r = replica
    bundle = federation_pb2.Bundle(
        sender=r.division, recipient=parent, created_ms=int(time.time() * 1000),
        csrs=csrs or [])
    with r.lock:
        bundle.delivered.update(delivered_sizes(r.db))
        sizes = r.log.sizes()
        budget = [MAX_BUNDLE_BYTES - _ENVELOPE_BYTES]
        bundle.held.update({r.division: sizes.get(r.division, 0),
                            **{o: n for o, n in sizes.items() if in_subtree(r.division, o)}})
        for origin in sorted(sizes):
            if in_subtree(r.division, origin):
                receipt = r.log.latest_receipt(origin, parent)
                bundle.batches.extend(
                    _batches_from(r, origin, receipt.size if receipt else 0, budget))
            elif is_ancestor(origin, r.division):
                bundle.batches.append(
                    federation_pb2.LogBatch(origin=origin, first_seq=sizes[origin]))
    return bundle


def reply_for_child(replica: Replica, imported: Imported) -> federation_pb2.Bundle:
    """Receipts for what the child's bundle brought, and the ancestors' logs it lacks."""
    r = replica
    child = imported.sender
    bundle = federation_pb2.Bundle(
        sender=r.division, recipient=child, created_ms=int(time.time() * 1000),
        receipts=imported.receipts)
    with r.lock:
        budget = [MAX_BUNDLE_BYTES - _ENVELOPE_BYTES]
        for origin in sorted(r.log.sizes()):
            if is_ancestor(origin, child):
                bundle.batches.extend(
                    _batches_from(r, origin, imported.held_by_sender.get(origin, 0), budget))
            elif in_subtree(child, origin):
                # Recovery: the child lost records of its own or its subtree's logs that
                # we hold (a lost disk, a restored backup); a child that says nothing
                # (an older version) gets nothing back.
                bundle.held[origin] = r.log.size(origin)
                if imported.held_of_subtree:
                    bundle.batches.extend(
                        _batches_from(r, origin, imported.held_of_subtree.get(origin, 0), budget))
        wanted = r.host.addressed_into(child, imported.delivered)
        deliveries, _ = make_deliveries(r.log, r.db, r.certs, wanted, MAX_BUNDLE_DELIVERY_BYTES)
        bundle.deliveries.extend(deliveries)
    return bundle


# --- importing -----------------------------------------------------------------------------------


def import_bundle(replica: Replica, blob: bytes, what: str,
                  progress: Progress | None = None, keyring: Keyring | None = None) -> Imported:
    """Verify, decrypt and store a bundle from a child or from the parent; see the module
    docstring. ``keyring`` defaults to the replica's current key."""
    bundle, chain = open_verified(replica, blob, what, keyring)
    with replica.lock:  # as Hello does: the next bundle is encrypted to the newest held
        replica.receiver.keep_certificates(chain)
    say = progress or (lambda _line: None)
    if is_ancestor(bundle.sender, replica.division):
        return _from_parent(replica, bundle, chain[0], say)
    return _from_child(replica, bundle, chain[0], say)


def _check_frontier(batch: federation_pb2.LogBatch) -> None:
    """A bundle batch must be checkable without the prefix (the auditor's case)."""
    checkpoint, _ = parse_note(batch.checkpoint)
    verify_standalone(batch.first_seq, list(batch.prefix_frontier), list(batch.records),
                      list(batch.consistency_proof), checkpoint)


def _from_child(replica: Replica, bundle: federation_pb2.Bundle, child_cert: x509.Certificate,
                say: Progress) -> Imported:
    r = replica
    child = bundle.sender
    done = Imported(child, from_child=True, sender_cert=child_cert, csrs=list(bundle.csrs),
                    delivered=dict(bundle.delivered), held_of_subtree=dict(bundle.held))
    for batch in bundle.batches:
        if is_ancestor(batch.origin, child):
            if batch.records:
                raise MalformedError(f"bundle from {child}", f"carries records of its ancestor "
                                     f"{batch.origin}: a child only declares what it holds")
            done.held_by_sender[batch.origin] = batch.first_seq
            continue
        try:
            _check_frontier(batch)
        except (VerificationError, MalformedError) as exc:
            raise VerificationError(f"bundle batch {batch.origin}@{batch.first_seq} from "
                                    f"{child}: {exc}") from exc
        with r.lock:
            received = r.receiver.receive(batch, child, lambda o: in_subtree(child, o))
            done.stored[batch.origin] = done.stored.get(batch.origin, 0) + received.new_records
            if received.checkpoint is not None:
                receipt = r.cosign(received.origin, received.checkpoint.size, received.note)
                done.receipts.append(federation_pb2.ReceiptEntry(
                    origin=receipt.origin, size=receipt.size, checkpoint=received.note,
                    receipt=receipt.note))
        say(f"{batch.origin}: holding {received.stored_size}")
    return done


def _from_parent(replica: Replica, bundle: federation_pb2.Bundle, parent_cert: x509.Certificate,
                 say: Progress) -> Imported:
    r = replica
    parent = bundle.sender
    done = Imported(parent, from_child=False, sender_cert=parent_cert,
                    held_of_subtree=dict(bundle.held))
    with r.lock, r.host.transaction():
        for entry in bundle.receipts:
            done.receipts.append(_store_receipt(r, entry, parent_cert))
    if bundle.receipts:
        say(f"stored {len(bundle.receipts)} receipts from {parent}")
    for batch in bundle.batches:
        with r.lock:
            received = r.receiver.receive(
                batch, parent, lambda o: is_ancestor(o, r.division) or in_subtree(r.division, o))
        done.stored[batch.origin] = done.stored.get(batch.origin, 0) + received.new_records
        say(f"{batch.origin}: holding {received.stored_size}")
    for delivery in bundle.deliveries:
        record = accept(r, delivery)
        if record is not None:
            say(f"delivery {record.origin}#{record.seq} for {record.recipient}")
    return done


def _store_receipt(replica: Replica, entry: federation_pb2.ReceiptEntry,
                   parent_cert: x509.Certificate) -> federation_pb2.ReceiptEntry:
    """Keep a parent's receipt if it cosigns a checkpoint of exactly the log we hold."""
    r = replica
    receipt = verify_receipt(entry.checkpoint, entry.receipt, parent_cert)
    checkpoint, _ = parse_note(entry.checkpoint)
    origin = checkpoint.division
    if (entry.origin, entry.size) != (origin, checkpoint.size):
        raise VerificationError(f"receipt entry names {entry.origin} size {entry.size}, but its "
                                f"checkpoint is {origin} size {checkpoint.size}")
    if not in_subtree(r.division, origin):
        raise VerificationError(f"receipt for {origin}: not in the subtree of {r.division}")
    if r.log.size(origin) < checkpoint.size or r.log.root(origin, checkpoint.size) != (
            checkpoint.root):
        raise VerificationError(f"receipt by {receipt.cosigner} for {origin} size "
                                f"{checkpoint.size}: that is not the log held here")
    r.log.add_receipt(origin, checkpoint.size, receipt.cosigner, receipt.time * 1000,
                      entry.receipt)
    return entry
