"""Everything the replication code needs from a node, without knowing what a case is.

The node layer builds a Replica (node.replica) and hands it to the servicer,
the uplink and the bundle code; sync never imports node.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pki.certs import division_of, issued_by
from pki.errors import VerificationError
from sync.certstore import CertStore
from sync.log import LogStore
from sync.receive import PeerNotAllowed, Receiver
from sync.trust import Trust


@dataclass
class Replica:
    division: str
    db: sqlite3.Connection
    log: LogStore
    certs: CertStore
    trust: Trust
    receiver: Receiver
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]            # own current certificate first, then issuers
    own_certs: list[x509.Certificate]        # every certificate this node ever held
    #: (origin, seq) of held records addressed into a subtree from logs it does not
    #: replicate, with seq at or past the given per-origin cursor (sync.deliver)
    addressed: Callable[[str, dict[str, int]], list[tuple[str, int]]]
    #: store and project one verified delivered record; the caller holds the transaction
    deliver: Callable[[str, int, bytes], None]
    lock: threading.RLock = field(default_factory=threading.RLock)

    def require_child(self, peer: x509.Certificate) -> str:
        """The peer's division, if one of our own certificates issued the peer's."""
        code = division_of(peer)
        if any(issued_by(peer, mine) for mine in self.own_certs):
            return code
        raise PeerNotAllowed(f"peer {code} is not a child of {self.division}: its certificate "
                             f"was not issued by this node")

    def require_parent(self, server_chain: list[x509.Certificate]) -> str:
        """The parent's division, if the server's certificate issued ours."""
        if not server_chain:
            raise VerificationError("parent presented no certificate")
        parent = server_chain[0]
        if not issued_by(self.chain[0], parent):
            raise PeerNotAllowed(
                f"{division_of(parent)} is not this node's parent: it did not issue our "
                "certificate")
        return division_of(parent)
