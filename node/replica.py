"""Wiring a node home into the replication layer (sync.Replica, sync.tls.Identity)."""

from __future__ import annotations

from datetime import UTC, datetime

from node.home import Home
from node.store import NodeStore
from pki import certs
from pki.division import in_subtree, is_ancestor
from pki.keys import load_private_key
from pki.revocation import Revocation, RevocationSet
from sync.certstore import CertStore
from sync.receive import Receiver
from sync.replica import Replica
from sync.tls import Identity
from sync.trust import Trust


def identity(home: Home) -> Identity:
    return Identity(
        key_pem=home.key_path.read_bytes(),
        chain_pem=certs.certs_pem(home.cert_chain().all()),
        root_pem=home.root_cert_path.read_bytes() if home.root_cert_path.exists() else b"",
    )


def revocations(store: NodeStore) -> RevocationSet:
    rows = store.db.execute("SELECT origin, serial_hex, reason, revoked_at_ms FROM revocations")
    return RevocationSet([
        Revocation(origin, int(serial, 16), reason, datetime.fromtimestamp(at / 1000, UTC))
        for origin, serial, reason, at in rows
    ])


def addressed_into(store: NodeStore, subtree: str, after: dict[str, int]
                   ) -> list[tuple[str, int]]:
    """Records addressed into ``subtree`` that its root does not get with a whole log.

    Its own subtree's logs it already has and its ancestors' logs flow down in
    full; everything else addressed to it travels as a delivery.
    """
    rows = store.db.execute("SELECT origin, seq, recipient FROM addressed ORDER BY origin, seq")
    return [(origin, seq) for origin, seq, recipient in rows
            if in_subtree(subtree, recipient) and seq >= after.get(origin, 0)
            and not in_subtree(subtree, origin) and not is_ancestor(origin, subtree)]


def build(store: NodeStore) -> Replica:
    """The replica view of an enrolled node; refuses a node without certificates."""
    home = store.home
    installed = home.cert_chain()
    root = home.root_cert()
    old = home.old_certs()
    trust = Trust(root=root, revocations=lambda: revocations(store),
                  clock=lambda: datetime.now(UTC))
    cert_store = CertStore(store.db)
    chain = [installed.cert, *(c for c in installed.issuers if not certs.is_self_signed(c))]
    with store.transaction():
        cert_store.add(chain + old)
    receiver = Receiver(store.db, store.log, cert_store, trust, store.transaction, store.ingest)
    return Replica(division=store.division, db=store.db, log=store.log, certs=cert_store,
                   addressed=lambda subtree, after: addressed_into(store, subtree, after),
                   deliver=store.ingest_delivery,
                   trust=trust, receiver=receiver, key=load_private_key(home.key_path),
                   chain=chain, own_certs=[installed.cert, *old])
