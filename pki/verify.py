"""Certificate chain verification with the tongban rules on top of X.509.

Each way a chain can fail has its own error class and message, because the
operator reading it on a county node has to know which of "your clock is wrong",
"the parent sent the wrong chain" and "someone forged a certificate" happened.

Trusted time and the trusted root are parameters: a verifier judging an old
checkpoint passes the earliest parent receipt time, not today. After our own
checks (subtree rule per link, revocation at that time, purpose, CA flags, path
length), the chain is also put through cryptography's standard RFC 5280 path
validation, so that anything our rules do not name (unknown critical
extensions, malformed constraints) is still refused. Its end-entity policy is
relaxed to "any extensions" because every non-village node certificate is a CA
certificate that also serves as the node's own TLS and signing certificate.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from cryptography import x509
from cryptography.x509 import verification as x509v
from cryptography.x509.oid import ExtendedKeyUsageOID

from pki import division
from pki.certs import (
    SubtreeViolation,
    division_of,
    is_ca_cert,
    is_self_signed,
    issued_by,
    serial_hex,
)
from pki.errors import InputError, VerificationError
from pki.revocation import RevocationSet

#: National, province, prefecture, county, township, village: a path has at most 6 certs.
MAX_CHAIN = 6


class Purpose(StrEnum):
    """What the leaf certificate is being trusted for."""

    SIGNING = "signing"
    TLS_SERVER = "tls-server"
    TLS_CLIENT = "tls-client"
    ISSUING = "issuing"


class CertificateExpired(VerificationError):
    pass


class CertificateNotYetValid(VerificationError):
    pass


class WrongIssuer(VerificationError):
    pass


class CertificateRevoked(VerificationError):
    pass


class WrongKeyUsage(VerificationError):
    pass


class NotACA(VerificationError):
    pass


class PathLengthExceeded(VerificationError):
    pass


class UntrustedRoot(VerificationError):
    pass


class StandardPathRejected(VerificationError):
    """RFC 5280 path validation refused a chain our own rules let through."""


def describe(cert: x509.Certificate) -> str:
    return f"certificate {division_of(cert)} (serial {serial_hex(cert)})"


def verify_chain(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    root: x509.Certificate,
    now: datetime,
    revoked: RevocationSet | None = None,
    purpose: Purpose = Purpose.SIGNING,
) -> list[x509.Certificate]:
    """Return the chain leaf → … → root, or raise the error naming what is wrong."""
    if now.tzinfo is None:
        raise InputError("trusted time must be timezone-aware (got a naive datetime)")
    if not is_self_signed(root) or division_of(root) != division.NATIONAL:
        raise UntrustedRoot(f"trusted root {describe(root)} is not a self-signed 000000 root")
    chain = _build_path(leaf, intermediates, root)
    for cert in chain:
        _check_time(cert, now)
    _check_purpose(leaf, purpose)
    for below, (child, issuer) in enumerate(pairwise(chain)):
        _check_issuer(child, issuer, below)
        _check_revocation(child, issuer, now, revoked or RevocationSet())
    _standard_check(chain, now)
    return chain


def _build_path(
    leaf: x509.Certificate, intermediates: list[x509.Certificate], root: x509.Certificate
) -> list[x509.Certificate]:
    chain = [leaf]
    current = leaf
    while len(chain) <= MAX_CHAIN:
        if current == root:
            return chain
        if issued_by(current, root):
            chain.append(root)
            return chain
        if is_self_signed(current):
            raise UntrustedRoot(
                f"chain ends at self-signed {describe(current)}, which is not the trusted root "
                f"(serial {serial_hex(root)})"
            )
        named = [c for c in intermediates if c.subject == current.issuer and c not in chain]
        signer = next((c for c in named if issued_by(current, c)), None)
        if signer is None:
            issuer_name = current.issuer.rfc4514_string()
            if named or current.issuer == root.subject:
                raise WrongIssuer(
                    f"wrong issuer: the signature on {describe(current)} does not verify "
                    f"with any certificate named {issuer_name}"
                )
            raise WrongIssuer(
                f"wrong issuer: no certificate for {issuer_name}, the issuer of "
                f"{describe(current)}, in the chain"
            )
        chain.append(signer)
        current = signer
    raise PathLengthExceeded(f"chain longer than {MAX_CHAIN} certificates")


def _check_time(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateNotYetValid(
            f"{describe(cert)} is not yet valid at {now.isoformat()}: "
            f"valid from {cert.not_valid_before_utc.isoformat()}"
        )
    if now > cert.not_valid_after_utc:
        raise CertificateExpired(
            f"{describe(cert)} expired at {cert.not_valid_after_utc.isoformat()} "
            f"(trusted time {now.isoformat()})"
        )


def _key_usage_of(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


_EKU_FOR = {
    Purpose.TLS_SERVER: (ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth"),
    Purpose.TLS_CLIENT: (ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth"),
}


def _check_purpose(leaf: x509.Certificate, purpose: Purpose) -> None:
    usage = _key_usage_of(leaf)
    if purpose is Purpose.ISSUING:
        if not is_ca_cert(leaf):
            raise NotACA(f"{describe(leaf)} is not a CA certificate: it cannot issue")
        if usage is None or not usage.key_cert_sign:
            raise WrongKeyUsage(f"wrong key usage: {describe(leaf)} lacks keyCertSign")
        return
    if usage is None or not usage.digital_signature:
        raise WrongKeyUsage(
            f"wrong key usage: {describe(leaf)} lacks digitalSignature (needed for {purpose})"
        )
    if purpose not in _EKU_FOR:
        return
    want, want_name = _EKU_FOR[purpose]
    try:
        ekus = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = []
    if want not in ekus:
        raise WrongKeyUsage(
            f"wrong extended key usage: {describe(leaf)} lacks {want_name} (needed for {purpose})"
        )


def _check_issuer(child: x509.Certificate, issuer: x509.Certificate, below: int) -> None:
    """``below`` counts the CA certificates between ``issuer`` and the leaf."""
    if not is_ca_cert(issuer):
        raise NotACA(
            f"{describe(issuer)} is not a CA certificate but issued {describe(child)}"
        )
    usage = _key_usage_of(issuer)
    if usage is None or not usage.key_cert_sign:
        raise WrongKeyUsage(
            f"wrong key usage: {describe(issuer)} lacks keyCertSign but issued {describe(child)}"
        )
    limit = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
    if limit is not None and below > limit:
        raise PathLengthExceeded(
            f"path length exceeded: {describe(issuer)} allows {limit} CA certificates "
            f"below it, got {below}"
        )
    if not division.is_ancestor(division_of(issuer), division_of(child)):
        raise SubtreeViolation(division_of(issuer), division_of(child))


def _check_revocation(
    child: x509.Certificate, issuer: x509.Certificate, now: datetime, revoked: RevocationSet
) -> None:
    entry = revoked.lookup(division_of(issuer), child.serial_number)
    if entry is not None and entry.revoked_at <= now:
        raise CertificateRevoked(
            f"{describe(child)} was revoked by {entry.issuer} at "
            f"{entry.revoked_at.isoformat()} ({entry.reason}), before the trusted time "
            f"{now.isoformat()}"
        )


def _standard_check(chain: list[x509.Certificate], now: datetime) -> None:
    verifier = (
        x509v.PolicyBuilder()
        .store(x509v.Store([chain[-1]]))
        .time(now)
        .max_chain_depth(MAX_CHAIN)
        .extension_policies(
            ca_policy=x509v.ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=x509v.ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(chain[0], chain[1:-1])
    except x509v.VerificationError as exc:
        raise StandardPathRejected(
            f"X.509 path validation refused {describe(chain[0])}: {exc}"
        ) from exc
