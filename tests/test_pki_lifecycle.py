"""Revocation and key rotation on real node homes, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from node_fixtures import tongban

from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.localfed import Federation
from pki.certs import load_cert, serial_hex
from pki.checkpoint import verify_checkpoint
from pki.errors import VerificationError
from pki.verify import CertificateRevoked, Purpose

ID = "540102199001010011"


@pytest.fixture
def chain(fed_copy: Federation) -> Federation:
    """National, region 540000 and county 540102 with the sample catalogue."""
    return fed_copy


def _apply(home: Path) -> str:
    code = json.loads(tongban("matter", "list", "--json", home=home).stdout)[0]["code"]
    return tongban("case", "apply", "--matter", code, "--applicant", ID, "--name", "n",
                   home=home).stdout.split()[0]


def test_revocation_is_a_record_and_verifiers_refuse_the_certificate(chain):
    region, county = chain.nodes["540000"].home, chain.nodes["540102"].home
    serial = serial_hex(load_cert((county / "node.crt").read_bytes()))
    out = tongban("pki", "revoke", serial, "--reason", "keyCompromise", home=region).stdout
    assert out.strip() == f"revoked serial {serial} (keyCompromise) in the log of 540000"
    store = NodeStore.open(Home(region))
    try:
        rows = store.db.execute("SELECT origin, serial_hex, reason FROM revocations").fetchall()
        assert rows == [("540000", serial, "keyCompromise")]
        replica = build(store)
        county_cert = load_cert((county / "node.crt").read_bytes())
        with pytest.raises(CertificateRevoked):
            replica.receiver.verify_peer(county_cert, replica.chain, Purpose.SIGNING)
    finally:
        store.close()


def test_bad_revocation_input_is_refused(chain):
    region = chain.nodes["540000"].home
    bad = tongban("pki", "revoke", "xyz", "--reason", "keyCompromise", home=region, check=False)
    assert bad.returncode == 1 and "bad serial 'xyz'" in bad.stderr
    reason = tongban("pki", "revoke", "1f", "--reason", "whim", home=region, check=False)
    assert reason.returncode == 1 and "bad revocation reason 'whim'" in reason.stderr


def test_rotation_keeps_signing_and_old_checkpoints_stay_verifiable(chain):
    county = chain.nodes["540102"].home
    _apply(county)
    old_cert = load_cert((county / "node.crt").read_bytes())
    tongban("pki", "rotate", home=county)
    _apply(county)  # the window keeps working while the new certificate is on its way
    store = NodeStore.open(Home(county))
    try:
        store.ensure_checkpoint()  # the tail is signed when it is about to leave the node
        during = store.log.latest_checkpoint("540102").note
    finally:
        store.close()
    verify_checkpoint(during, old_cert)
    issued = chain.root / "rotated.pem"
    tongban("pki", "issue", str(county / "node.csr"), "--out", str(issued),
            home=chain.nodes["540000"].home)
    tongban("pki", "import", str(issued), home=county)
    _apply(county)
    new_cert = load_cert((county / "node.crt").read_bytes())
    store = NodeStore.open(Home(county))
    try:
        store.ensure_checkpoint()
        after = store.log.latest_checkpoint("540102").note
    finally:
        store.close()
    verify_checkpoint(after, new_cert)
    with pytest.raises(VerificationError):
        verify_checkpoint(after, old_cert)
    verify_checkpoint(during, old_cert)
