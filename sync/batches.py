"""Cutting a log into batches a weak link can carry.

A batch ends at or before the newest checkpoint the sender holds for the
origin, and carries a consistency proof from its end to that checkpoint, so the
receiver can verify every batch on its own: progress is never lost when the
link drops between batches.
"""

from __future__ import annotations

from protos.tongban.v1 import federation_pb2
from sync.certstore import CertStore
from sync.log import LogStore

#: Payload before gzip; case events compress about 10:1, so this is ~100 KB on the wire
#: (6 s at 128 kbit/s), a quarter of the 4 MiB message limit. gRPC's 256 KiB retry
#: buffer does not apply: transparent retries are off (sync.tls) and the uplink resends.
MAX_BATCH_BYTES = 1024 * 1024
MIN_BATCH_BYTES = 2 * 1024
_READ_AHEAD = 512


def sendable(log: LogStore, origin: str) -> int:
    """How far a sender can go for ``origin``: its newest checkpoint it holds records for."""
    checkpoint = log.latest_checkpoint(origin)
    if checkpoint is None:
        return 0
    return min(checkpoint.size, log.size(origin))


def make_batch(log: LogStore, certs: CertStore, origin: str, start: int,
               max_bytes: int) -> federation_pb2.LogBatch | None:
    """The next batch from ``start``, at most ``max_bytes`` of records (at least one record)."""
    checkpoint = log.latest_checkpoint(origin)
    if checkpoint is None or checkpoint.size <= start or log.size(origin) < checkpoint.size:
        return None
    budget = max(MIN_BATCH_BYTES, min(max_bytes, MAX_BATCH_BYTES))
    records: list[bytes] = []
    used = 0
    position = start
    while position < checkpoint.size:
        chunk = log.records(origin, position, min(position + _READ_AHEAD, checkpoint.size))
        for data in chunk:
            if records and used + len(data) > budget:
                break
            records.append(data)
            used += len(data)
        else:
            position += len(chunk)
            continue
        break
    end = start + len(records)
    proof = log.consistency_proof(origin, end, checkpoint.size) if end < checkpoint.size else []
    return federation_pb2.LogBatch(
        origin=origin, first_seq=start, records=records, checkpoint=checkpoint.note,
        consistency_proof=proof, certificates=certs.chain_for(origin),
    )
