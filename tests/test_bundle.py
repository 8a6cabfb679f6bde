"""Sneakernet bundles with the real CLI: export, import with reply, re-import, damage, mixing."""

from __future__ import annotations

import gzip
import json

import pytest
from node_fixtures import tongban

from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import (
    COUNTY,
    REGION,
    add_events,
    assert_same_log,
    copy_federation,
    records,
    size,
    table_rows,
    verify_logs,
)
from protos.tongban.v1 import federation_pb2

TRUTH = ("records", "checkpoints", "receipts", "node_certs", "tree_nodes")


@pytest.fixture
def fed(fed_template, tmp_path):
    return copy_federation(fed_template, tmp_path / "fed")


def snapshot(home):
    """The truth tables, after opening the replica once (which files the node's own chain)."""
    store = NodeStore.open(Home(home))
    build(store)
    store.close()
    return {t: table_rows(home, t) for t in (*TRUTH, "quarantine")}


def export(home, out):
    return tongban("bundle", "export", "--for-parent", "--out", str(out), home=home)


def test_round_trip_moves_records_up_receipts_and_ancestor_records_down(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 300)
    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"
    assert "records in" in export(county, up).stdout
    out = tongban("bundle", "import", str(up), "--reply", str(down), home=region).stdout
    assert f"from {COUNTY}: {size(county, COUNTY)} new records, 1 receipts" in out
    assert_same_log(county, region, COUNTY)

    out = tongban("bundle", "import", str(down), home=county).stdout
    assert f"from {REGION}: {size(region, REGION)} new records, 1 receipts" in out
    assert_same_log(county, region, REGION)
    verify_logs(county)
    verify_logs(region)
    receipts = [r for r in table_rows(county, "receipts") if r[1] == COUNTY]
    assert [(r[2], r[3]) for r in receipts] == [(size(county, COUNTY), REGION)]
    status = json.loads(tongban("status", "--json", home=county).stdout)
    assert status["waiting_records"] == 0
    # The region's catalogue item arrived with the region's records and was projected.
    assert tongban("matter", "show", "540000-GF-001", home=county).returncode == 0


def test_batches_carry_a_prefix_frontier_an_auditor_can_check(fed, tmp_path):
    from pki.checkpoint import parse_note
    from sync.bundle import decode
    from sync.frontier import verify_standalone

    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 40)
    first, second = tmp_path / "1.tbb", tmp_path / "2.tbb"
    export(county, first)
    tongban("bundle", "import", str(first), "--reply", str(tmp_path / "r.tbb"), home=region)
    tongban("bundle", "import", str(tmp_path / "r.tbb"), home=county)
    add_events(county, 12000, per_write=2000)
    export(county, second)
    bundle, _, _ = decode(second.read_bytes(), "bundle")
    batches = [b for b in bundle.batches if b.records]
    assert len(batches) > 1, "want a multi-batch bundle"
    assert batches[0].first_seq == size(county, COUNTY) - 12000
    for batch in batches:
        assert len(batch.prefix_frontier) == batch.first_seq.bit_count()
        checkpoint, _ = parse_note(batch.checkpoint)
        verify_standalone(batch.first_seq, list(batch.prefix_frontier), list(batch.records),
                          list(batch.consistency_proof), checkpoint)
    held = [b for b in bundle.batches if not b.records]
    assert [(b.origin, b.first_seq) for b in held] == [(REGION, size(county, REGION))]


def test_importing_again_or_an_older_bundle_changes_nothing(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 20)
    old, new = tmp_path / "old.tbb", tmp_path / "new.tbb"
    export(county, old)
    add_events(county, 20)
    export(county, new)
    tongban("bundle", "import", str(new), "--reply", str(tmp_path / "r1.tbb"), home=region)
    after_new = snapshot(region)
    out = tongban("bundle", "import", str(new), "--reply", str(tmp_path / "r2.tbb"),
                  home=region).stdout
    assert ": 0 new records" in out
    assert snapshot(region) == after_new
    # The older bundle adds no record; its older (consistent) checkpoint may be kept and
    # cosigned, which is more evidence, not a change to any log.
    out = tongban("bundle", "import", str(old), home=region).stdout
    assert ": 0 new records" in out
    later = snapshot(region)
    for table in ("records", "tree_nodes", "node_certs"):
        assert later[table] == after_new[table]
    assert set(after_new["checkpoints"]) <= set(later["checkpoints"])
    verify_logs(region)

    tongban("bundle", "import", str(tmp_path / "r1.tbb"), home=county)
    after_reply = snapshot(county)
    tongban("bundle", "import", str(tmp_path / "r2.tbb"), home=county)
    tongban("bundle", "import", str(tmp_path / "r1.tbb"), home=county)
    assert snapshot(county) == after_reply


def _flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x10]) + data[position + 1:]


def test_damaged_bundle_is_refused_in_one_line_and_changes_nothing(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 200)
    good = tmp_path / "good.tbb"
    export(county, good)
    data = good.read_bytes()
    before = snapshot(region)
    bad = tmp_path / "bad.tbb"
    # Deflate body and trailer (header bytes such as mtime are not covered by gzip's CRC).
    damaged = [_flip(data, p) for p in (12, len(data) // 3, len(data) // 2, len(data) - 5)]
    damaged += [data[: len(data) // 2], data[:-4], b""]
    for blob in damaged:
        bad.write_bytes(blob)
        result = tongban("bundle", "import", str(bad), home=region, check=False)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: malformed bundle"), lines
    assert snapshot(region) == before


def test_changed_content_with_valid_framing_fails_the_signature(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 10)
    good = tmp_path / "good.tbb"
    export(county, good)
    signed = federation_pb2.SignedBundle.FromString(gzip.decompress(good.read_bytes()))
    bundle = federation_pb2.Bundle.FromString(signed.bundle)
    bundle.created_ms += 1
    signed.bundle = bundle.SerializeToString()
    forged = tmp_path / "forged.tbb"
    forged.write_bytes(gzip.compress(signed.SerializeToString()))
    before = snapshot(region)
    result = tongban("bundle", "import", str(forged), home=region, check=False)
    assert result.returncode == 1
    assert "signature by 540102 does not verify" in result.stderr
    assert snapshot(region) == before


def test_bundle_for_someone_else_is_refused(fed, tmp_path):
    county, national = fed.nodes[COUNTY].home, fed.nodes["000000"].home
    add_events(county, 4)
    up = tmp_path / "up.tbb"
    export(county, up)
    result = tongban("bundle", "import", str(up), home=national, check=False)
    assert result.returncode == 1
    assert "is for 540000, not for this node 000000" in result.stderr
    # A child cannot feed its own bundle back to itself as if from the parent.
    result = tongban("bundle", "import", str(up), home=county, check=False)
    assert result.returncode == 1


def test_bundle_then_network_sync_resends_nothing(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 300)
    up = tmp_path / "up.tbb"
    export(county, up)
    tongban("bundle", "import", str(up), home=region)
    fed.start(REGION)
    try:
        out = fed.sync(COUNTY).stdout
        assert "pushed 0 records" in out and "pulled" in out
        add_events(county, 10)
        out = fed.sync(COUNTY).stdout
        assert "pushed 10 records" in out
    finally:
        fed.stop_all()
    assert_same_log(county, region, COUNTY)
    assert_same_log(county, region, REGION)
    # After the network receipt, the next bundle carries nothing of the own log.
    again = tmp_path / "again.tbb"
    assert "0 records in 0 batches" in export(county, again).stdout
    assert len(records(county, COUNTY)) == size(region, COUNTY)
