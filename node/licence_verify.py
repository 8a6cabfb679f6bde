"""Offline verification of a licence: from its export file, its QR payload, or the log.

Three ways in, one check (``verify_sealed``): the seal certificate was issued by
the node the licence number names, for a body of that node's division; that
node's certificate chains to the national root (subtree rule, revocations);
the COSE_Sign1 signature holds over the claims; the seal names the body the
licence names; the licence is within its validity; and neither the licence
nor its seal is revoked in the newest information held.

- File (``tongban-licence/1``): also proves the licence record is in the
  issuer's signed log (sync.audit.caseproof); needs only the root. Without a node
  home, no revocation information is held and the verdict says so.
- QR: the sealed claims alone; the seal certificate and its chain come from
  the node's trust list (certificates it holds, seals and the national relay).
- Log: a licence record the node holds itself (own, subtree or ancestor).

Each refusal is one VerificationError naming what failed; a licence that is
genuine but revoked, expired or not yet valid comes back as a verdict whose
``status`` says so, so the caller can print it before exiting 1.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography import x509

from node.licence_format import (
    QR_PREFIX,
    Claims,
    from_qr_text,
    issuing_node,
    parse_sealed,
    seal_kid,
)
from node.licences import EXPORT_FORMAT, LicenceRevocation, node_chain, revocation
from node.store import NodeStore
from pki.certs import division_of, load_cert, serial_hex
from pki.division import NATIONAL
from pki.errors import Error, MalformedError, VerificationError
from pki.revocation import Revocation, RevocationSet
from pki.seal_certs import SealDivisionMismatch, check_seal_issuer, seal_identity
from pki.suite import P256
from pki.verify import Purpose, verify_chain
from protos.tongban.v1 import record_pb2
from sync.audit import caseproof
from sync.certstore import CertStore, der, parse_der
from sync.deliver import delivered_record
from sync.records import hlc_ms, parse_body, parse_record, show_ms

VALID = "valid"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_YET_VALID = "not yet valid"


@dataclass(frozen=True)
class Verdict:
    claims: Claims
    checked_by: str            # "file", "qr" or "log"
    status: str                # VALID, REVOKED, EXPIRED, NOT_YET_VALID
    detail: str                # the status in words, with its reason
    status_as_of_ms: int | None  # time of the newest revocation information used
    status_source: str         # where that information came from
    in_log: str | None         # "540102#12 in checkpoint of size 13 …" for file and log

    @property
    def ok(self) -> bool:
        return self.status == VALID


@dataclass
class TrustList:
    """What a verifier trusts: the root, certificates it may chain through, revocations."""

    root: x509.Certificate
    certificates: list[x509.Certificate]
    revocations: RevocationSet

    def seal_by_kid(self, kid: bytes) -> x509.Certificate | None:
        for cert in self.certificates:
            if seal_kid(cert) == kid:
                return cert
        return None


def _seal_revoked(trust: TrustList, issuer: str, seal: x509.Certificate) -> Revocation | None:
    return trust.revocations.lookup(issuer, seal.serial_number)


def verify_sealed(sealed: bytes, seal: x509.Certificate | None, trust: TrustList,
                  at: datetime) -> Claims:
    """The claims, if the seal and its chain hold; raises naming what does not."""
    parsed = parse_sealed(sealed)
    claims = parsed.claims()
    node = issuing_node(claims.licence_id)
    if node != claims.node:
        raise VerificationError(f"licence {claims.licence_id} names node {claims.node} but its "
                                f"number belongs to {node}")
    if seal is None:
        seal = trust.seal_by_kid(parsed.kid)
        if seal is None:
            raise VerificationError(
                f"unknown seal (kid {parsed.kid.hex()}): no seal certificate of {node} is held "
                "here; sync with the parent to receive the national relay")
    if seal_kid(seal) != parsed.kid:
        raise VerificationError("the seal certificate is not the one the licence names (kid)")
    ident = seal_identity(seal)
    if ident.division != node:
        raise SealDivisionMismatch(
            f"seal from another division: licence {claims.licence_id} of {node} is sealed "
            f"with the seal of {ident.name} ({ident.uscc}) of {ident.division}")
    issuers = [c for c in trust.certificates if _is_node_cert(c, node)]
    if not issuers:
        raise VerificationError(f"no certificate of node {node} is held to check its seal")
    problems: list[str] = []
    for issuer in issuers:
        try:
            check_seal_issuer(seal, issuer, at)
            verify_chain(issuer, trust.certificates, trust.root, at, trust.revocations,
                         Purpose.ISSUING)
            break
        except Error as exc:
            problems.append(exc.diagnostics())
    else:
        raise VerificationError(problems[0] if len(set(problems)) == 1
                                else "; ".join(sorted(set(problems))))
    try:
        P256.verify(seal.public_key(), parsed.tbs, parsed.der_signature)
    except VerificationError as exc:
        raise VerificationError(
            f"seal signature does not verify over licence {claims.licence_id}: a field was "
            "changed after sealing, or it was sealed with another key") from exc
    if ident.uscc != claims.body_uscc:
        raise VerificationError(f"licence names body {claims.body_uscc} but carries the seal "
                                f"of {ident.uscc} ({ident.name})")
    return claims


def _is_node_cert(cert: x509.Certificate, code: str) -> bool:
    try:
        return division_of(cert) == code
    except Error:
        return False


def _judge(claims: Claims, trust: TrustList, seal: x509.Certificate,
           status: tuple[int | None, str, LicenceRevocation | None], today: date, checked_by: str,
           in_log: str | None) -> Verdict:
    as_of, source, revoked = status
    verdict = (VALID, "not revoked in the information held")
    if revoked is not None:
        verdict = (REVOKED, f"revoked at {_iso(revoked.at_ms)} ({revoked.reason}), "
                            f"record {revoked.source}")
    elif gone := _seal_revoked(trust, claims.node, seal):
        verdict = (REVOKED, f"its seal {serial_hex(seal)} was revoked at "
                            f"{gone.revoked_at.isoformat()} ({gone.reason})")
    elif claims.valid_to and today > date.fromisoformat(claims.valid_to):
        verdict = (EXPIRED, f"expired: valid to {claims.valid_to}")
    elif today < date.fromisoformat(claims.valid_from):
        verdict = (NOT_YET_VALID, f"not yet valid: valid from {claims.valid_from}")
    return Verdict(claims, checked_by, verdict[0], verdict[1], as_of, source, in_log)


def _iso(ms: int) -> str:
    return show_ms(ms, UTC, "%Y-%m-%dT%H:%M:%S+00:00")


# --- trust and status from a node --------------------------------------------------------

def node_trust(store: NodeStore) -> TrustList:
    """The node's trust list: held node certificates, seals, relayed certificates."""
    db = store.db
    root = load_cert(store.home.root_cert_path.read_bytes(), str(store.home.root_cert_path))
    pool: dict[bytes, x509.Certificate] = {}
    for cert in [*CertStore(db).all(), *node_chain(store, store.division)]:
        pool.setdefault(der(cert), cert)
    for (blob,) in db.execute("SELECT der FROM relayed_certs UNION ALL SELECT der FROM seals"):
        pool.setdefault(blob, x509.load_der_x509_certificate(blob))
    revocations = RevocationSet()
    for origin, serial, reason, at_ms in db.execute(
            "SELECT origin, serial_hex, reason, revoked_at_ms FROM revocations UNION ALL"
            " SELECT issuer, serial_hex, reason, revoked_at_ms FROM relayed_cert_revocations"):
        revocations.add(Revocation(origin, int(serial, 16), reason or "",
                                   datetime.fromtimestamp(at_ms / 1000, UTC)))
    return TrustList(root, list(pool.values()), revocations)


