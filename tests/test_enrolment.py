"""node.enrolment called directly, without a CLI runner: root, request, issue, install,
rotate, export, revoke on real homes."""

from __future__ import annotations

import os
import stat

import pytest

from node import enrolment
from node.home import Config, Home
from node.maintenance import create_home
from node.store import NodeStore
from pki import certs
from pki.checkpoint import verify_checkpoint
from pki.errors import InputError
from pki.verify import UntrustedRoot


@pytest.fixture(autouse=True)
def _pinned_clock(monkeypatch):
    monkeypatch.setenv("TONGBAN_CLOCK", "2026-03-01T16:00")


def _home(tmp_path, code: str) -> Home:
    home = Home(tmp_path / code)
    create_home(home, Config(division=code, name=f"节点{code}"))
    return home


def _enrol(tmp_path, child: Home, issuer: enrolment.Issuer) -> None:
    request = enrolment.write_csr(child)
    bundle = tmp_path / f"{child.path.name}.pem"
    enrolment.issue(request, bundle, issuer)
    enrolment.install(child, bundle)


def test_offline_root_enrols_a_region_that_enrols_a_county(tmp_path):
    root = enrolment.make_offline_root(tmp_path / "ca")
    assert stat.S_IMODE(os.stat(root.key_path).st_mode) == 0o600
    assert certs.is_self_signed(root.cert)
    region, county = _home(tmp_path, "540000"), _home(tmp_path, "540102")
    _enrol(tmp_path, region, enrolment.file_issuer(root.cert_path, root.key_path, None))
    _enrol(tmp_path, county, enrolment.home_issuer(region))
    chain = county.cert_chain()
    assert [certs.division_of(c) for c in chain.all()] == ["540102", "540000", "000000"]
    assert chain.root == root.cert == county.root_cert()
    assert not county.csr_path.exists()
    assert certs.issued_by(chain.cert, region.cert_chain().cert)
    status = enrolment.chain_status(county)
    assert [c["division"] for c in status.chain] == ["540102", "540000", "000000"]
    assert status.warnings == []


def test_national_home_signs_as_the_root(tmp_path):
    national = _home(tmp_path, "000000")
    root = enrolment.install_root(national)
    assert national.cert_chain().cert == root == national.root_cert()
    with pytest.raises(InputError, match="already exists"):
        enrolment.install_root(national)
    with pytest.raises(InputError, match="needs the national node's home"):
        enrolment.install_root(_home(tmp_path, "540000"))


def test_install_refuses_a_bundle_from_another_root(tmp_path):
    first = enrolment.make_offline_root(tmp_path / "ca1")
    other = enrolment.make_offline_root(tmp_path / "ca2")
    region = _home(tmp_path, "540000")
    _enrol(tmp_path, region, enrolment.file_issuer(first.cert_path, first.key_path, None))
    before = region.cert_path.read_bytes()
    foreign = tmp_path / "foreign.pem"
    enrolment.issue(enrolment.write_csr(region), foreign,
                    enrolment.file_issuer(other.cert_path, other.key_path, None))
    with pytest.raises(UntrustedRoot, match="is not the installed root"):
        enrolment.install(region, foreign)
    assert region.cert_path.read_bytes() == before


def test_rotation_keeps_signing_with_the_old_key_then_exports_with_it(tmp_path):
    root = enrolment.make_offline_root(tmp_path / "ca")
    region = _home(tmp_path, "540000")
    _enrol(tmp_path, region, enrolment.file_issuer(root.cert_path, root.key_path, None))
    old_cert = region.cert_chain().cert
    rotation = enrolment.rotate(region)
    assert rotation.kept.with_name(rotation.kept.name + ".key").exists()
    assert region.old_certs() == [old_cert]
    assert "rotation pending" in enrolment.chain_status(region).warnings[0]
    number, origin = enrolment.revoke(region, "1f", "superseded")
    assert (number, origin) == (0x1F, "540000")
    exported = enrolment.export_latest_checkpoint(region, tmp_path / "export")
    assert exported.size == 1
    note = NodeStore.open(region).log.latest_checkpoint("540000").note
    verify_checkpoint(note, old_cert)  # signed mid-rotation, by the old key
    assert exported.files.signer.read_bytes() == certs.cert_pem(old_cert)


def test_child_requests_must_name_the_sender(tmp_path):
    region, county = _home(tmp_path, "540000"), _home(tmp_path, "540102")
    pem = enrolment.write_csr(county).read_bytes()
    with pytest.raises(InputError, match="may only ask for its own certificate"):
        enrolment.keep_child_requests(region, "540121", [pem])
    assert not (region.path / "requests").exists()
    (saved,) = enrolment.keep_child_requests(region, "540102", [pem])
    assert saved.read_bytes() == pem
