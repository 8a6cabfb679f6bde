"""Bundles: what a link would carry, in a signed file, for a USB stick down the mountain.

A bundle is gzip(SignedBundle): the serialised Bundle and the sender's ECDSA
signature over exactly those bytes. Reading one checks, in order, the gzip
framing (CRC and length catch damage), the protobuf, the sender's chain to the
root, the relation (a child's bundle at its parent, the parent's reply at the
child) and the signature, before a single row is written. Every batch then
goes through the same Receiver as a network push, so a bundle can never get
in what the link would refuse.

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

import gzip
import time
import zlib
from dataclasses import dataclass, field

from cryptography import x509
from google.protobuf.message import DecodeError

from pki.certs import division_of
from pki.checkpoint import parse_note, verify_receipt
from pki.division import in_subtree, is_ancestor
from pki.errors import MalformedError, VerificationError
from pki.suite import P256
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2
from sync import merkle
from sync.batches import MAX_BATCH_BYTES, make_batch, sendable
from sync.certstore import der, parse_der
from sync.contract import Progress
from sync.deliver import accept, delivered_sizes, make_deliveries
from sync.frontier import verify_standalone
from sync.replica import Replica

#: The one limit on a bundle, unpacked: importing and auditing decode it the same way
#: (``unpack``), and an export stops adding batches before it (the rest goes in the next
#: bundle, as the parent's receipts then say). A county's backlog after weeks offline is a
#: few megabytes. Decoding holds the bytes about three times over (unpacked, the signed
#: envelope, the parsed Bundle), so 64 MiB keeps ``bundle import`` and ``audit verify``
#: under 300 MB on any input, including a gzip bomb (bench/bench_hostile.py).
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
#: A bundle file on disk: gzip adds a little to data that does not compress.
MAX_BUNDLE_FILE_BYTES = MAX_BUNDLE_BYTES + (1 << 20)
#: What one decompression step may produce; the stream is never inflated whole at once.
_INFLATE_STEP = 1 << 20
#: addressed records travel one by one with their proofs; a reply carries up to this many bytes
MAX_BUNDLE_DELIVERY_BYTES = 16 * 1024 * 1024


@dataclass
class Imported:
    """What one import did; ``receipts`` are the ones made (at a parent) or stored (at a child)."""

    sender: str
    from_child: bool
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


# --- the file form -------------------------------------------------------------------------------


def encode(bundle: federation_pb2.Bundle, replica: Replica) -> bytes:
    """gzip(SignedBundle) with the node key's signature over the exact Bundle bytes."""
    data = bundle.SerializeToString()
    signed = federation_pb2.SignedBundle(bundle=data, signature=P256.sign(replica.key, data))
    return gzip.compress(signed.SerializeToString(), mtime=0)


def unpack(blob: bytes, what: str) -> tuple[federation_pb2.SignedBundle, federation_pb2.Bundle]:
    """The signed envelope and the bundle inside, or "malformed <what>: …" for any damage.

    Checks only the framing; the auditor reports a missing signature as a
    finding, the importer (``decode``) refuses it.
    """
    raw = inflate(blob, what)
    signed = federation_pb2.SignedBundle()
    bundle = federation_pb2.Bundle()
    try:
        signed.ParseFromString(raw)
        bundle.ParseFromString(signed.bundle)
    except DecodeError as exc:
        raise MalformedError(what, f"not a tongban bundle: {exc}") from exc
    return signed, bundle


