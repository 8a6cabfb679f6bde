"""The numbers behind ``tongban status``: link upward and the subtree below.

``status`` is where an operator looks to see whether the node is well, so it
first runs SQLite's quick check: a damaged database stops it (exit 2) rather
than being shown as a healthy node with fewer records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from node import linkstate
from node.certwatch import expiry_message
from node.db import check_integrity
from node.store import NodeStore
from pki.division import in_subtree
from sync.batches import sendable
from sync.records import hlc_ms, parse_record


@dataclass
class OriginLag:
    origin: str
    held: int
    receipted: int                  # what the parent has cosigned
    waiting_records: int
    waiting_bytes: int
    oldest_waiting_ms: int | None   # HLC wall time of the first record the parent lacks


@dataclass
class SubtreeNode:
    origin: str
    records: int
    checkpoint_size: int
    last_seen_ms: int | None        # our receipt time for its newest checkpoint


@dataclass
class Status:
    division: str
    name: str
    link: linkstate.LinkState
    newest_receipt_size: int | None
    newest_receipt_ms: int | None
    outbox: list[OriginLag] = field(default_factory=list)
    subtree: list[SubtreeNode] = field(default_factory=list)
    #: this node's certificate close to or past its end (30 days: warning, 7: critical)
    cert_warnings: list[str] = field(default_factory=list)

    @property
    def waiting_records(self) -> int:
        return sum(o.waiting_records for o in self.outbox)

    @property
    def waiting_bytes(self) -> int:
        return sum(o.waiting_bytes for o in self.outbox)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["waiting_records"] = self.waiting_records
        data["waiting_bytes"] = self.waiting_bytes
        return data


def collect(store: NodeStore) -> Status:
    db, log, me = store.db, store.log, store.division
    check_integrity(db, store.home.db_path, quick=True)
    link = linkstate.load(db)
    own_receipt = log.latest_receipt(me, link.parent or None) if link.parent else None
    status = Status(me, store.config.name, link,
                    own_receipt.size if own_receipt else None,
                    own_receipt.time_ms if own_receipt else None)
    for origin, held in sorted(log.sizes().items()):
        if not in_subtree(me, origin):
            continue
        if link.parent:
            receipt = log.latest_receipt(origin, link.parent)
            receipted = receipt.size if receipt else 0
            waiting = max(0, held - receipted)
            nbytes = log.payload_bytes(origin, receipted)
            oldest = hlc_ms(parse_record(log.record(origin, receipted)).hlc) if waiting else None
            status.outbox.append(OriginLag(origin, held, receipted, waiting, nbytes, oldest))
        if origin != me:
            mine = log.latest_receipt(origin, me)
            status.subtree.append(SubtreeNode(origin, held, sendable(log, origin),
                                              mine.time_ms if mine else None))
    if store.home.cert_path.exists():
        cert = store.home.cert_chain().cert
        left = (cert.not_valid_after_utc - datetime.now(UTC)).total_seconds() / 86400
        found = expiry_message(left, me)
        if found:
            status.cert_warnings.append(found[1])
    return status
