"""Projection of seal and licence records into the tables `licence` and `seal` commands read.

Kept apart from node.projection so the licence tables sit together;
node.projection registers these handlers, after node.authority has judged
the record (who may issue, revoke or relay) and parsed its body. Like every
projection, nothing here reads the clock: a licence's expiry is judged when it
is read, not when it is projected.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from typing import Any

from cryptography import x509

from node.licence_format import parse_sealed
from pki.certs import serial_hex
from pki.division import NATIONAL
from pki.errors import MalformedError
from protos.tongban.v1 import record_pb2
from sync.certstore import parse_der

TABLES = ("seals", "licences", "licence_revocations", "relayed_certs",
          "relayed_cert_revocations", "licence_types")

SCHEMA_SQL = (
    "CREATE TABLE IF NOT EXISTS seals (origin TEXT NOT NULL, seq INTEGER NOT NULL,"
    " uscc TEXT NOT NULL, name TEXT NOT NULL, serial_hex TEXT NOT NULL,"
    " not_after_ms INTEGER NOT NULL, der BLOB NOT NULL, PRIMARY KEY (origin, serial_hex))",
    "CREATE TABLE IF NOT EXISTS licences (licence_id TEXT PRIMARY KEY, origin TEXT NOT NULL,"
    " seq INTEGER NOT NULL, type_code TEXT, type_name TEXT, holder_id TEXT, holder_name TEXT,"
    " body_uscc TEXT, body_name TEXT, issue_date TEXT, valid_from TEXT, valid_to TEXT,"
    " case_no TEXT, matter_code TEXT, seal_serial TEXT)",
    "CREATE TABLE IF NOT EXISTS licence_revocations (licence_id TEXT NOT NULL,"
    " origin TEXT NOT NULL, seq INTEGER NOT NULL, issuer TEXT NOT NULL,"
    " revoked_at_ms INTEGER NOT NULL, reason TEXT, PRIMARY KEY (licence_id, origin))",
    "CREATE TABLE IF NOT EXISTS relayed_certs (fingerprint BLOB PRIMARY KEY,"
    " der BLOB NOT NULL, seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS relayed_cert_revocations (issuer TEXT NOT NULL,"
    " serial_hex TEXT NOT NULL, revoked_at_ms INTEGER NOT NULL, reason TEXT,"
    " seq INTEGER NOT NULL, PRIMARY KEY (issuer, serial_hex))",
    "CREATE TABLE IF NOT EXISTS licence_types (code TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " holder TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL)",
)


def create_tables(db: sqlite3.Connection) -> None:
    for statement in SCHEMA_SQL:
        db.execute(statement)


def _cert(der: bytes, what: str) -> x509.Certificate:
    (cert,) = parse_der([der], what)  # every parse error of a hostile DER as MalformedError
    return cert


def seal_issued(db: sqlite3.Connection, record: record_pb2.Record,
                body: record_pb2.SealIssued) -> None:
    cert = _cert(body.certificate_der, "seal body")
    db.execute("INSERT OR IGNORE INTO seals VALUES (?,?,?,?,?,?,?)",
               (record.origin, record.seq, body.body_uscc, body.body_name, serial_hex(cert),
                int(cert.not_valid_after_utc.timestamp() * 1000), body.certificate_der))


def licence_issued(db: sqlite3.Connection, record: record_pb2.Record,
                   body: record_pb2.Licence) -> None:
    claims = parse_sealed(body.sealed).claims()
    if claims.licence_id != body.licence_id:
        raise MalformedError("licence body", f"number {body.licence_id} differs from its "
                             f"sealed claims ({claims.licence_id})")
    seal = _cert(body.seal_certificate_der, "licence body")
    db.execute("INSERT OR IGNORE INTO licences VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (claims.licence_id, record.origin, record.seq, claims.type_code,
                claims.type_name, claims.holder_id, claims.holder_name, claims.body_uscc,
                claims.body_name, claims.issue_date, claims.valid_from, claims.valid_to,
                claims.case_no, claims.matter_code, serial_hex(seal)))


def licence_revoked(db: sqlite3.Connection, record: record_pb2.Record,
                    body: record_pb2.LicenceRevoked) -> None:
    db.execute("INSERT OR IGNORE INTO licence_revocations VALUES (?,?,?,?,?,?)",
               (body.licence_id, record.origin, record.seq, record.origin, body.revoked_at_ms,
                body.reason))


def licence_status(db: sqlite3.Connection, record: record_pb2.Record,
                   body: record_pb2.LicenceStatus) -> None:
    db.executemany("INSERT OR IGNORE INTO relayed_certs VALUES (?,?,?)",
                   [(hashlib.sha256(der).digest(), der, record.seq)
                    for der in body.certificates])
    for entry in body.revocations:
        if entry.licence_id:
            db.execute("INSERT OR IGNORE INTO licence_revocations VALUES (?,?,?,?,?,?)",
                       (entry.licence_id, record.origin, record.seq, entry.issuer,
                        entry.revoked_at_ms, entry.reason))
        else:
            db.execute("INSERT OR IGNORE INTO relayed_cert_revocations VALUES (?,?,?,?,?)",
                       (entry.issuer, entry.serial_hex, entry.revoked_at_ms, entry.reason,
                        record.seq))


def licence_type_published(db: sqlite3.Connection, record: record_pb2.Record,
                           body: record_pb2.LicenceType) -> None:
    """A type's code has one meaning: the national node's entry, else the first province's.

    A later publication by the same node replaces its own entry (a renamed type).
    """
    if not (body.code and body.name and body.holder):
        raise MalformedError("licence type body", "needs a code, a name and a holder")
    db.execute("INSERT INTO licence_types VALUES (?,?,?,?,?) ON CONFLICT (code) DO UPDATE SET"
               " name = excluded.name, holder = excluded.holder, origin = excluded.origin,"
               " seq = excluded.seq WHERE licence_types.origin = excluded.origin"
               " OR (excluded.origin = ? AND licence_types.origin != ?)",
               (body.code, body.name, body.holder, record.origin, record.seq, NATIONAL,
                NATIONAL))


#: each takes the body parsed by node.authority as its kind's message type
HANDLERS: dict[int, Callable[[sqlite3.Connection, record_pb2.Record, Any], None]] = {
    record_pb2.SEAL_ISSUED: seal_issued,
    record_pb2.LICENCE_ISSUED: licence_issued,
    record_pb2.LICENCE_REVOKED: licence_revoked,
    record_pb2.LICENCE_STATUS: licence_status,
    record_pb2.LICENCE_TYPE_PUBLISHED: licence_type_published,
}
