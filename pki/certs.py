"""The tongban certificate profile: one certificate per node, named by division code.

Subject CN is the division code and a SAN URI ``urn:tongban:node:<code>`` repeats
it; verifiers insist the two agree. Every certificate also carries the DNS names
``node-<code>.tongban`` and ``localhost`` and the IP 127.0.0.1: links use mutual
TLS with these same certificates, gRPC checks the server name, and tests and the
local demo run every node on loopback. Real deployments reach a parent through
``node-<code>.tongban`` (set via DNS or the TLS target-name override).

Every node above the villages may certify its children, so its certificate is a
CA whose path length is what the division levels below it leave: a province may
have a prefecture, county and township CA under it (path length 3), a township
only village leaves (0). The subtree rule — an issuer certifies only divisions
strictly inside its own — is checked here when issuing and again by every
verifier (pki.verify), because a certificate forged outside ``issue`` is exactly
what it guards against.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki import division
from pki.errors import InputError, MalformedError, VerificationError
from pki.suite import PublicKey, p256_public

URI_PREFIX = "urn:tongban:node:"
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
#: The longest validity tongban issues (about a century); past it dates overflow.
MAX_DAYS = 36500

#: Depth below the national node; a CA's path length is what remains above villages.
_DEPTH = {
    division.Level.NATIONAL: 0,
    division.Level.PROVINCE: 1,
    division.Level.PREFECTURE: 2,
    division.Level.COUNTY: 3,
    division.Level.TOWNSHIP: 4,
    division.Level.VILLAGE: 5,
}
_LEAF_DEPTH = _DEPTH[division.Level.VILLAGE]


class SubtreeViolation(VerificationError):
    """An issuer tried to certify a division outside its own subtree."""

    def __init__(self, issuer: str, subject: str) -> None:
        super().__init__(
            f"subtree violation: issuer {issuer} may not certify {subject} "
            f"(want a division strictly inside {issuer}'s subtree)"
        )
        self.issuer = issuer
        self.subject = subject


#: how far before the issuing moment a certificate's validity starts (clock skew allowance)
BACKDATE = timedelta(hours=1)


def ca_path_length(code: str) -> int | None:
    """How many CA certificates may sit below ``code``'s; None when it cannot be a CA."""
    depth = _DEPTH[division.level(code)]
    return None if depth == _LEAF_DEPTH else _LEAF_DEPTH - depth - 1


def node_uri(code: str) -> str:
    return URI_PREFIX + code


def node_dns(code: str) -> str:
    return f"node-{code}.tongban"


def division_of(cert: x509.Certificate) -> str:
    """The division a certificate names; CN and SAN URI must agree."""
    try:
        return _division_of(cert)
    except PARSE_ERRORS as exc:
        raise MalformedError("certificate", f"does not parse: {exc}") from exc


def _division_of(cert: x509.Certificate) -> str:
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        raise MalformedError("certificate", f"want exactly one subject CN, got {len(cns)}")
    code = division.validate(str(cns[0].value))
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise MalformedError(f"certificate {code}", "no subjectAltName") from exc
    uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)
            if u.startswith(URI_PREFIX)]
    if uris != [node_uri(code)]:
        raise MalformedError(
            f"certificate {code}", f"SAN URIs {uris} do not match CN (want {node_uri(code)})"
        )
    return code


def _name(code: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)])


def _san(code: str) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([
        x509.UniformResourceIdentifier(node_uri(code)),
        x509.DNSName(node_dns(code)),
        x509.DNSName("localhost"),
        x509.IPAddress(LOOPBACK),
    ])


