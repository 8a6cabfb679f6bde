"""Certificates of the nodes whose records this node holds.

Batches carry the certificates needed to check their checkpoints, so a node
that forwards a grandchild's log can also forward the grandchild's certificate.
Only certificates that verified against the root (with the subtree rule) are
kept; the auditor reads the same table.
"""

from __future__ import annotations

import hashlib
import sqlite3

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from pki.certs import PARSE_ERRORS, division_of, is_self_signed, parsed
from pki.errors import MalformedError


def migrate(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS node_certs ("
        " fingerprint BLOB PRIMARY KEY, division TEXT NOT NULL, der BLOB NOT NULL)"
        " WITHOUT ROWID"
    )
    db.execute("CREATE INDEX IF NOT EXISTS node_certs_division ON node_certs(division)")


def parse_der(blobs: list[bytes], what: str) -> list[x509.Certificate]:
    certs = []
    for blob in blobs:
        try:
            cert = x509.load_der_x509_certificate(blob)
        except PARSE_ERRORS as exc:
            raise MalformedError(what, f"certificate does not parse: {exc}") from exc
        certs.append(parsed(cert, what))
    return certs


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


class CertStore:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def add(self, certs: list[x509.Certificate]) -> None:
        """Keep already-verified certificates (the root itself is never stored here)."""
        rows = [(hashlib.sha256(der(c)).digest(), division_of(c), der(c))
                for c in certs if not is_self_signed(c)]
        self._db.executemany("INSERT OR IGNORE INTO node_certs VALUES (?, ?, ?)", rows)

    def holds(self, cert: x509.Certificate) -> bool:
        """Whether ``cert`` is kept here (the root counts as held: it is never stored)."""
        if is_self_signed(cert):
            return True
        return self._db.execute("SELECT 1 FROM node_certs WHERE fingerprint = ?",
                                (hashlib.sha256(der(cert)).digest(),)).fetchone() is not None

    def for_division(self, code: str) -> list[x509.Certificate]:
        rows = self._db.execute("SELECT der FROM node_certs WHERE division = ?", (code,))
        return [x509.load_der_x509_certificate(r[0]) for r in rows]

    def chain_for(self, code: str) -> list[bytes]:
        """DER of every certificate of ``code`` and of its issuers, up to (not incl.) the root."""
        out: list[bytes] = []
        pending = [code]
        seen: set[str] = set()
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            for cert in self.for_division(current):
                out.append(der(cert))
                issuer = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
                if issuer:
                    pending.append(str(issuer[0].value))
        return out

    def all(self) -> list[x509.Certificate]:
        return [x509.load_der_x509_certificate(r[0])
                for r in self._db.execute("SELECT der FROM node_certs")]
