"""Shared pieces for the pki tests: a real three-level federation and a forger.

The forger builds certificates with cryptography directly, bypassing
pki.certs.issue, because the verifier has to refuse exactly the certificates
our own issuing code would never make.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pki import certs, keys

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)


@dataclass
class Node:
    code: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


@dataclass
class Federation:
    root: Node
    region: Node
    county: Node

    def county_chain(self) -> list[x509.Certificate]:
        return [self.county.cert, self.region.cert, self.root.cert]


def enrol(code: str, parent: Node, now: datetime = NOW, days: int = 365,
          is_ca: bool | None = None) -> Node:
    key = keys.generate_key()
    cert = certs.issue(certs.make_csr(key, code), parent.cert, parent.key, now, days, is_ca)
    return Node(code, key, cert)


def make_root(now: datetime = NOW, days: int = 3650) -> Node:
    key = keys.generate_key()
    return Node("000000", key, certs.make_root(key, now, days))


def federation(county: str = "540102", region: str = "540000") -> Federation:
    """root(000000) -> region(540000, CA) -> county(540102)."""
    root = make_root()
    reg = enrol(region, root)
    return Federation(root, reg, enrol(county, reg))


def usage(*, digital_signature: bool = True, key_cert_sign: bool = False,
          key_encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=False,
        key_encipherment=key_encipherment, data_encipherment=False, key_agreement=True,
        key_cert_sign=key_cert_sign, crl_sign=key_cert_sign, encipher_only=False,
        decipher_only=False,
    )


def forge(
    code: str,
    issuer: Node,
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool | None = False,
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    not_before: datetime = NOW,
    not_after: datetime = NOW + timedelta(days=365),
    self_signed: bool = False,
    extra: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> Node:
    """A certificate in our profile's shape, but with whatever flaw the test asks for.

    ``ca=None`` leaves BasicConstraints out altogether.
    """
    key = key or keys.generate_key()
    signer = key if self_signed else issuer.key
    issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)]) if self_signed \
        else issuer.cert.subject
    issuer_public = key.public_key() if self_signed else issuer.key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(key_usage or usage(key_cert_sign=bool(ca)), critical=True)
        .add_extension(x509.ExtendedKeyUsage(eku or [ExtendedKeyUsageOID.SERVER_AUTH,
                                                     ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName([
            x509.UniformResourceIdentifier(certs.node_uri(code)),
            x509.DNSName(certs.node_dns(code)),
        ]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public),
                       critical=False)
    )
    for extension, critical in extra:
        builder = builder.add_extension(extension, critical=critical)
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    return Node(code, key, builder.sign(signer, hashes.SHA256()))


#: an extension whose OID 2.5.29.99 (06 03 55 1D 63) is one byte from the SKI's 2.5.29.14
STAND_IN = x509.UnrecognizedExtension(x509.ObjectIdentifier("2.5.29.99"), b"\x04\x02ab")


def rewritten_der(extra: x509.ExtensionType, old: bytes, new: bytes) -> bytes:
    """A forged certificate's DER with ``old`` (found once) replaced by ``new`` of the same
    length: what pyca's builder refuses to make, and the fuzzer made by mutation."""
    cert = forge("540103", federation().region, extra=((extra, False),)).cert
    data = cert.public_bytes(serialization.Encoding.DER)
    assert data.count(old) == 1 and len(old) == len(new)
    return data.replace(old, new)


def duplicate_extension_der() -> bytes:
    """A certificate with two subject key identifiers, which pyca refuses to model."""
    return rewritten_der(STAND_IN, b"\x06\x03\x55\x1d\x63", b"\x06\x03\x55\x1d\x0e")