def _key_usage_for(is_ca: bool) -> x509.KeyUsage:
    """digitalSignature (TLS, checkpoints, receipts, bundles) and keyAgreement: bundles
    are encrypted to the node key by ECDH (HPKE, pki.envelope; DESIGN.md "Bundles")."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=is_ca,
        crl_sign=is_ca,
        encipher_only=False,
        decipher_only=False,
    )


_EKU = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])


def _builder(
    code: str,
    public_key: ec.EllipticCurvePublicKey,
    issuer_name: x509.Name,
    issuer_public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    not_after: datetime,
    path_length: int | None,
    is_ca: bool,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(code))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True)
        .add_extension(_key_usage_for(is_ca), critical=True)
        .add_extension(_EKU, critical=False)
        .add_extension(_san(code), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public_key), critical=False
        )
    )


def make_root(key: ec.EllipticCurvePrivateKey, now: datetime, days: int) -> x509.Certificate:
    """The self-signed national root CA for 000000."""
    _positive_days(days)
    public = key.public_key()
    builder = _builder(
        division.NATIONAL, public, _name(division.NATIONAL), public,
        now, now + timedelta(days=days), ca_path_length(division.NATIONAL), True,
    )
    return builder.sign(key, hashes.SHA256())


def make_csr(key: ec.EllipticCurvePrivateKey, code: str) -> x509.CertificateSigningRequest:
    """A CSR naming ``code``; the parent decides the rest of the profile when issuing."""
    division.validate(code)
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name(code))
        .add_extension(_san(code), critical=False)
        .sign(key, hashes.SHA256())
    )


def csr_division(csr: x509.CertificateSigningRequest) -> str:
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        raise MalformedError("certificate request", f"want exactly one subject CN, got {len(cns)}")
    return division.validate(str(cns[0].value))


def issue(
    csr: x509.CertificateSigningRequest,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    days: int,
    is_ca: bool | None = None,
) -> x509.Certificate:
    """Certify the CSR's division under ``issuer_cert``.

    ``is_ca`` defaults to "yes unless a village", so that any node can later enrol
    children without being re-certified. The validity ends no later than the
    issuer's own, since nothing it signs can outlive it.
    """
    _positive_days(days)
    if not csr.is_signature_valid:
        raise VerificationError("certificate request signature does not verify")
    subject = division.require_known(csr_division(csr), "certificate subject")
    issuer = division_of(issuer_cert)
    if not division.is_ancestor(issuer, subject):
        raise SubtreeViolation(issuer, subject)
    if not is_ca_cert(issuer_cert):
        raise VerificationError(f"issuer certificate {issuer} is not a CA: it cannot issue")
    if not same_public_key(issuer_key.public_key(), issuer_cert.public_key()):
        raise InputError(f"issuer key does not match the issuer certificate for {issuer}")
    path_length = ca_path_length(subject)
    want_ca = path_length is not None if is_ca is None else is_ca
    if want_ca and path_length is None:
        raise InputError(f"{subject} is a village: it cannot be a CA (got is_ca=True)")
    public = csr.public_key()
    if not (isinstance(public, ec.EllipticCurvePublicKey)
            and isinstance(public.curve, ec.SECP256R1)):
        raise InputError(f"certificate request key is {type(public).__name__}: want ECDSA P-256")
    not_after = min(now + timedelta(days=days), issuer_cert.not_valid_after_utc)
    # Backdated a little so a child whose clock is slow can use it at once, but never
    # before the issuer's own start: nothing it signs may predate it.
    not_before = max(now - BACKDATE, issuer_cert.not_valid_before_utc)
    builder = _builder(
        subject, public, issuer_cert.subject, p256_public(issuer_cert.public_key()),
        not_before, not_after, path_length if want_ca else None, want_ca,
    )
    return builder.sign(issuer_key, hashes.SHA256())


def cut_short(cert: x509.Certificate, issued_at: datetime, days: int) -> bool:
    """Whether the issuer's own expiry ended ``cert`` before the ``days`` asked for."""
    return cert.not_valid_after_utc < issued_at + timedelta(days=days) - timedelta(seconds=1)