def inflate(blob: bytes, what: str) -> bytes:
    """The gzip member in ``blob``, inflated as a stream and never past what it declares.

    The gzip trailer declares the unpacked size (ISIZE); a bundle declaring
    more than MAX_BUNDLE_BYTES is refused before inflating, and inflating
    stops at the declared size (or the limit), so a bomb costs at most the
    limit in memory whatever it claims. Trailing bytes after the member are
    damage too.
    """
    if len(blob) < 18 or blob[:2] != b"\x1f\x8b":
        raise MalformedError(what, "not a gzip file")
    declared = int.from_bytes(blob[-4:], "little")
    if declared > MAX_BUNDLE_BYTES:
        raise MalformedError(what, f"declares {declared:,} bytes unpacked, more than the "
                             f"{MAX_BUNDLE_BYTES:,} allowed")
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    pending = blob
    try:
        while pending and not inflater.eof:
            room = declared + 1 - len(out)
            out += inflater.decompress(pending, max(1, min(room, _INFLATE_STEP)))
            if len(out) > declared:
                raise MalformedError(what, f"inflates past the {declared:,} bytes it declares")
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise MalformedError(what, f"damaged gzip data ({exc})") from exc
    if not inflater.eof:
        raise MalformedError(what, "truncated gzip data")
    if inflater.unused_data:
        raise MalformedError(what, "bytes after the end of the gzip data")
    return bytes(out)


def decode(blob: bytes, what: str) -> tuple[federation_pb2.Bundle, bytes, bytes]:
    """(bundle, its exact bytes, signature), or "malformed <what>: …" for any damage."""
    signed, bundle = unpack(blob, what)
    if not signed.signature or not bundle.sender:
        raise MalformedError(what, "not a tongban bundle: no signature or no sender")
    return bundle, signed.bundle, signed.signature


def open_verified(replica: Replica, blob: bytes, what: str
                  ) -> tuple[federation_pb2.Bundle, list[x509.Certificate]]:
    """The bundle and the sender's verified chain, if it is addressed here and signed by its sender.

    The sender must be this node's direct child or its parent: nobody else
    has anything to hand us by file.
    """
    bundle, data, signature = decode(blob, what)
    pool = parse_der(list(bundle.sender_chain_der), f"{what} sender chain")
    if not pool or division_of(pool[0]) != bundle.sender:
        raise VerificationError(f"{what}: sender chain does not start with a certificate for "
                                f"the sender {bundle.sender}")
    if bundle.recipient != replica.division:
        raise VerificationError(f"{what} is for {bundle.recipient or '?'}, not for this node "
                                f"{replica.division}")
    chain = replica.receiver.verify_peer(pool[0], pool[1:], Purpose.SIGNING)
    if is_ancestor(bundle.sender, replica.division):
        replica.require_parent(chain)
    else:
        replica.require_child(chain[0])
    try:
        P256.verify(chain[0].public_key(), data, signature)
    except VerificationError as exc:
        raise VerificationError(f"{what}: signature by {bundle.sender} does not verify: the "
                                "file was changed after it was made") from exc
    return bundle, chain


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
        sender_chain_der=[der(c) for c in r.chain], csrs=csrs or [])
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
        sender_chain_der=[der(c) for c in r.chain], receipts=imported.receipts)
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
                  progress: Progress | None = None) -> Imported:
    """Verify and store a bundle from a child or from the parent; see the module docstring."""
    bundle, chain = open_verified(replica, blob, what)
    say = progress or (lambda _line: None)
    if is_ancestor(bundle.sender, replica.division):
        return _from_parent(replica, bundle, chain[0], say)
    return _from_child(replica, bundle, say)


def _check_frontier(batch: federation_pb2.LogBatch) -> None:
    """A bundle batch must be checkable without the prefix (the auditor's case)."""
    checkpoint, _ = parse_note(batch.checkpoint)
    verify_standalone(batch.first_seq, list(batch.prefix_frontier), list(batch.records),
                      list(batch.consistency_proof), checkpoint)


def _from_child(replica: Replica, bundle: federation_pb2.Bundle, say: Progress) -> Imported:
    r = replica
    child = bundle.sender
    done = Imported(child, from_child=True, csrs=list(bundle.csrs),
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
    done = Imported(parent, from_child=False, held_of_subtree=dict(bundle.held))
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
