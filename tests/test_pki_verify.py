"""Chain verification: the happy path and every refusal with its own message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ObjectIdentifier
from pki_fixtures import LATER, NOW, enrol, federation, forge, make_root, usage

from pki.certs import SubtreeViolation, serial_hex
from pki.errors import InputError
from pki.revocation import Revocation, RevocationSet, parse_revocation, revocation_body
from pki.verify import (
    CertificateExpired,
    CertificateNotYetValid,
    CertificateRevoked,
    NotACA,
    PathLengthExceeded,
    Purpose,
    StandardPathRejected,
    UntrustedRoot,
    WrongIssuer,
    WrongKeyUsage,
    verify_chain,
)


@pytest.fixture(scope="module")
def fed():
    return federation()


def test_three_level_chain_verifies_for_every_purpose(fed):
    for purpose in Purpose:
        chain = verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, LATER,
                             purpose=purpose)
        assert chain == fed.county_chain()


def test_intermediates_may_come_in_any_order_with_extras(fed):
    other = enrol("650000", fed.root)
    chain = verify_chain(fed.county.cert, [other.cert, fed.root.cert, fed.region.cert],
                         fed.root.cert, LATER)
    assert chain == fed.county_chain()


def test_root_as_its_own_leaf(fed):
    assert verify_chain(fed.root.cert, [], fed.root.cert, LATER) == [fed.root.cert]


def test_expired(fed):
    moment = fed.county.cert.not_valid_after_utc + timedelta(seconds=1)
    with pytest.raises(CertificateExpired) as err:
        verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, moment)
    assert str(err.value) == (
        f"certificate 540102 (serial {serial_hex(fed.county.cert)}) expired at "
        f"{fed.county.cert.not_valid_after_utc.isoformat()} (trusted time {moment.isoformat()})"
    )


def test_expired_intermediate_is_named():
    root = make_root()
    region = enrol("540000", root, days=400)
    county = forge("540102", region, not_after=NOW + timedelta(days=800))
    moment = NOW + timedelta(days=500)
    with pytest.raises(CertificateExpired, match=r"^certificate 540000 \(serial [0-9a-f]+\) exp"):
        verify_chain(county.cert, [region.cert], root.cert, moment)


def test_not_yet_valid(fed):
    moment = NOW - timedelta(hours=1)
    with pytest.raises(CertificateNotYetValid) as err:
        verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, moment)
    assert str(err.value) == (
        f"certificate 540102 (serial {serial_hex(fed.county.cert)}) is not yet valid at "
        f"{moment.isoformat()}: valid from {NOW.isoformat()}"
    )


def test_wrong_issuer_same_name_other_key(fed):
    impostor = enrol("540000", fed.root)
    with pytest.raises(WrongIssuer) as err:
        verify_chain(fed.county.cert, [impostor.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        f"wrong issuer: the signature on certificate 540102 (serial "
        f"{serial_hex(fed.county.cert)}) does not verify with any certificate named CN=540000"
    )


def test_wrong_issuer_missing_intermediate(fed):
    with pytest.raises(WrongIssuer, match=r"^wrong issuer: no certificate for CN=540000, the iss"):
        verify_chain(fed.county.cert, [], fed.root.cert, LATER)


def test_subtree_violation_forged_by_another_region(fed):
    xinjiang = enrol("650000", fed.root)
    forged = forge("540102", xinjiang)
    with pytest.raises(SubtreeViolation) as err:
        verify_chain(forged.cert, [xinjiang.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        "subtree violation: issuer 650000 may not certify 540102 "
        "(want a division strictly inside 650000's subtree)"
    )


def test_subtree_violation_county_certifying_its_sibling(fed):
    sibling = forge("540103", fed.county)
    with pytest.raises(SubtreeViolation, match="issuer 540102 may not certify 540103"):
        verify_chain(sibling.cert, [fed.county.cert, fed.region.cert], fed.root.cert, LATER)


def test_subtree_violation_deeper_in_the_chain(fed):
    xinjiang = enrol("650000", fed.root)
    forged_region = forge("540000", xinjiang, ca=True, path_length=3)
    county = forge("540102", forged_region)
    with pytest.raises(SubtreeViolation, match="issuer 650000 may not certify 540000"):
        verify_chain(county.cert, [forged_region.cert, xinjiang.cert], fed.root.cert, LATER)


def test_revoked_at_or_before_trusted_time(fed):
    at = NOW + timedelta(days=1)
    revoked = RevocationSet([Revocation("540000", fed.county.cert.serial_number,
                                        "keyCompromise", at)])
    with pytest.raises(CertificateRevoked) as err:
        verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, at, revoked)
    assert str(err.value) == (
        f"certificate 540102 (serial {serial_hex(fed.county.cert)}) was revoked by 540000 at "
        f"{at.isoformat()} (keyCompromise), before the trusted time {at.isoformat()}"
    )
    earlier = at - timedelta(seconds=1)
    assert verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, earlier, revoked)


def test_revocation_only_counts_from_the_issuer(fed):
    by_stranger = RevocationSet([Revocation("650000", fed.county.cert.serial_number,
                                            "keyCompromise", NOW)])
    assert verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, LATER, by_stranger)


def test_revoked_intermediate_takes_its_subtree_down(fed):
    revoked = RevocationSet()
    body = revocation_body(fed.region.cert.serial_number, "cACompromise", NOW)
    revoked.add_record("000000", body)
    with pytest.raises(CertificateRevoked, match=r"certificate 540000 .* revoked by 000000"):
        verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, LATER, revoked)


def test_revocation_body_round_trip_and_refusals(fed):
    body = revocation_body(fed.county.cert.serial_number, "superseded", NOW)
    parsed = parse_revocation("540000", body)
    assert parsed == Revocation("540000", fed.county.cert.serial_number, "superseded", NOW)
    with pytest.raises(InputError, match="bad revocation reason 'because'"):
        revocation_body(1, "because", NOW)
    with pytest.raises(InputError, match="malformed revocation: not a CertRevoked"):
        parse_revocation("540000", b"\xff\xff\xff")
    twice = RevocationSet([parsed, Revocation("540000", parsed.serial, "superseded", LATER)])
    assert twice.lookup("540000", parsed.serial).revoked_at == NOW
    assert len(twice) == 1


def test_wrong_key_usage_on_leaf(fed):
    leaf = forge("540103", fed.region, key_usage=usage(digital_signature=False,
                                                       key_encipherment=True))
    with pytest.raises(WrongKeyUsage) as err:
        verify_chain(leaf.cert, [fed.region.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        f"wrong key usage: certificate 540103 (serial {serial_hex(leaf.cert)}) lacks "
        "digitalSignature (needed for signing)"
    )


def test_wrong_extended_key_usage_for_tls(fed):
    client_only = forge("540103", fed.region, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    assert verify_chain(client_only.cert, [fed.region.cert], fed.root.cert, LATER,
                        purpose=Purpose.TLS_CLIENT)
    with pytest.raises(WrongKeyUsage, match="lacks serverAuth \\(needed for tls-server\\)"):
        verify_chain(client_only.cert, [fed.region.cert], fed.root.cert, LATER,
                     purpose=Purpose.TLS_SERVER)


def test_issuer_without_key_cert_sign(fed):
    region = forge("540000", fed.root, ca=True, path_length=3, key_usage=usage())
    county = forge("540102", region)
    with pytest.raises(WrongKeyUsage, match=r"certificate 540000 .* lacks keyCertSign but issued"):
        verify_chain(county.cert, [region.cert], fed.root.cert, LATER)


def test_ca_flag_missing(fed):
    leaf_county = enrol("540103", fed.region, is_ca=False)
    township = forge("540103001000", leaf_county)
    with pytest.raises(NotACA) as err:
        verify_chain(township.cert, [leaf_county.cert, fed.region.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        f"certificate 540103 (serial {serial_hex(leaf_county.cert)}) is not a CA certificate "
        f"but issued certificate 540103001000 (serial {serial_hex(township.cert)})"
    )


def test_basic_constraints_absent_is_not_a_ca(fed):
    no_bc = forge("540103", fed.region, ca=None, key_usage=usage(key_cert_sign=True))
    township = forge("540103001000", no_bc)
    with pytest.raises(NotACA, match=r"540103 .* is not a CA certificate"):
        verify_chain(township.cert, [no_bc.cert, fed.region.cert], fed.root.cert, LATER)


def test_leaf_must_be_a_ca_to_issue(fed):
    leafy = enrol("540103", fed.region, is_ca=False)
    with pytest.raises(NotACA, match="is not a CA certificate: it cannot issue"):
        verify_chain(leafy.cert, [fed.region.cert], fed.root.cert, LATER, purpose=Purpose.ISSUING)


def test_path_length_exceeded(fed):
    region = forge("540000", fed.root, ca=True, path_length=0)
    county = enrol("540102", region)
    township = enrol("540102001000", county)
    assert verify_chain(county.cert, [region.cert], fed.root.cert, LATER)
    with pytest.raises(PathLengthExceeded) as err:
        verify_chain(township.cert, [county.cert, region.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        f"path length exceeded: certificate 540000 (serial {serial_hex(region.cert)}) allows "
        "0 CA certificates below it, got 1"
    )


def test_untrusted_root(fed):
    other_root = make_root()
    other_region = enrol("540000", other_root)
    other_county = enrol("540102", other_region)
    with pytest.raises(UntrustedRoot) as err:
        verify_chain(other_county.cert, [other_region.cert, other_root.cert], fed.root.cert, LATER)
    assert str(err.value) == (
        f"chain ends at self-signed certificate 000000 (serial {serial_hex(other_root.cert)}), "
        f"which is not the trusted root (serial {serial_hex(fed.root.cert)})"
    )
    with pytest.raises(UntrustedRoot, match=r"trusted root certificate 540000 .* is not a self"):
        verify_chain(fed.county.cert, [], fed.region.cert, LATER)


@pytest.mark.parametrize("where", ["intermediate", "leaf"])
def test_standard_path_validation_catches_what_we_do_not_name(fed, where):
    unknown = ((x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00"),
                True),)
    region = forge("540000", fed.root, ca=True, path_length=3,
                   extra=unknown if where == "intermediate" else ())
    county = forge("540102", region, extra=unknown if where == "leaf" else ())
    with pytest.raises(StandardPathRejected) as err:
        verify_chain(county.cert, [region.cert], fed.root.cert, LATER)
    assert str(err.value).startswith("X.509 path validation refused certificate 540102")
    assert "unaccounted-for critical extensions" in str(err.value)


def test_trusted_time_must_be_aware(fed):
    with pytest.raises(InputError, match="timezone-aware"):
        verify_chain(fed.county.cert, [fed.region.cert], fed.root.cert, LATER.replace(tzinfo=None))

