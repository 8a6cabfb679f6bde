"""Seals (电子印章) of the implementing bodies of this node's division.

The operator makes one seal per body: a fresh P-256 key kept under the home
(seals/<USCC>.key, mode 0600, never sent anywhere), and a certificate issued by
the node's CA key (pki.seal_certs). The certificate is published as a
SEAL_ISSUED record, so it replicates up with the log and the national node
relays it to everyone (node.licences.relay); revoking a seal is an ordinary
CERT_REVOKED record of the node, because the node issued the certificate.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from node.clock import wall_ms
from node.home import Home
from node.ids import ApplicantError, check_uscc
from node.store import Draft, NodeStore
from pki.certs import cert_pem, load_cert, serial_hex
from pki.errors import EnvironmentProblem, InputError
from pki.keys import generate_key, load_private_key, save_private_key
from pki.revocation import revocation_body
from pki.seal_certs import issue_seal
from protos.tongban.v1 import record_pb2
from sync.certstore import der

SEAL_DAYS = 5 * 365
SEALS_DIR = "seals"


class SealError(InputError):
    pass


@dataclass(frozen=True)
class Seal:
    uscc: str
    name: str
    serial_hex: str
    not_after_ms: int
    revoked: bool


def seal_key_path(home: Home, uscc: str) -> Path:
    return home.path / SEALS_DIR / f"{uscc}.key"


def _node_identity(home: Home) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if not home.cert_path.exists():
        raise EnvironmentProblem(f"{home.path} has no node certificate yet: enrol first "
                                 "(tongban pki csr / import)")
    return (load_cert(home.cert_path.read_bytes(), str(home.cert_path)),
            load_private_key(home.key_path))


def create(store: NodeStore, uscc: str, name: str, image_png: bytes = b"",
           days: int = SEAL_DAYS) -> Seal:
    """Make the key and certificate of a body's seal and publish the certificate."""
    try:
        uscc = check_uscc(uscc).id
    except ApplicantError as exc:
        raise SealError(f"seal for {uscc}: {exc}") from exc
    if lookup(store.db, uscc) is not None:
        raise SealError(f"body {uscc} already has a seal on this node; revoke it first")
    key_path = seal_key_path(store.home, uscc)
    if key_path.exists():
        raise SealError(f"{key_path} exists but no seal is recorded: move it away first")
    node_cert, node_key = _node_identity(store.home)
    key = generate_key()
    now = datetime.fromtimestamp(wall_ms() / 1000, UTC)
    cert = issue_seal(key.public_key(), uscc, name, node_cert, node_key, now, days)
    body = record_pb2.SealIssued(certificate_der=der(cert), body_uscc=uscc, body_name=name.strip(),
        image_png=image_png).SerializeToString()
    key_path.parent.mkdir(mode=0o700, exist_ok=True)
    save_private_key(key, key_path)
    try:
        store.write([Draft(record_pb2.SEAL_ISSUED, lambda _s, _h: body)])
    except BaseException:
        key_path.unlink(missing_ok=True)
        raise
    (key_path.with_suffix(".crt")).write_bytes(cert_pem(cert))
    return Seal(uscc, name.strip(), serial_hex(cert),
                int(cert.not_valid_after_utc.timestamp() * 1000), False)


def _rows(db: sqlite3.Connection, where: str = "", params: tuple = ()) -> list[Seal]:
    return [Seal(uscc, name, serial, not_after, bool(revoked)) for uscc, name, serial,
            not_after, revoked in db.execute(
                "SELECT s.uscc, s.name, s.serial_hex, s.not_after_ms, r.serial_hex IS NOT NULL"
                " FROM seals s LEFT JOIN revocations r ON r.origin = s.origin"
                f" AND r.serial_hex = s.serial_hex {where} ORDER BY s.uscc, s.seq", params)]


def list_seals(store: NodeStore) -> list[Seal]:
    return _rows(store.db, "WHERE s.origin = ?", (store.division,))


def lookup(db: sqlite3.Connection, uscc: str) -> Seal | None:
    """The body's current (unrevoked) seal made by this node, if any."""
    found = [s for s in _rows(db, "WHERE s.uscc = ?", (uscc,)) if not s.revoked]
    return found[-1] if found else None


def signing_seal(store: NodeStore,
                 uscc: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The key and certificate a licence of body ``uscc`` is sealed with."""
    seal = lookup(store.db, uscc)
    if seal is None:
        raise SealError(f"body {uscc} has no seal on node {store.division}: "
                        f"tongban seal create --body-uscc {uscc} --name …")
    (der,) = store.db.execute("SELECT der FROM seals WHERE serial_hex = ? AND origin = ?",
                              (seal.serial_hex, store.division)).fetchone()
    cert = x509.load_der_x509_certificate(der)
    return load_private_key(seal_key_path(store.home, uscc)), cert


def revoke(store: NodeStore, uscc: str, reason: str) -> Seal:
    seal = lookup(store.db, uscc)
    if seal is None:
        raise SealError(f"body {uscc} has no active seal on node {store.division}")
    body = revocation_body(int(seal.serial_hex, 16), reason,
                           datetime.fromtimestamp(wall_ms() / 1000, UTC))
    store.write([Draft(record_pb2.CERT_REVOKED, lambda _s, _h: body)])
    _retire_files(store.home, uscc, seal.serial_hex)
    return Seal(seal.uscc, seal.name, seal.serial_hex, seal.not_after_ms, True)


def _retire_files(home: Home, uscc: str, serial: str) -> None:
    """Move a revoked seal's key aside (seals/revoked/), so the body can get a new seal."""
    key_path = seal_key_path(home, uscc)
    retired = key_path.parent / "revoked"
    retired.mkdir(mode=0o700, exist_ok=True)
    for path in (key_path, key_path.with_suffix(".crt")):
        if path.exists():
            path.rename(retired / f"{uscc}-{serial}{path.suffix}")
