"""Exact CLI output, as an operator sees it, for the reporting commands.

Data and clock are fixed ($TONGBAN_CLOCK), so case numbers, dates and working
days are exact. Only what no test can fix is normalised, each by name: tmp
paths, ports, key serials (fresh keys every session), wall-clock times the
link records, and the throughput it measures.
"""

from __future__ import annotations

import re

import pytest
from node_fixtures import ID_OK, make_node, tongban

from ops.fedcheck import COUNTY, REGION, copy_federation

BIRTH = ("出生医学证明", "父母居民户口簿", "父母居民身份证", "父母结婚证")
PENSION = ("居民身份证或户口簿", "城乡居民基本养老保险参保登记表")


def at(clock: str) -> dict:
    """The pinned clock, and a fixed OS login (getpass reads $LOGNAME first)."""
    return {"TONGBAN_CLOCK": clock, "LOGNAME": "czb"}


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """A county whose every record was written under the pinned clock."""
    home = make_node(tmp_path_factory.mktemp("golden"), env=at("2026-11-02T09:00"))

    def apply(clock, matter, applicant, name, materials):
        args = ["case", "apply", "--matter", matter, "--applicant", applicant, "--name", name,
                "--actor", "窗口01", *[a for m in materials for a in ("--material", m)]]
        return tongban(*args, home=home, env=at(clock)).stdout.split()[0]

    birth = apply("2026-11-02T10:00", "540102-QR-002", ID_OK, "扎西", BIRTH)
    tongban("case", "accept", birth, "--actor", "窗口02", home=home, env=at("2026-11-02T11:30"))
    apply("2026-11-02T10:15", "540102-GG-002", "540102199003070018", "卓玛", PENSION)
    return home


def test_case_list(county):
    out = tongban("case", "list", home=county, env=at("2026-11-04T09:00")).stdout
    assert out == (
        "case                 state  applicant  matter         due         days left\n"
        "540102-2026-0000034  受理   扎西       540102-QR-002  2026-11-03  -1         OVERDUE\n"
        "540102-2026-0000036  申请   卓玛       540102-GG-002  -           -\n"
        "2 cases\n")


def test_case_show_with_history(county):
    out = tongban("case", "show", "540102-2026-0000034", "--history", home=county,
                  env=at("2026-11-04T09:00")).stdout
    assert out == (
        "case_no              540102-2026-0000034\n"
        "state_label          受理\n"
        "matter_code          540102-QR-002\n"
        "matter_version       1\n"
        "applicant_name       扎西\n"
        "applicant_id         540102199001010011\n"
        "channel              window\n"
        "materials            ['出生医学证明', '父母居民户口簿', '父母居民身份证', '父母结婚证']\n"
        "due                  2026-11-03\n"
        "remaining_workdays   -1\n"
        "allowed_actions      ['request-supplement', 'review', 'withdraw', 'suspend']\n"
        "time              node    action  actor   login  state     details\n"
        "2026-11-02 10:00  540102  apply   窗口01  czb    applied   matter_code=540102-QR-002"
        " matter_version=1 applicant_id=540102199001010011 applicant_name=扎西 channel=window"
        " materials=['出生医学证明', '父母居民户口簿', '父母居民身份证', '父母结婚证']"
        " limit_days=1\n"
        "2026-11-02 11:30  540102  accept  窗口02  czb    accepted\n")


def normalised(text: str, fed) -> str:
    text = text.replace(str(fed.root), "FED")
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"serial [0-9a-f]+", "serial SERIAL", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "TIME", text)
    text = re.sub(r"throughput( +)[0-9.]+ kbit/s", r"throughput\1RATE kbit/s", text)
    text = re.sub(r"\([0-9.]+ kbit/s before gzip\)", "(RATE kbit/s before gzip)", text)
    text = re.sub(r"parent clock( +)[-+]?\d+s", r"parent clock\1Ns", text)
    return re.sub(r"since last receipt \d+s", "since last receipt Ns", text)


@pytest.fixture(scope="module")
def synced(fed_template, tmp_path_factory):
    """The enrolled county after one sync with its region."""
    fed = copy_federation(fed_template, tmp_path_factory.mktemp("golden-fed") / "fed")
    fed.start(REGION)
    try:
        fed.sync(COUNTY)
    finally:
        fed.stop_all()
    return fed


def test_status_of_a_county_and_of_its_region(synced):
    county = tongban("status", home=synced.nodes[COUNTY].home).stdout
    assert normalised(county, synced) == (
        "node 540102 城关区\n"
        "link to 540000 at 127.0.0.1:PORT: up\n"
        "  last success     TIME\n"
        "  last attempt     TIME\n"
        "  throughput       RATE kbit/s on the wire (RATE kbit/s before gzip)\n"
        "  parent clock     Ns from ours\n"
        "  newest receipt   size 34 at TIME\n"
        "  since last receipt Ns\n"
        "  waiting          0 records, 0 bytes\n")
    region = tongban("status", home=synced.nodes[REGION].home).stdout
    assert normalised(region, synced) == (
        "node 540000 西藏自治区\n"
        "no parent link (top of the federation, or not configured)\n"
        "node    records  checkpoint  last seen\n"
        "540102  34       34          TIME\n")


def test_audit_verify_of_a_county_and_of_its_region(synced):
    county, region = synced.nodes[COUNTY].home, synced.nodes[REGION].home
    out = tongban("audit", "verify", str(county)).stdout
    assert normalised(out, synced) == (
        "root: 000000 serial SERIAL\n"
        "audit of FED/540102/node.db (database)\n"
        "  origin 540000: 8 records, 1 checkpoints (newest size 8), 0 receipts,"
        " 1 unconfirmed (judged at now)\n"
        "  origin 540102: 34 records, 7 checkpoints (newest size 34), 1 receipts,"
        " 6 unconfirmed (judged at now)\n"
        "verified: 2 origins, 42 records, 0 problems, 0 forks\n")
    out = tongban("audit", "verify", str(region / "node.db"), "--root",
                  str(county / "root.crt")).stdout
    assert normalised(out, synced) == (
        "root: 000000 serial SERIAL\n"
        "audit of FED/540000/node.db (database)\n"
        "  origin 540000: 8 records, 8 checkpoints (newest size 8), 0 receipts,"
        " 8 unconfirmed (judged at now)\n"
        "  origin 540102: 34 records, 1 checkpoints (newest size 34), 1 receipts\n"
        "verified: 2 origins, 42 records, 0 problems, 0 forks\n")
