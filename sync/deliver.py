"""Records addressed to a node whose author's log it does not replicate.

A county replicates its subtree's and its ancestors' logs, not its siblings'.
A record a sibling (or a node in another region) addresses to it — a notice, a
case received on its behalf — travels alone: the record's exact bytes, the
origin's signed checkpoint and an RFC 9162 inclusion proof. The receiver checks
all three exactly as it would a batch, then keeps them, so it can pass the
record further down its own subtree with the same proof.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime

from cryptography import x509

from pki.division import in_subtree
from pki.errors import MalformedError, VerificationError
from protos.tongban.v1 import federation_pb2, record_pb2
from sync import merkle
from sync.certstore import CertStore, parse_der
from sync.log import LogError, LogStore
from sync.receive import MAX_RECORD_BYTES, PeerNotAllowed, Receiver
from sync.records import parse_record
from sync.replica import Replica
from sync.trust import Verifier


def migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS deliveries (origin TEXT NOT NULL, seq INTEGER NOT NULL,"
        " record BLOB NOT NULL, checkpoint BLOB NOT NULL, proof BLOB NOT NULL,"
        " PRIMARY KEY (origin, seq))")


def delivered_sizes(db: sqlite3.Connection) -> dict[str, int]:
    """Per origin, one past the highest delivered seq: the cursor a child sends upward."""
    return {origin: top + 1 for origin, top in db.execute(
        "SELECT origin, max(seq) FROM deliveries GROUP BY origin")}


#: Keys per query in held_records: 2 parameters each, well under SQLite's 32,766.
_CHUNK = 5000


def held_records(log: LogStore, db: sqlite3.Connection,
                 keys: Iterable[tuple[str, int]]) -> Iterator[bytes]:
    """The exact bytes of each (origin, seq), from the log or else from deliveries, in order.

    Streams in chunks, so a rebuild of millions of records runs in constant memory.
    A key held in neither place is a damaged store: LogError, never a silent gap.
    """
    keys = iter(keys)
    while chunk := list(itertools.islice(keys, _CHUNK)):
        found = log.records_at(chunk)
        missing = [key for key in chunk if key not in found]
        if missing:
            found.update(_delivered_at(db, missing))
        for key in chunk:
            data = found.get(key)
            if data is None:
                raise LogError(f"record {key[0]}#{key[1]} is neither in the log nor delivered")
            yield data


def delivered_record(db: sqlite3.Connection, origin: str, seq: int) -> bytes | None:
    """The bytes of one record delivered here (its inclusion was proven on arrival), or None."""
    return _delivered_at(db, [(origin, seq)]).get((origin, seq))


def _delivered_at(db: sqlite3.Connection,
                  keys: list[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
    rows = db.execute(
        f"WITH k(origin, seq) AS (VALUES {', '.join(['(?, ?)'] * len(keys))})"
        " SELECT k.origin, k.seq, t.record FROM k CROSS JOIN deliveries t"
        " ON t.origin = k.origin AND t.seq = k.seq",
        [part for key in keys for part in key]).fetchall()
    return {(origin, seq): record for origin, seq, record in rows}


def _proven_record(log: LogStore, db: sqlite3.Connection, origin: str, seq: int
          ) -> tuple[bytes, bytes, list[bytes]] | None:
    """Record, covering checkpoint and inclusion proof, from the log or earlier deliveries."""
    checkpoint = log.latest_checkpoint(origin)
    if checkpoint is not None and seq < checkpoint.size <= log.size(origin):
        return (log.record(origin, seq), checkpoint.note,
                log.inclusion_proof(origin, seq, checkpoint.size))
    row = db.execute("SELECT record, checkpoint, proof FROM deliveries WHERE origin = ? AND"
                     " seq = ?", (origin, seq)).fetchone()
    if row is None:
        return None
    record, note, proof = row
    return record, note, split_proof(proof)


def split_proof(joined: bytes) -> list[bytes]:
    """An inclusion proof as the deliveries table keeps it (hashes end to end)."""
    return [joined[i:i + merkle.HASH_SIZE] for i in range(0, len(joined), merkle.HASH_SIZE)]


def make_deliveries(log: LogStore, db: sqlite3.Connection, certs: CertStore,
                    wanted: list[tuple[str, int]], budget: int
                    ) -> tuple[list[federation_pb2.Delivery], bool]:
    """Deliveries for ``wanted`` (origin, seq) within ``budget`` bytes; True if some remain."""
    out: list[federation_pb2.Delivery] = []
    used = 0
    for origin, seq in wanted:
        held = _proven_record(log, db, origin, seq)
        if held is None:
            continue
        record, note, proof = held
        if out and used + len(record) > budget:
            return out, True
        out.append(federation_pb2.Delivery(record=record, checkpoint=note, inclusion_proof=proof,
                                           certificates=certs.chain_for(origin)))
        used += len(record)
    return out, False


def verify_delivery(receiver: Receiver, delivery: federation_pb2.Delivery,
                    for_subtree: Callable[[str], bool]) -> tuple[record_pb2.Record, list]:
    """The record and its signer's chain, or an error naming what does not hold."""
    if len(delivery.record) > MAX_RECORD_BYTES:
        raise MalformedError("delivery", f"record of {len(delivery.record)} bytes, limit "
                             f"{MAX_RECORD_BYTES}")
    record = parse_record(delivery.record)
    if not record.recipient or not for_subtree(record.recipient):
        raise PeerNotAllowed(f"record {record.origin}#{record.seq} is addressed to "
                             f"{record.recipient or 'nobody'}, not into this subtree")
    pool = parse_der(list(delivery.certificates), f"delivery {record.origin}#{record.seq}")
    chain = proven(receiver.verifier(pool), record, delivery.record, delivery.checkpoint,
                   delivery.inclusion_proof, receiver.host.now())
    return record, chain