def node_status(db: sqlite3.Connection,
                claims: Claims) -> tuple[int | None, str, LicenceRevocation | None]:
    """(as of ms, source, revocation or None) from what this node holds.

    The newest information is the issuer's own log when this node replicates
    it, else the national relay; the time is that of the newest record held.
    """
    revoked = revocation(db, claims.licence_id, claims.node)
    issuer_top = _newest_ms(db, claims.node)
    if issuer_top is not None:
        return issuer_top, f"log of {claims.node}", revoked
    relay = db.execute("SELECT max(seq) FROM licence_revocations WHERE origin = ?",
                       (NATIONAL,)).fetchone()[0]
    national_top = _newest_ms(db, NATIONAL)
    if national_top is not None:
        return national_top, f"national relay (log of {NATIONAL}" + (
            ")" if relay is None else f", newest revocation entry in #{relay})"), revoked
    return None, "no revocation information held", revoked


def _newest_ms(db: sqlite3.Connection, origin: str) -> int | None:
    row = db.execute("SELECT data FROM records WHERE origin = ? ORDER BY seq DESC LIMIT 1",
                     (origin,)).fetchone()
    return hlc_ms(parse_record(row[0]).hlc) if row else None


# --- the three ways in -------------------------------------------------------------------

def _b64(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedError("licence file", f"{where}: want base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedError("licence file", f"{where}: not base64") from exc


def verify_file(data: bytes, root: x509.Certificate, now: datetime, today: date,
                store: NodeStore | None = None) -> Verdict:
    """A licence export file, with only the root (and the node's status when ``store``)."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedError("licence file", f"not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise MalformedError("licence file", f"want format {EXPORT_FORMAT!r}")
    sealed = _b64(doc.get("sealed"), "sealed")
    chain_field = doc.get("seal_chain")
    if not isinstance(chain_field, list) or not chain_field:
        raise MalformedError("licence file", "seal_chain must list the seal certificate first")
    chain = parse_der([_b64(c, "seal_chain") for c in chain_field], "licence file seal_chain")
    proof = caseproof.check(json.dumps(doc.get("log_proof")).encode("utf-8"), root, now)
    (log,) = proof.logs
    (seq, record), = log.records
    if record.kind != record_pb2.LICENCE_ISSUED:
        raise VerificationError(f"record {log.origin}#{seq} is not a licence record")
    body = parse_body(record_pb2.Licence, record.body, f"licence record {log.origin}#{seq}")
    if body.sealed != sealed or body.seal_certificate_der != der(chain[0]):
        raise VerificationError(f"the licence in the file is not the one in {log.origin}'s log "
                                f"record #{seq} (tampered field or substituted seal)")
    at = log.trusted_time or now
    held = node_trust(store) if store else TrustList(root, [], RevocationSet())
    trust = TrustList(root, [*chain[1:], *held.certificates], held.revocations)
    claims = verify_sealed(sealed, chain[0], trust, at)
    if claims.node != log.origin or claims.seq != seq:
        raise VerificationError(f"licence {claims.licence_id} claims {claims.node}#{claims.seq}"
                                f" but the record is {log.origin}#{seq}")
    in_log = (f"{log.origin}#{seq} in its signed log (checkpoint size {log.size}, "
              + (f"cosigned {log.trusted_time.isoformat(timespec='seconds')})"
                 if log.trusted_time else "not yet cosigned by a parent)"))
    status = node_status(store.db, claims) if store else (
        None, "none: this machine holds no revocation information; the file proves the "
              "licence as of its checkpoint", None)
    return _judge(claims, trust, chain[0], status, today, "file", in_log)


def verify_qr(store: NodeStore, sealed: bytes, now: datetime, today: date) -> Verdict:
    """The QR payload, against this node's trust list and status.

    When the node holds the licence record (a log it replicates, or a
    delivery, whose inclusion was proven on arrival) the QR must carry the
    very bytes of that record, and the verdict names it; else ``in_log`` is
    unset: the seal alone vouches for the claims.
    """
    trust = node_trust(store)
    claims = verify_sealed(sealed, None, trust, now)
    seal = trust.seal_by_kid(parse_sealed(sealed).kid)
    assert seal is not None  # verify_sealed found it
    return _judge(claims, trust, seal, node_status(store.db, claims), today, "qr",
                  _qr_in_log(store, claims, sealed))


def _qr_in_log(store: NodeStore, claims: Claims, sealed: bytes) -> str | None:
    origin, seq = claims.node, claims.seq
    held = store.log.records_at([(origin, seq)]).get((origin, seq))
    where = "in this node's copy of the log"
    if held is None:
        held = delivered_record(store.db, origin, seq)
        where = "delivered here with its inclusion proof"
    if held is None:
        return None
    record = parse_record(held)
    body = (parse_body(record_pb2.Licence, record.body, f"licence record {origin}#{seq}")
            if record.kind == record_pb2.LICENCE_ISSUED else None)
    if body is None or body.sealed != sealed:
        raise VerificationError(f"the QR licence {claims.licence_id} is not the one in "
                                f"{origin}'s log record #{seq} (tampered field or a second "
                                "licence under one number)")
    return f"{origin}#{seq} {where}"


def verify_held(store: NodeStore, licence_id: str, now: datetime, today: date) -> Verdict:
    """A licence whose record this node holds in its log."""
    row = store.db.execute("SELECT origin, seq FROM licences WHERE licence_id = ?",
                           (licence_id,)).fetchone()
    if row is None:
        raise VerificationError(f"no licence {licence_id} is held on node {store.division}: "
                                "cite its export file or QR payload instead")
    origin, seq = row
    record = parse_record(store.log.record(origin, seq))
    body = parse_body(record_pb2.Licence, record.body, f"licence record {origin}#{seq}")
    seal = x509.load_der_x509_certificate(body.seal_certificate_der)
    trust = node_trust(store)
    claims = verify_sealed(body.sealed, seal, trust, now)
    return _judge(claims, trust, seal, node_status(store.db, claims), today, "log",
                  f"{origin}#{seq} in this node's copy of the log")


def cite(store: NodeStore, value: str, now: datetime, today: date) -> Verdict:
    """A licence cited by an applicant (免证办): export file, QR payload, or a number held here."""
    if value.startswith(QR_PREFIX):
        return verify_qr(store, from_qr_text(value), now, today)
    path = Path(value)
    if path.is_file():
        root = load_cert(store.home.root_cert_path.read_bytes(), str(store.home.root_cert_path))
        return verify_file(path.read_bytes(), root, now, today, store)
    return verify_held(store, value, now, today)
