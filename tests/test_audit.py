"""The audit on untampered data (no false alarms), its tree engine, and the CLI contract."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from audit_fixtures import (
    COUNTIES,
    REGION,
    ROUND1,
    build,
    make_home,
    national_keyring,
    seal_bundle,
    write_bundle,
)
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pki_fixtures import make_root

from node.cli import cli
from node.store import NodeStore
from node.wiring import build as build_replica
from pki import envelope
from pki.certs import cert_pem
from sync import bundle as bundle_io
from sync import merkle
from sync.audit import audit_path
from sync.audit.report import Report
from sync.audit.tree import scan

COUNTY = COUNTIES[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build(tmp_path_factory.mktemp("fed") / "fed")


@pytest.fixture
def fed(template, tmp_path):
    return template.copy_to(tmp_path / "fed")


def tongban(*args: str):
    return CliRunner().invoke(cli, list(args), env={"TONGBAN_CLOCK": ""})


def test_replicated_database_verifies_clean(template):
    seen = []
    report = audit_path(template.db_path(), template.root.cert, datetime.now(UTC),
                        progress=lambda done, total: seen.append((done, total)))
    assert report.ok, report.text()
    assert set(report.origins) == {REGION, *COUNTIES}
    assert report.origins[COUNTY].receipts == 2
    assert report.origins[COUNTY].unconfirmed == 0  # both stored checkpoints were cosigned
    assert seen[-1][0] == seen[-1][1] == report.records()


def test_county_home_verifies_clean_through_the_cli(template):
    result = tongban("audit", "verify", str(template.home(COUNTY).path), "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["ok"] and doc["problems"] == []
    # a county signs the catalogue and its staff register at once and its case events at
    # the store's cadence, always before a sync: catalogue; staff; round one's tail; round
    # two's apply (a day after the newest checkpoint, so due) and its tail. The region
    # cosigned the newest after each round: 5 - 2 unconfirmed
    assert {k: doc["origins"][COUNTY][k] for k in ("records", "checkpoints", "receipts",
                                                   "unconfirmed")} == {
        "records": 8, "checkpoints": 5, "receipts": 2, "unconfirmed": 3}


def test_fixture_bundle_from_mid_log_verifies_clean(template, tmp_path):
    path = write_bundle(template, tmp_path / "b.tbb", {COUNTY: 3, COUNTIES[1]: 5})
    report = audit_path(path, template.root.cert, datetime.now(UTC),
                        keyring=national_keyring(template))
    assert report.ok, report.text()
    assert report.unreadable is None
    assert report.origins[COUNTY].records == 5


def test_someone_elses_bundle_checks_the_sender_and_says_it_cannot_read_it(template, tmp_path):
    path = write_bundle(template, tmp_path / "b.tbb")
    report = audit_path(path, template.root.cert, datetime.now(UTC))
    assert report.ok and report.records() == 0, report.text()
    fingerprint = envelope.fingerprint(template.root.cert).hex()[:16]
    assert report.unreadable == (f"encrypted to 000000 (certificate sha256 {fingerprint}…); "
                                 "no --home with that node's key was given")
    assert "cannot read the contents: encrypted to 000000" in report.text()
    # a forged signature is still found without the key
    bundle = bundle_io.open_contents(bundle_io.read(path.read_bytes(), "b"),
                                     template.root.key, "b")
    seal_bundle(template, bundle, path, signer=template.counties[COUNTY])
    report = audit_path(path, template.root.cert, datetime.now(UTC))
    assert [f.check for f in report.problems] == ["bundle-signature"]


def test_bundle_made_by_the_bundle_module_verifies_clean(fed, tmp_path):
    store = NodeStore.open(fed.home(REGION))
    try:
        replica = build_replica(store)
        blob = bundle_io.encode(bundle_io.export_for_parent(replica, "000000"), replica,
                                bundle_io.parent_certificate(replica))
    finally:
        store.close()
    path = tmp_path / "up.bundle"
    path.write_bytes(blob)
    national = make_home(tmp_path, fed.root, [], fed.root)
    result = tongban("audit", "verify", str(path), "--home", str(national.path))
    assert result.exit_code == 0, result.output
    assert "verified: 2 origins, 16 records" in result.output  # the counties; 540000 was cosigned
    # without the recipient's key: the sender only, one line saying so, exit 0
    result = tongban("audit", "verify", str(path), "--root", str(fed.root_pem),
                     "--home", str(fed.home(REGION).path))
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("cannot read")]
    assert line.startswith("cannot read the contents: encrypted to 000000 (certificate sha256 ")
    assert line.endswith(f"{path} is for 000000, not for this node {REGION}; checked the "
                         "sender's signature and certificate chain only")
    assert "verified (the sender only): 0 origins, 0 records, 0 problems" in result.output
    doc = json.loads(tongban("audit", "verify", str(path), "--root", str(fed.root_pem),
                             "--json").output)
    assert doc["ok"] is True and doc["contents_unreadable"].startswith("encrypted to 000000")


def test_tampered_database_exits_1_and_lists_origin_and_seq(fed):
    import sqlite3
    db = sqlite3.connect(fed.db_path())
    with db:
        db.execute("DELETE FROM records WHERE origin = ? AND seq = 4", (COUNTY,))
    db.close()
    result = tongban("audit", "verify", str(fed.db_path()), "--root", str(fed.root_pem))
    assert result.exit_code == 1
    assert f"{COUNTY}   #4        gap: no record at seq 4" in result.output
    assert "NOT verified" in result.output


def test_could_not_run_exits_2(fed, tmp_path):
    assert tongban("audit", "verify", str(fed.db_path())).exit_code == 2  # no root
    assert tongban("audit", "verify", str(tmp_path / "missing.db"), "--root",
                   str(fed.root_pem)).exit_code == 2
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(64))
    result = tongban("audit", "verify", str(junk), "--root", str(fed.root_pem))
    assert result.exit_code == 2 and "neither a node database" in result.output
    bad_root = tmp_path / "root.pem"
    bad_root.write_text("not a certificate")
    assert tongban("audit", "verify", str(fed.db_path()), "--root",
                   str(bad_root)).exit_code == 2


def test_case_proof_round_trip_on_a_machine_that_knows_only_the_root(fed, tmp_path):
    case = fed.cases[COUNTY][0]
    out = tmp_path / "case.json"
    made = tongban("audit", "prove", "--case", case, "--out", str(out),
                   "--home", str(fed.home(REGION).path))
    assert made.exit_code == 0, made.output
    alone = tmp_path / "auditor"
    alone.mkdir()
    (alone / "root.pem").write_bytes(cert_pem(fed.root.cert))
    checked = tongban("audit", "check", str(out), "--root", str(alone / "root.pem"), "--json")
    assert checked.exit_code == 0, checked.output
    doc = json.loads(checked.output)
    assert doc["case"] == case
    assert [e["action"] for e in doc["events"]] == ["apply", "accept"]
    # the case's two events were first cosigned by the region in round one, at size 6
    assert [(x["origin"], x["size"], x["trusted_time"]) for x in doc["logs"]] == [
        (COUNTY, 6, ROUND1.isoformat())]
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(cert_pem(make_root().cert))
    assert tongban("audit", "check", str(out), "--root", str(stranger)).exit_code == 1


def test_prove_unknown_case_is_refused(fed, tmp_path):
    result = tongban("audit", "prove", "--case", "540102-2026-9999999", "--out",
                     str(tmp_path / "x.json"), "--home", str(fed.home(COUNTY).path))
    assert result.exit_code == 1 and "no case 540102-2026-9999999" in result.output


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_scan_roots_match_rfc9162(size, data):
    records = [i.to_bytes(4, "big") for i in range(size)]
    leaves = [merkle.leaf_hash(r) for r in records]
    first = data.draw(st.integers(0, size - 1))
    targets = set(data.draw(st.lists(st.integers(first, size), max_size=5))) | {size}
    prefix, start = [], 0
    for level in range(first.bit_length() - 1, -1, -1):
        if first >> level & 1:
            prefix.append(merkle.hash_tree(leaves[start:start + (1 << level)]))
            start += 1 << level
    rows = [(first + i, None, r) for i, r in enumerate(records[first:])]
    result = scan("540102", [rows], targets, Report("t", "test"), first, prefix)
    for t in targets:
        assert result.roots[t] == merkle.hash_tree(leaves[:t])
