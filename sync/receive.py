"""Receiving a batch of someone else's log: verify everything, then store it.

One path for every way records arrive (network push, network pull, bundle
import). Inside one transaction the records are appended and the resulting
root is checked against the origin's signed checkpoint; any failure rolls the
whole batch back, and the refused batch is kept in the quarantine table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from pki.checkpoint import Checkpoint, Receipt
from pki.division import validate
from pki.errors import Error, InputError, MalformedError, VerificationError
from pki.verify import Purpose
from protos.tongban.v1 import federation_pb2
from sync import merkle
from sync.certstore import CertStore, parse_der
from sync.contract import Host
from sync.log import LogStore
from sync.records import parse_record
from sync.requests import check_batch
from sync.trust import Verifier

#: The one record size limit: receivers refuse larger records and NodeStore.write refuses
#: to write them (a record no parent accepts would block the rest of its log). No
#: legitimate case event comes near it.
MAX_RECORD_BYTES = 64 * 1024
MAX_BATCH_RECORDS = 100_000


class BatchRefused(Error):
    """A batch we will not store; ``status`` names the gRPC status a servicer returns."""

    status = "INVALID_ARGUMENT"


class PeerNotAllowed(BatchRefused):
    status = "PERMISSION_DENIED"


class ForkDetected(BatchRefused):
    """Two signed checkpoints of one origin that disagree: both are kept as evidence."""

    status = "FAILED_PRECONDITION"

    def __init__(self, origin: str, size: int, held_root: bytes, held_note: bytes | None,
                 presented_note: bytes, presented_root: bytes) -> None:
        super().__init__(
            f"fork: {origin} signed size {size} with root {presented_root.hex()}, "
            f"but the log held here has root {held_root.hex()} at that size")
        self.evidence = (origin, size, held_root, held_note, presented_note)


class OutOfOrder(BatchRefused):
    status = "OUT_OF_RANGE"


@dataclass(frozen=True)
class Received:
    origin: str
    stored_size: int
    new_records: int
    checkpoint: Checkpoint | None  # set when the batch reached its checkpoint
    note: bytes


def migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS quarantine ("
        " id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, peer TEXT NOT NULL,"
        " origin TEXT, first_seq INTEGER, status TEXT NOT NULL, reason TEXT NOT NULL,"
        " batch BLOB NOT NULL)"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS forks ("
        " id INTEGER PRIMARY KEY, origin TEXT NOT NULL, size INTEGER NOT NULL,"
        " held_root BLOB NOT NULL, held_note BLOB, presented_note BLOB NOT NULL,"
        " seen_ms INTEGER NOT NULL)"
    )


class Receiver:
    """The one write path for what peers send: batches, their certificates and receipts."""

    def __init__(self, db: sqlite3.Connection, log: LogStore, certs: CertStore,
                 root: x509.Certificate, host: Host) -> None:
        self.db = db
        self.log = log
        self.certs = certs
        self.root = root
        self.host = host

    def verifier(self, pool: list[x509.Certificate]) -> Verifier:
        """A verifier for certificates a peer presented, with the revocations held now."""
        return Verifier(self.root, self.host.revocations(), pool)

    def verify_peer(self, cert: x509.Certificate, pool: list[x509.Certificate],
                    purpose: Purpose) -> list[x509.Certificate]:
        """A peer's chain leaf → root, verified now, or VerificationError."""
        return self.verifier(pool).chain(cert, self.host.now(), purpose)

    def keep_certificates(self, chain: list[x509.Certificate]) -> None:
        """Store already-verified certificates, in their own transaction."""
        with self.host.transaction():
            self.certs.add(chain)

    def keep_receipt(self, origin: str, size: int, receipt: Receipt, line: bytes) -> None:
        """Store a verified receipt (cosignature line), in its own transaction."""
        with self.host.transaction():
            self.log.add_receipt(origin, size, receipt.cosigner, receipt.time * 1000, line)

    def receive(self, batch: federation_pb2.LogBatch, peer: str,
                allowed: Callable[[str], bool]) -> Received:
        """Store the batch or raise BatchRefused; a refused batch is quarantined.

        A batch whose position SQLite cannot even hold is refused first, unquarantined.
        """
        check_batch(batch)
        try:
            return self._receive(batch, allowed)
        except ForkDetected as exc:
            self.db.execute(
                "INSERT INTO forks (origin, size, held_root, held_note, presented_note, seen_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)", (*exc.evidence, int(time.time() * 1000)))
            self._quarantine(batch, peer, exc)
            raise
        except BatchRefused as exc:
            self._quarantine(batch, peer, exc)
            raise
        except (VerificationError, InputError) as exc:
            refused = BatchRefused(f"batch {batch.origin}@{batch.first_seq} refused: {exc}")
            self._quarantine(batch, peer, refused)
            raise refused from exc

    def _receive(self, batch: federation_pb2.LogBatch, allowed: Callable[[str], bool]
                 ) -> Received:
        origin = batch.origin
        try:
            validate(origin)
        except InputError as exc:
            raise MalformedError("batch", f"origin: {exc}") from exc
        if not allowed(origin):
            raise PeerNotAllowed(f"batch for {origin} refused: outside what this peer may send")
        if len(batch.records) > MAX_BATCH_RECORDS:
            raise MalformedError("batch",
                                 f"{len(batch.records)} records, limit {MAX_BATCH_RECORDS}")
        for offset, data in enumerate(batch.records):
            if len(data) > MAX_RECORD_BYTES:
                raise MalformedError(
                    f"record {origin}#{batch.first_seq + offset}",
                    f"{len(data)} bytes, limit {MAX_RECORD_BYTES}")
        # A batch without certificates is checked against the ones held for its origin
        # (an earlier batch of the exchange brought them; sync.uplink leaves them out).
        pool = parse_der(list(batch.certificates) or self.certs.chain_for(origin),
                         f"batch {origin}@{batch.first_seq}")
        signed, chain = self.verifier(pool).checkpoint(batch.checkpoint, origin,
                                                       self.host.now())
        checkpoint = signed.checkpoint
        end = batch.first_seq + len(batch.records)
        if end > checkpoint.size:
            raise MalformedError("batch", f"{origin} records end at {end}, past the checkpoint "
                                 f"size {checkpoint.size}")
        with self.host.transaction():
            held = self.log.size(origin)
            if batch.first_seq > held:
                raise OutOfOrder(f"batch for {origin} starts at {batch.first_seq}, but this node "
                                 f"holds {held} records: send from {held}")
            if checkpoint.size <= held:
                self._check_not_forked(origin, checkpoint, batch.checkpoint)
            new = list(batch.records[held - batch.first_seq:]) if end > held else []
            for offset, data in enumerate(new):
                record = parse_record(data)
                want = held + offset
                if record.origin != origin or record.seq != want:
                    raise VerificationError(
                        f"record {origin}#{want} claims origin {record.origin!r} seq {record.seq}")
            if new:
                self.host.ingest(origin, held, new)
            stored = max(held, end)
            if end > held:
                merkle.verify_consistency(end, checkpoint.size, self.log.root(origin, end),
                                          checkpoint.root, list(batch.consistency_proof))
            self.certs.add(chain)
            reached = stored >= checkpoint.size
            if reached:
                self.log.add_checkpoint(origin, checkpoint.size, checkpoint.root,
                                        batch.checkpoint)
        return Received(origin, stored, len(new), checkpoint if reached else None,
                        batch.checkpoint)

    def _check_not_forked(self, origin: str, checkpoint: Checkpoint, note: bytes) -> None:
        held_root = self.log.root(origin, checkpoint.size)
        if held_root == checkpoint.root:
            return
        held = [c for c in self.log.checkpoints(origin) if c.size == checkpoint.size]
        raise ForkDetected(origin, checkpoint.size, held_root, held[0].note if held else None,
                           note, checkpoint.root)

    def _quarantine(self, batch: federation_pb2.LogBatch, peer: str, exc: BatchRefused) -> None:
        self.db.execute(
            "INSERT INTO quarantine (received_ms, peer, origin, first_seq, status, reason,"
            " batch) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (int(time.time() * 1000), peer, batch.origin, batch.first_seq, exc.status,
             str(exc), batch.SerializeToString()))