def proven(verifier: Verifier, record: record_pb2.Record, data: bytes, note: bytes,
           proof: Sequence[bytes], at: datetime) -> list[x509.Certificate]:
    """The signer's chain at ``at`` when ``note`` is the signed checkpoint of ``record``'s
    origin covering it and ``proof`` the inclusion of ``data`` (its bytes) in it; else an
    Error naming what does not hold. The receiver checks a delivery so on arrival and the
    audit again, in a database or a bundle (at its own time: no receipt dates it)."""
    signed, chain = verifier.checkpoint(note, record.origin, at)
    checkpoint = signed.checkpoint
    if record.seq >= checkpoint.size:
        raise VerificationError(f"record {record.origin}#{record.seq} lies past its checkpoint "
                                f"(size {checkpoint.size})")
    merkle.verify_inclusion(record.seq, checkpoint.size, merkle.leaf_hash(data), list(proof),
                            checkpoint.root)
    return chain


def accept(replica: Replica, delivery: federation_pb2.Delivery) -> record_pb2.Record | None:
    """Verify, keep and project one delivery for this node's subtree, in one transaction.

    Returns the record, or None when it was already held; raises when it does not verify.
    """
    r = replica
    with r.lock, r.host.transaction():
        record, chain = verify_delivery(r.receiver, delivery,
                                        lambda recipient: in_subtree(r.division, recipient))
        if not store_delivery(r.db, delivery, record):
            return None
        r.certs.add(chain)
        r.host.ingest_delivery(record.origin, record.seq, delivery.record)
    return record


def store_delivery(db: sqlite3.Connection, delivery: federation_pb2.Delivery,
                   record: record_pb2.Record) -> bool:
    """Keep a verified delivery; False when it was already held."""
    return db.execute(
        "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?)",
        (record.origin, record.seq, delivery.record, delivery.checkpoint,
         b"".join(delivery.inclusion_proof))).rowcount == 1