def is_ca_cert(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``child`` directly (names match and the signature verifies).

    Only this one link: whether the issuer may issue at all is pki.verify's job.
    """
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject and issued_by(cert, cert)


def same_public_key(a: PublicKey, b: PublicKey) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return a.public_bytes(*fmt) == b.public_bytes(*fmt)


def require_key_matches(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    """Refuse to use a key with a certificate it does not belong to (e.g. mid-rotation)."""
    if not same_public_key(key.public_key(), cert.public_key()):
        raise VerificationError(
            f"node key does not match the certificate for {division_of(cert)} "
            f"(serial {serial_hex(cert)}): a key rotation is pending; import the new certificate"
        )


def serial_hex(cert: x509.Certificate) -> str:
    """Lowercase hex serial, the form revocation records use."""
    return format(cert.serial_number, "x")


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def certs_pem(certs: list[x509.Certificate]) -> bytes:
    return b"".join(cert_pem(c) for c in certs)


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return csr.public_bytes(serialization.Encoding.PEM)


#: What pyca raises when it parses a certificate, or finally parses a lazily read part
#: of one: besides ValueError, its own x509 exception classes, none a ValueError. Found
#: by the fuzzer: a duplicated extension raises ``DuplicateExtension`` from
#: ``cert.extensions``; a GeneralName of a type it does not model (x400Address,
#: ediPartyName) raises ``UnsupportedGeneralNameType`` from the same read.
PARSE_ERRORS = (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion,
                x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def parsed(cert: x509.Certificate, what: str = "certificate") -> x509.Certificate:
    """``cert`` once every part tongban reads has been parsed, or a MalformedError.

    pyca/cryptography parses names, extensions and the key only when first
    asked, so a mutated certificate loads fine and raises ``ValueError`` or
    ``UnsupportedAlgorithm`` later, deep inside a verification. Every
    certificate that enters from bytes passes here first; later reads of the
    same parts then cannot fail.
    """
    try:
        cert.subject.rfc4514_string()
        cert.issuer.rfc4514_string()
        list(cert.extensions)
        cert.public_key()
        cert.signature_hash_algorithm  # noqa: B018 - parsing is the point
        cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
        cert.serial_number  # noqa: B018
    except PARSE_ERRORS as exc:
        raise MalformedError(what, f"certificate does not parse: {exc}") from exc
    if cert.serial_number <= 0:  # pyca only warns, and will refuse it in a later release
        raise MalformedError(what, f"serial number {cert.serial_number} is not positive "
                             "(RFC 5280, 4.1.2.2)")
    if not _unsigned_parts_canonical(cert):
        raise MalformedError(what, "the parts outside the signature are not as RFC 5280 "
                             "wants them (outer algorithm equal to the signed one, the "
                             "signature's BIT STRING with no unused bits)")
    return cert


def _unsigned_parts_canonical(cert: x509.Certificate) -> bool:
    """The outer signatureAlgorithm and the signature's unused-bits byte are not signed.

    Found by the fuzzer: a flipped bit in either still verified, so two different
    files would have been the same certificate. RFC 5280 4.1.1.2 wants the outer
    algorithm equal to the inner one (among the first fields of the TBSCertificate,
    after version and serial), and DER a BIT STRING of whole bytes here.
    """
    whole = cert.public_bytes(serialization.Encoding.DER)
    tbs = cert.tbs_certificate_bytes
    start = whole.find(tbs)
    outer = whole[start + len(tbs):]
    if start < 0 or len(outer) < 2 or outer[1] & 0x80:
        return False
    algorithm, signature = outer[:2 + outer[1]], outer[2 + outer[1]:]
    header = 3 if len(signature) > 1 and signature[1] == 0x81 else 2
    return (algorithm in tbs[:64] and len(signature) > header and signature[0] == 0x03
            and signature[header] == 0)


def load_certs(data: bytes, what: str = "certificate") -> list[x509.Certificate]:
    """All certificates in a PEM bundle, in file order; at least one."""
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise MalformedError(what, "no PEM CERTIFICATE block found")
    try:
        found = x509.load_pem_x509_certificates(data)
    except PARSE_ERRORS as exc:
        raise MalformedError(what, f"bad PEM certificate ({exc})") from exc
    return [parsed(cert, what) for cert in found]


def load_cert(data: bytes, what: str = "certificate") -> x509.Certificate:
    certs = load_certs(data, what)
    if len(certs) != 1:
        raise MalformedError(what, f"want exactly one certificate, got {len(certs)}")
    return certs[0]


def load_csr(data: bytes, what: str = "certificate request") -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(data)
        csr.subject.rfc4514_string()
        list(csr.extensions)
        csr.public_key()
    except PARSE_ERRORS as exc:
        raise MalformedError(what, f"bad PEM certificate request ({exc})") from exc
    return csr


def _positive_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise InputError(f"bad validity: got {days} days, want 1-{MAX_DAYS}")
