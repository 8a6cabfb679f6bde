"""Certificate revocations: CERT_REVOKED record bodies and the set verifiers consult.

A revocation is a record in the issuer's own log (the one ownership rule), so it
replicates like everything else and needs no CRL server. Revocations are keyed by
(issuer division, serial): only the node that issued a certificate can revoke it,
and a compromised county publishing CERT_REVOKED for another region's serials
changes nothing. Times are kept because "valid at signing time" is judged against
a trusted time (the earliest parent receipt), not against today.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from google.protobuf.message import DecodeError

from pki import division
from pki.errors import InputError, MalformedError
from protos.tongban.v1 import record_pb2

#: RFC 5280 CRLReason names, as they appear in CertRevoked.reason.
REASONS = frozenset(
    r.value for r in x509.ReasonFlags if r is not x509.ReasonFlags.remove_from_crl
)


@dataclass(frozen=True)
class Revocation:
    issuer: str
    serial: int
    reason: str
    revoked_at: datetime


def revocation_body(serial: int, reason: str, revoked_at: datetime) -> bytes:
    """The serialised CertRevoked body for a CERT_REVOKED record in the issuer's log."""
    if reason not in REASONS:
        wanted = ", ".join(sorted(REASONS))
        raise InputError(f"bad revocation reason {reason!r}: want one of {wanted}")
    if serial <= 0:
        raise InputError(f"bad certificate serial {serial}: want a positive integer")
    return record_pb2.CertRevoked(
        serial_hex=format(serial, "x"),
        reason=reason,
        revoked_at_ms=int(revoked_at.timestamp() * 1000),
    ).SerializeToString()


def parse_revocation(issuer: str, body: bytes) -> Revocation:
    """Read a CertRevoked body from the log of ``issuer`` (the record's origin)."""
    division.validate(issuer)
    msg = record_pb2.CertRevoked()
    try:
        msg.ParseFromString(body)
    except DecodeError as exc:
        raise MalformedError("revocation", f"not a CertRevoked message ({exc})") from exc
    try:
        serial = int(msg.serial_hex, 16)
    except ValueError as exc:
        raise MalformedError("revocation", f"serial {msg.serial_hex!r} is not hex") from exc
    if msg.serial_hex != format(serial, "x"):
        raise MalformedError("revocation", f"serial {msg.serial_hex!r} is not lowercase hex")
    if msg.reason not in REASONS:
        raise MalformedError("revocation", f"unknown reason {msg.reason!r}")
    at = datetime.fromtimestamp(msg.revoked_at_ms / 1000, UTC)
    return Revocation(issuer, serial, msg.reason, at)


class RevocationSet:
    """Revocations known to a verifier, looked up by (issuer division, serial)."""

    def __init__(self, revocations: list[Revocation] | None = None) -> None:
        self._by_key: dict[tuple[str, int], Revocation] = {}
        for r in revocations or []:
            self.add(r)

    def add(self, revocation: Revocation) -> None:
        """Keep the earliest time when an issuer revoked the same serial twice."""
        key = (revocation.issuer, revocation.serial)
        known = self._by_key.get(key)
        if known is None or revocation.revoked_at < known.revoked_at:
            self._by_key[key] = revocation

    def add_record(self, origin: str, body: bytes) -> Revocation:
        revocation = parse_revocation(origin, body)
        self.add(revocation)
        return revocation

    def lookup(self, issuer: str, serial: int) -> Revocation | None:
        return self._by_key.get((issuer, serial))

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Revocation]:
        return iter(self._by_key.values())
