"""Keys on disk, the certificate profile, and what issue() refuses."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import stat
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
from pki_fixtures import NOW, STAND_IN, enrol, federation, forge, make_root, rewritten_der

from pki import certs, keys
from pki.errors import EnvironmentProblem, InputError, MalformedError, VerificationError
from pki.suite import P256
from sync.certstore import parse_der


def test_key_file_is_0600_and_never_overwritten(tmp_path):
    key = keys.generate_key()
    path = keys.save_private_key(key, tmp_path / "node.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert certs.same_public_key(keys.load_private_key(path).public_key(), key.public_key())
    with pytest.raises(InputError, match="refusing to overwrite existing key file"):
        keys.save_private_key(keys.generate_key(), path)
    assert certs.same_public_key(keys.load_private_key(path).public_key(), key.public_key())
    assert [p.name for p in tmp_path.iterdir()] == ["node.key"]


def test_key_replace_keeps_mode(tmp_path):
    path = keys.save_private_key(keys.generate_key(), tmp_path / "node.key")
    new = keys.generate_key()
    keys.save_private_key(new, path, replace=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert certs.same_public_key(keys.load_private_key(path).public_key(), new.public_key())


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"not a key at all", "not a PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
         "not a PEM private key"),
        (ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), "got a Ed25519PrivateKey, want an ECDSA P-256 key"),
        (keys.generate_key().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pw")), "it is encrypted"),
    ],
)
def test_malformed_private_key(tmp_path, content, why):
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    with pytest.raises(MalformedError) as err:
        keys.load_private_key(path)
    assert str(err.value).startswith(f"malformed private key {path}: ")
    assert why in str(err.value)


def test_missing_private_key_is_an_environment_problem(tmp_path):
    with pytest.raises(EnvironmentProblem, match="cannot read private key"):
        keys.load_private_key(tmp_path / "absent.key")


def test_key_id_is_signed_note_construction_over_spki():
    key = keys.generate_key()
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    want = hashlib.sha256(b"tongban/540102\n\x02" + spki).digest()[:4]
    assert P256.key_id("tongban/540102", key.public_key()) == want
    assert P256.key_id("tongban/540103", key.public_key()) != want


def test_suite_rejects_tampered_data():
    key = keys.generate_key()
    sig = P256.sign(key, b"hello")
    P256.verify(key.public_key(), b"hello", sig)
    with pytest.raises(VerificationError, match="signature does not verify"):
        P256.verify(key.public_key(), b"hellO", sig)


def test_profile_of_root_region_county_township_village():
    fed = federation()
    township = enrol("540102001000", fed.county)
    village = enrol("540102001001", township)
    expected = [
        (fed.root.cert, "000000", True, 4),
        (fed.region.cert, "540000", True, 3),
        (fed.county.cert, "540102", True, 1),
        (township.cert, "540102001000", True, 0),
        (village.cert, "540102001001", False, None),
    ]
    for cert, code, is_ca, path_length in expected:
        assert certs.division_of(cert) == code
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca is is_ca and bc.value.path_length == path_length
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.digital_signature and ku.key_cert_sign is is_ca and ku.crl_sign is is_ca
        assert ku.key_agreement  # bundles are encrypted to node keys (pki.envelope)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
            f"urn:tongban:node:{code}"]
        assert san.get_values_for_type(x509.DNSName) == [f"node-{code}.tongban", "localhost"]
        assert san.get_values_for_type(x509.IPAddress) == [ipaddress.IPv4Address("127.0.0.1")]
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert ski.digest == x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
        assert aki.key_identifier is not None
    assert certs.is_self_signed(fed.root.cert)
    assert not certs.is_self_signed(fed.region.cert)
    assert fed.county.cert.issuer == fed.region.cert.subject


def test_validity_never_outlives_the_issuer():
    root = make_root(days=100)
    region = enrol("540000", root, days=365)
    assert region.cert.not_valid_after_utc == root.cert.not_valid_after_utc
    assert region.cert.not_valid_before_utc == NOW


@pytest.mark.parametrize(
    ("issuer_code", "subject"),
    [("650000", "540102"), ("540000", "540000"), ("540000", "000000"),
     ("540100", "540200")],
)
def test_issue_refuses_subtree_violation(issuer_code, subject):
    root = make_root()
    issuer = enrol(issuer_code, root)
    csr = certs.make_csr(keys.generate_key(), subject)
    with pytest.raises(certs.SubtreeViolation) as err:
        certs.issue(csr, issuer.cert, issuer.key, NOW, 365)
    assert str(err.value) == (
        f"subtree violation: issuer {issuer_code} may not certify {subject} "
        f"(want a division strictly inside {issuer_code}'s subtree)"
    )


def test_issue_refuses_bad_csr_signature():
    fed = federation()
    der = bytearray(certs.make_csr(keys.generate_key(), "540103").public_bytes(
        serialization.Encoding.DER))
    der[-3] ^= 0x01
    tampered = x509.load_der_x509_csr(bytes(der))
    with pytest.raises(VerificationError, match="certificate request signature does not verify"):
        certs.issue(tampered, fed.region.cert, fed.region.key, NOW, 365)


def test_issue_refuses_non_ca_issuer_village_ca_and_wrong_key():
    fed = federation()
    leafy = enrol("540103", fed.region, is_ca=False)
    csr = certs.make_csr(keys.generate_key(), "540103001000")
    with pytest.raises(VerificationError, match="issuer certificate 540103 is not a CA"):
        certs.issue(csr, leafy.cert, leafy.key, NOW, 365)
    township = enrol("540102001000", fed.county)
    with pytest.raises(InputError, match="540102001001 is a village: it cannot be a CA"):
        certs.issue(certs.make_csr(keys.generate_key(), "540102001001"),
                    township.cert, township.key, NOW, 365, is_ca=True)
    with pytest.raises(InputError, match="issuer key does not match the issuer certificate"):
        certs.issue(certs.make_csr(keys.generate_key(), "540103"),
                    fed.region.cert, fed.county.key, NOW, 365)
    with pytest.raises(InputError, match="bad validity: got 0 days"):
        certs.issue(certs.make_csr(keys.generate_key(), "540103"),
                    fed.region.cert, fed.region.key, NOW, 0)


def test_explicit_leaf_for_a_county():
    fed = federation()
    leaf = enrol("540103", fed.region, is_ca=False)
    assert not certs.is_ca_cert(leaf.cert)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "no PEM CERTIFICATE block found"),
        (b"hello", "no PEM CERTIFICATE block found"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "bad PEM certificate"),
    ],
)
def test_malformed_certificate_pem(data, why):
    with pytest.raises(MalformedError) as err:
        certs.load_certs(data, "certificate node.crt")
    assert str(err.value).startswith("malformed certificate node.crt: ")
    assert why in str(err.value)


def test_bundle_order_and_single_cert_loader():
    fed = federation()
    bundle = certs.certs_pem(fed.county_chain())
    assert certs.load_certs(bundle) == fed.county_chain()
    with pytest.raises(MalformedError, match="want exactly one certificate, got 3"):
        certs.load_cert(bundle)
    with pytest.raises(MalformedError, match="malformed certificate request: bad PEM"):
        certs.load_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nAA==\n"
                       b"-----END CERTIFICATE REQUEST-----\n")


def test_division_of_insists_cn_and_uri_agree():
    fed = federation()
    san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier("urn:tongban:node:650000")])
    odd = (
        x509.CertificateBuilder()
        .subject_name(fed.county.cert.subject)
        .issuer_name(fed.region.cert.subject)
        .public_key(fed.county.key.public_key())
        .serial_number(7)
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(fed.region.key, hashes.SHA256())
    )
    with pytest.raises(MalformedError) as err:
        certs.division_of(odd)
    assert str(err.value) == (
        "malformed certificate 540102: SAN URIs ['urn:tongban:node:650000'] do not match CN "
        "(want urn:tongban:node:540102)"
    )


#: issuerAltName otherName [0] {1.2.3.4, [0] UTF8String "x"}: retagged [3], an x400Address
_OTHER_NAME = x509.IssuerAlternativeName(
    [x509.OtherName(x509.ObjectIdentifier("1.2.3.4"), b"\x0c\x01x")])


@pytest.mark.parametrize(
    ("extra", "old", "new", "why"),
    [
        (STAND_IN, b"\x06\x03\x55\x1d\x63", b"\x06\x03\x55\x1d\x0e",
         f"Duplicate {ExtensionOID.SUBJECT_KEY_IDENTIFIER.dotted_string} extension found"),
        (_OTHER_NAME, b"\xa0\x0a\x06\x03\x2a\x03\x04", b"\xa3\x0a\x06\x03\x2a\x03\x04",
         "x400Address"),
    ],
    ids=["duplicate-extension", "x400-address"],
)
def test_certificate_pyca_refuses_to_model_is_malformed(extra, old, new, why):
    """Found by the fuzzer: pyca raises its own exception classes, not ValueError, when it
    reads such extensions; hostile bytes must give our one-line refusal instead."""
    data = rewritten_der(extra, old, new)
    with pytest.raises(MalformedError) as err:
        parse_der([data], "certificate of 540103")
    assert str(err.value).startswith("malformed certificate of 540103: certificate does not "
                                     "parse: ") and why in str(err.value)
    assert "\n" not in str(err.value)
    pem = b"".join([b"-----BEGIN CERTIFICATE-----\n", base64.encodebytes(data),
                    b"-----END CERTIFICATE-----\n"])
    with pytest.raises(MalformedError, match=why):
        certs.load_cert(pem, "certificate node.crt")


def test_a_certificate_with_a_negative_serial_is_malformed():
    """Found by the slow fuzzer: pyca loads a non-positive serial with a deprecation warning
    only; RFC 5280 forbids it, and tongban refuses it in one line."""
    cert = forge("540103", federation().region).cert
    content = cert.serial_number.to_bytes((cert.serial_number.bit_length() + 8) // 8, "big")
    old = bytes([0x02, len(content)]) + content
    negative = bytes([0x02, len(content), content[0] | 0x80]) + content[1:]
    data = cert.public_bytes(serialization.Encoding.DER)
    assert data.count(old) == 1
    with pytest.warns(Warning), pytest.raises(MalformedError) as err:
        parse_der([data.replace(old, negative)], "certificate of 540103")
    assert "serial number -" in str(err.value) and "is not positive" in str(err.value)
