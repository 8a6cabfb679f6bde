"""Times from the future (issue 11): `audit verify` flags them; none becomes the trusted time.

Real signed records and receipts: the counties write through their NodeStore
under a pinned clock (a drill home), the region's real key cosigns, and the
audit runs over the databases as they are.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from audit_fixtures import COUNTIES, NOW, REGION, ROUND2, build, county_round, pinned_clock
from audit_fixtures import replicate as push_and_cosign

from node.store import NodeStore
from pki.checkpoint import make_receipt
from sync.audit import audit_path, caseproof
from sync.audit.report import Report

COUNTY = COUNTIES[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    # county certificates end a day from now: a trusted time in a month would fail them
    return build(tmp_path_factory.mktemp("fed") / "fed", county_days=31)


@pytest.fixture
def fed(template, tmp_path):
    return template.copy_to(tmp_path / "fed")


def checks(report: Report, origin: str = COUNTY) -> list[tuple[str, int | None]]:
    return sorted((f.check, f.seq) for f in report.problems if f.origin == origin)


def _newest(path) -> tuple[int, bytes]:
    db = sqlite3.connect(path)
    row = db.execute("SELECT size, note FROM checkpoints WHERE origin = ? ORDER BY size DESC"
                     " LIMIT 1", (COUNTY,)).fetchone()
    db.close()
    return row


def _only_receipt_from_the_future(fed, path, at: datetime) -> int:
    """Replace every receipt of the county's newest checkpoint by one of the region dated
    ``at``: really signed with the region's key, inside the region's validity."""
    size, note = _newest(path)
    receipt = make_receipt(note, fed.region.key, REGION, at)
    db = sqlite3.connect(path)
    with db:
        db.execute("DELETE FROM receipts WHERE origin = ? AND size = ?", (COUNTY, size))
        db.execute("INSERT INTO receipts (origin, size, cosigner, time_ms, note)"
                   " VALUES (?, ?, ?, ?, ?)",
                   (COUNTY, size, REGION, receipt.time * 1000, receipt.to_bytes()))
    db.close()
    return size


def test_the_template_is_clean(fed):
    for code in (REGION, COUNTY):
        report = audit_path(fed.db_path(code), fed.root.cert, datetime.now(UTC))
        assert report.ok, report.text()


def test_a_receipt_from_the_future_is_flagged_and_never_the_trusted_time(fed):
    path = fed.db_path(REGION)
    size = _only_receipt_from_the_future(fed, path, NOW + timedelta(days=20))
    report = audit_path(path, fed.root.cert, datetime.now(UTC))
    # Judged at the future receipt, the county's certificate (ending tomorrow) would have
    # expired: the only finding is the receipt itself, and the checkpoint is unconfirmed.
    assert checks(report) == [("future-receipt", size)], report.text()
    (finding,) = [f for f in report.problems if f.check == "future-receipt"]
    assert f"dated {(NOW + timedelta(days=20)).strftime('%Y-%m-%d %H:%M')} UTC" in finding.reason
    assert report.origins[COUNTY].unconfirmed == 1
    # At an audit clock past that day the receipt is no longer in the future.
    later = audit_path(path, fed.root.cert, NOW + timedelta(days=21))
    assert ("future-receipt", size) not in checks(later)


def test_a_case_proof_does_not_trust_a_receipt_from_the_future(fed):
    county = fed.home(COUNTY)
    _only_receipt_from_the_future(fed, county.db_path, NOW + timedelta(days=20))
    store = NodeStore.open(county)
    try:
        refs = store.db.execute("SELECT origin, seq FROM case_events WHERE case_no = ?",
                                (fed.cases[COUNTY][-1],)).fetchall()
        data = caseproof.prove(store.db, refs, fed.cases[COUNTY][-1], [fed.region.cert])
    finally:
        store.close()
    (log,) = caseproof.check(data, fed.root.cert, datetime.now(UTC)).logs
    assert log.trusted_time is None
    assert log.future_receipts == (
        f"{REGION} at {(NOW + timedelta(days=20)).strftime('%Y-%m-%d %H:%M')} UTC",)
    assert json.loads(data)["logs"][0]["receipts"]  # the receipt is in the proof all the same


def _write_case_at(fed, at: datetime) -> int:
    """One more case at the county, written with its clock at ``at``; returns the last seq."""
    with pinned_clock(at):
        store = NodeStore.open(fed.home(COUNTY))
        try:
            county_round(store, first=False)
            store.ensure_checkpoint()
            return store.log.size(COUNTY) - 1
        finally:
            store.close()


def test_records_dated_after_the_audit_clock_are_flagged(fed):
    last = _write_case_at(fed, NOW + timedelta(days=2))
    path = fed.db_path(COUNTY)
    report = audit_path(path, fed.root.cert, datetime.now(UTC))
    assert checks(report) == [("future-record", last - 1), ("future-record", last)], \
        report.text()
    assert "after the audit's clock" in report.problems[0].reason
    later = audit_path(path, fed.root.cert, NOW + timedelta(days=3))
    assert [c for c, _ in checks(later) if c == "future-record"] == []


def test_records_dated_after_their_earliest_receipt_are_flagged(fed):
    # The county's clock ran a day ahead: records dated now, cosigned by the region a day
    # earlier (the receipt is the region's word that it held them then).
    last = _write_case_at(fed, NOW)
    push_and_cosign(fed, COUNTY, ROUND2 + timedelta(hours=1))
    for code in (REGION, COUNTY):
        report = audit_path(fed.db_path(code), fed.root.cert, NOW + timedelta(hours=1))
        # both records of the case are dated after it; the first of the latest is named
        assert checks(report) == [("after-receipt", last - 1)], report.text()
        assert "after the earliest ancestor receipt" in report.problems[0].reason
