"""The seal certificate profile (电子印章): a body's signing key, certified by its node.

A licence is sealed by the body that decides the matter (its 实施主体), not by
the node, so each body gets its own key and certificate. The node's CA key
issues it, which keeps the one trust path of the federation: seal → node →
… → national root, checked with the same chain rules as every node
certificate. The subject names the body: O = body name, serialNumber = its
USCC (GB 32100), CN = "电子印章 <USCC>". A SAN URI ``urn:tongban:seal:<division>:<USCC>``
binds the seal to the issuing node's division; verifiers insist it equals the
issuer's division (a county's seals are the county's). It is not a CA; key
usage digitalSignature + nonRepudiation (contentCommitment), since a seal
states what the body decided.

The subtree rule for seals: the division part of a USCC (characters 3–8, the
registering authority's division) must lie in the issuing node's subtree, so
a county node cannot make a seal for a body registered in another county.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pki import division
from pki.certs import SubtreeViolation, division_of, is_ca_cert, same_public_key
from pki.errors import InputError, MalformedError, VerificationError
from pki.suite import p256_public

SEAL_URI_PREFIX = "urn:tongban:seal:"


@dataclass(frozen=True)
class SealIdentity:
    """What a seal certificate says about its body."""

    division: str
    uscc: str
    name: str


class SealDivisionMismatch(VerificationError):
    """A seal used for, or issued by, a node of another division."""


def uscc_division(uscc: str) -> str:
    """The registering authority's division code inside a USCC (characters 3–8)."""
    if len(uscc) != 18:
        raise InputError(f"bad USCC {uscc!r}: want 18 characters")
    return division.validate(uscc[2:8])


def seal_uri(code: str, uscc: str) -> str:
    return f"{SEAL_URI_PREFIX}{code}:{uscc}"


def issue_seal(
    public_key: ec.EllipticCurvePublicKey,
    uscc: str,
    name: str,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    days: int,
) -> x509.Certificate:
    """Certify a body's seal key under the node certificate ``issuer_cert``."""
    issuer = division_of(issuer_cert)
    body_division = uscc_division(uscc)
    if not division.in_subtree(issuer, body_division):
        raise SubtreeViolation(issuer, f"{body_division} (the division in USCC {uscc})")
    if not name.strip():
        raise InputError("seal body name must not be empty")
    if not is_ca_cert(issuer_cert):
        raise VerificationError(f"node certificate {issuer} is not a CA: it cannot issue seals")
    if not same_public_key(issuer_key.public_key(), issuer_cert.public_key()):
        raise InputError(f"node key does not match the node certificate of {issuer}")
    if days <= 0:
        raise InputError(f"bad validity: got {days} days, want at least 1")
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"电子印章 {uscc}"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, name.strip()),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc),
    ])
    not_after = min(now + timedelta(days=days), issuer_cert.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(seal_uri(issuer, uscc))]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            p256_public(issuer_cert.public_key())), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )


def seal_identity(cert: x509.Certificate) -> SealIdentity:
    """Division, USCC and body name of a seal certificate; refuses anything else."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise MalformedError("seal certificate", "no subjectAltName") from exc
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
            if u.startswith(SEAL_URI_PREFIX)]
    if len(uris) != 1:
        raise MalformedError("seal certificate", f"want one {SEAL_URI_PREFIX} URI, got {uris}")
    code, _, uscc = uris[0][len(SEAL_URI_PREFIX):].partition(":")
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    names = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if [str(s.value) for s in serials] != [uscc] or len(names) != 1:
        raise MalformedError("seal certificate", "subject serialNumber must equal the USCC in "
                             "the SAN URI, with one O (body name)")
    if is_ca_cert(cert):
        raise MalformedError("seal certificate", "a seal certificate must not be a CA")
    return SealIdentity(division.validate(code), uscc, str(names[0].value))


def check_seal_issuer(seal: x509.Certificate, issuer_cert: x509.Certificate,
                      at: datetime) -> SealIdentity:
    """The seal's identity, if node certificate ``issuer_cert`` issued it and it holds at ``at``.

    The issuer's own chain is the caller's to check (pki.verify, purpose ISSUING).
    """
    ident = seal_identity(seal)
    issuer = division_of(issuer_cert)
    try:
        seal.verify_directly_issued_by(issuer_cert)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise VerificationError(
            f"forged seal: the certificate of seal {ident.uscc} ({ident.name}) was not issued "
            f"by node {issuer}") from exc
    if ident.division != issuer:
        raise SealDivisionMismatch(
            f"seal from another division: seal {ident.uscc} names {ident.division} but was "
            f"issued by {issuer}")
    if not seal.not_valid_before_utc <= at <= seal.not_valid_after_utc:
        raise VerificationError(
            f"seal {ident.uscc} certificate is not valid at {at.isoformat()} (valid "
            f"{seal.not_valid_before_utc:%Y-%m-%d} to {seal.not_valid_after_utc:%Y-%m-%d})")
    return ident
