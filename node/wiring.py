"""Wiring a node home into the replication layer (sync.replica.Replica, sync.tls.TlsIdentity).

StoreHost is the node's side of the node → sync contract (sync.contract.Host).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from cryptography import x509

from node.home import Home
from node.store import NodeStore
from pki import certs
from pki.division import in_subtree, is_ancestor
from pki.errors import EnvironmentProblem
from pki.keys import load_private_key
from pki.revocation import Revocation, RevocationSet
from sync.certstore import CertStore
from sync.receive import Receiver
from sync.replica import Replica
from sync.tls import TlsIdentity


def _read_certs(path, what: str) -> list[x509.Certificate]:
    if not path.exists():
        raise EnvironmentProblem(
            f"no {what} at {path}: enrol the node first (tongban pki csr, then pki import)")
    data = path.read_bytes()
    return certs.load_certs(data, f"{what} {path}") if data.strip() else []


def identity(home: Home) -> TlsIdentity:
    chain = _read_certs(home.cert_path, "node certificate") + _read_certs(
        home.chain_path, "certificate chain")
    return TlsIdentity(
        key_pem=home.key_path.read_bytes(),
        chain_pem=certs.certs_pem(chain),
        root_pem=home.root_cert_path.read_bytes() if home.root_cert_path.exists() else b"",
    )


class StoreHost:
    """sync.contract.Host over a NodeStore: its transactions, ingestion and projections."""

    def __init__(self, store: NodeStore) -> None:
        self.store = store

    def transaction(self) -> AbstractContextManager[object]:
        return self.store.transaction()

    def ingest(self, origin: str, first_seq: int, records: Sequence[bytes]) -> None:
        self.store.ingest(origin, first_seq, records)

    def ingest_delivery(self, origin: str, seq: int, data: bytes) -> None:
        self.store.ingest_delivery(origin, seq, data)

    def addressed_into(self, subtree: str, after: dict[str, int]) -> list[tuple[str, int]]:
        """Records addressed into ``subtree`` that its root does not get with a whole log.

        Its own subtree's logs it already has and its ancestors' logs flow down in
        full; everything else addressed to it travels as a delivery.
        """
        rows = self.store.db.execute(
            "SELECT origin, seq, recipient FROM addressed ORDER BY origin, seq")
        return [(origin, seq) for origin, seq, recipient in rows
                if in_subtree(subtree, recipient) and seq >= after.get(origin, 0)
                and not in_subtree(subtree, origin) and not is_ancestor(origin, subtree)]

    def revocations(self) -> RevocationSet:
        rows = self.store.db.execute(
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
    own = _read_certs(home.cert_path, "node certificate")
    issuers = _read_certs(home.chain_path, "certificate chain")
    root = _read_certs(home.root_cert_path, "root certificate")
    if not root:
        raise EnvironmentProblem(f"{home.root_cert_path} is empty: re-run 'tongban pki import'")
    old = [certs.load_cert(p.read_bytes(), str(p))
           for p in sorted(home.old_keys_dir.glob("*.crt"))] if home.old_keys_dir.is_dir() else []
    host = StoreHost(store)
    cert_store = CertStore(store.db)
    chain = own + [c for c in issuers if not certs.is_self_signed(c)]
    with store.transaction():
        cert_store.add(chain + old)
    receiver = Receiver(store.db, store.log, cert_store, root[0], host)
    return Replica(division=store.division, db=store.db, log=store.log, certs=cert_store,
                   host=host, receiver=receiver, key=load_private_key(home.key_path),
                   chain=chain, own_certs=own + old)
