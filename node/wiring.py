"""Wiring a node home into the replication layer (sync.replica.Replica, sync.tls.TlsIdentity).

StoreHost is the node's side of the node → sync contract (sync.contract.Host).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from node.home import Home
from node.store import NodeStore
from pki import certs
from pki.division import in_subtree, is_ancestor
from pki.keys import load_private_key
from pki.revocation import Revocation, RevocationSet
from sync.certstore import CertStore
from sync.log import LogStore
from sync.receive import Receiver
from sync.replica import Replica
from sync.tls import TlsIdentity


def identity(home: Home) -> TlsIdentity:
    return TlsIdentity(
        key_pem=home.key_path.read_bytes(),
        chain_pem=certs.certs_pem(home.cert_chain().all()),
        root_pem=home.root_cert_path.read_bytes() if home.root_cert_path.exists() else b"",
    )


class StoreHost:
    """sync.contract.Host over a NodeStore: its transactions, ingestion and projections."""

    def __init__(self, store: NodeStore, reads: sqlite3.Connection | None = None) -> None:
        self.store = store
        #: where addressed_into and revocations read: the store's connection, or a
        #: read-only one of the servicer's snapshot (Replica.reader)
        self.reads = reads or store.db

    def transaction(self) -> AbstractContextManager[object]:
        return self.store.transaction()

    def ingest(self, origin: str, first_seq: int, records: Sequence[bytes]) -> None:
        self.store.ingest(origin, first_seq, records)

    def sign_own_tail(self) -> None:
        self.store.ensure_checkpoint()

    def ingest_delivery(self, origin: str, seq: int, data: bytes) -> None:
        self.store.ingest_delivery(origin, seq, data)

    def addressed_into(self, subtree: str, after: dict[str, int]) -> list[tuple[str, int]]:
        """Records addressed into ``subtree`` that its root does not get with a whole log.

        Its own subtree's logs it already has and its ancestors' logs flow down in
        full; everything else addressed to it travels as a delivery.
        """
        rows = self.reads.execute(
            "SELECT origin, seq, recipient FROM addressed ORDER BY origin, seq")
        return [(origin, seq) for origin, seq, recipient in rows
                if in_subtree(subtree, recipient) and seq >= after.get(origin, 0)
                and not in_subtree(subtree, origin) and not is_ancestor(origin, subtree)]

    def revocations(self) -> RevocationSet:
        rows = self.reads.execute(
            "SELECT origin, serial_hex, reason, revoked_at_ms FROM revocations")
        return RevocationSet([
            Revocation(origin, int(serial, 16), reason, datetime.fromtimestamp(at / 1000, UTC))
            for origin, serial, reason, at in rows
        ])

    def now(self) -> datetime:
        return datetime.now(UTC)


def build(store: NodeStore) -> Replica:
    """The replica view of an enrolled node; refuses a node without certificates."""
    home = store.home
    installed = home.cert_chain()
    root = home.root_cert()
    old = home.old_certs()
    host = StoreHost(store)
    cert_store = CertStore(store.db)
    chain = [installed.cert, *(c for c in installed.issuers if not certs.is_self_signed(c))]
    with store.transaction():
        cert_store.add(chain + old)
    receiver = Receiver(store.db, store.log, cert_store, root, host)
    replica = Replica(division=store.division, db=store.db, log=store.log, certs=cert_store,
                      host=host, receiver=receiver, key=load_private_key(home.key_path),
                      chain=chain, own_certs=[installed.cert, *old])
    replica.reader = _reader(store, replica)
    return replica


def _reader(store: NodeStore, replica: Replica) -> Callable[[], Replica]:
    """Per thread, ``replica`` over its own read-only connection (opened on first use)."""
    local = threading.local()

    def view() -> Replica:
        if not hasattr(local, "view"):
            db = store.reader()
            log = LogStore(db)
            certs_held = CertStore(db)
            host = StoreHost(store, reads=db)
            local.view = dataclasses.replace(
                replica, db=db, log=log, certs=certs_held, host=host,
                receiver=Receiver(db, log, certs_held, replica.receiver.root, host),
                reader=None)
        return local.view
    return view
