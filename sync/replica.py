"""Everything the replication code needs from a node, without knowing what a case is.

The node layer builds a Replica (node.wiring) and hands it to the servicer,
the uplink and the bundle code; sync never imports node. What sync calls back
into the node is the typed contract sync.contract.Host.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pki.certs import division_of, issued_by
from pki.checkpoint import make_receipt
from pki.errors import VerificationError
from pki.verify import Purpose
from sync.certstore import CertStore
from sync.contract import Host
from sync.log import LogStore, Receipted
from sync.receive import PeerNotAllowed, Receiver


@dataclass
class Replica:
    division: str
    db: sqlite3.Connection
    log: LogStore
    certs: CertStore
    host: Host
    receiver: Receiver
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]            # own current certificate first, then issuers
    own_certs: list[x509.Certificate]        # every certificate this node ever held
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: this replica over a read-only connection of the calling thread, for the
    #: servicer's Hello and Pull (``snapshot``); None: they read under ``lock``
    reader: Callable[[], Replica] | None = None
    #: writes a reader deferred because the lock was busy (``write_soon``)
    _pending: list[Callable[[], None]] = field(default_factory=list, init=False, repr=False)
    _pending_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                          repr=False)

    @contextmanager
    def snapshot(self) -> Iterator[Replica]:
        """A view of the committed store that waits for no writer (SQLite WAL: readers
        see the last commit while a push's transaction runs), one read transaction long
        so every query of a call sees the same state. Without a reader: under the lock."""
        if self.reader is None:
            with self.lock:
                yield self
            return
        view = self.reader()
        view.db.execute("BEGIN")
        try:
            yield view
        finally:
            view.db.execute("COMMIT")

    def write_soon(self, write: Callable[[], None]) -> None:
        """Run ``write`` now if the write lock is free, else when the next call that holds it
        runs ``flush_pending``: a reader (Hello) never waits behind a push to record
        its bookkeeping (a child's contact, certificates it presented)."""
        if self.lock.acquire(blocking=False):
            try:
                self.flush_pending()
                write()
            finally:
                self.lock.release()
            return
        with self._pending_lock:
            self._pending.append(write)

    def flush_pending(self) -> None:
        """Deferred writes, in order; call with the lock held."""
        with self._pending_lock:
            pending, self._pending[:] = list(self._pending), []
        for write in pending:
            write()

    def cosign(self, origin: str, size: int, note: bytes) -> Receipted:
        """Our receipt for a checkpoint we stored: the one we already made, else a new one.

        Both the network path (PushLogs) and the bundle path come here, so
        re-sending a checkpoint (a retried push, a re-imported bundle) adds no
        second receipt. Reusing by (origin, size) is sound: two notes of one
        size with different roots are a fork the receiver refused before this.
        """
        for held in self.log.receipts(origin, size):
            if held.cosigner == self.division:
                return held
        receipt = make_receipt(note, self.key, self.division, self.host.now())
        line = receipt.to_bytes()
        with self.host.transaction():
            self.log.add_receipt(origin, size, self.division, receipt.time * 1000, line)
        return Receipted(origin, size, self.division, receipt.time * 1000, line)

    def require_child(self, peer: x509.Certificate) -> str:
        """The peer's division, if one of our own certificates issued the peer's."""
        code = division_of(peer)
        if any(issued_by(peer, mine) for mine in self.own_certs):
            return code
        raise PeerNotAllowed(f"peer {code} is not a child of {self.division}: its certificate "
                             f"was not issued by this node")

    def require_parent(self, server_chain: list[x509.Certificate]) -> str:
        """The parent's division, if the server is certified as the division that issued ours.

        Not the exact issuing key: a parent that rotated its key (``pki rotate``)
        serves with a certificate whose key did not sign ours, and its children
        must keep syncing. So the server's subject must be our certificate's
        issuer name, and a certificate that did not sign ours must verify now,
        with the revocations held, to the root as one that may issue (pki.verify:
        CA, keyCertSign, pathLen, subtree rule). Under the subtree rule only the
        parent's ancestors can certify its division, the same ones that
        certified the key that signed ours, so this trusts no one new. DESIGN.md
        "Trust" says why the stricter rules were not taken.
        """
        if not server_chain:
            raise VerificationError("parent presented no certificate")
        parent = server_chain[0]
        if parent.subject != self.chain[0].issuer:
            raise PeerNotAllowed(
                f"{division_of(parent)} is not this node's parent: our certificate was "
                f"issued by {self.chain[0].issuer.rfc4514_string()}")
        if not issued_by(self.chain[0], parent):
            try:
                self.receiver.verify_peer(parent, server_chain[1:], Purpose.ISSUING)
            except VerificationError as exc:
                raise PeerNotAllowed(
                    f"{division_of(parent)} presented a certificate that did not issue ours "
                    f"and does not verify as its division's CA: {exc.diagnostics()}") from exc
        return division_of(parent)
