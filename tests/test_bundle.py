"""Sneakernet bundles with the real CLI: export, import with reply, re-import, damage, mixing,
and encryption: nothing personal readable on the stick, tampering refused, the right key only."""

from __future__ import annotations

import gzip
import json
import random
import stat
import zlib

import pytest
from cryptography.hazmat.primitives import serialization
from node_fixtures import tongban

from node.audits import keyring
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
from pki import envelope
from pki.suite import P256
from sync import bundle as bundles

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


def contents(path, home):
    """The Bundle inside ``path``, decrypted with ``home``'s key as an import does."""
    sealed = bundles.read(path.read_bytes(), "bundle")
    return bundles.open_contents(sealed, keyring(Home(home)).key_for(sealed, "bundle"), "bundle")


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
    from sync.frontier import verify_standalone

    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 40)
    first, second = tmp_path / "1.tbb", tmp_path / "2.tbb"
    export(county, first)
    tongban("bundle", "import", str(first), "--reply", str(tmp_path / "r.tbb"), home=region)
    tongban("bundle", "import", str(tmp_path / "r.tbb"), home=county)
    add_events(county, 12000, per_write=2000)
    export(county, second)
    bundle = contents(second, region)
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


def _refused(region, bad, blob, expect):
    bad.write_bytes(blob)
    result = tongban("bundle", "import", str(bad), home=region, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0], lines


def test_damaged_bundle_is_refused_in_one_line_and_changes_nothing(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 200)
    good = tmp_path / "good.tbb"
    export(county, good)
    data = good.read_bytes()
    sealed = bundles.read(data, "bundle")
    before = snapshot(region)
    bad = tmp_path / "bad.tbb"
    signature_fails = "signature by 540102 does not verify"
    # header fields: created_ms, the wrapped key, then the ciphertext and the signature
    for position in (57, sealed.segments_at - 5, sealed.segments_at + 3,
                     (sealed.segments_at + sealed.signed_end) // 2, sealed.signed_end - 1):
        _refused(region, bad, _flip(data, position), signature_fails)
    _refused(region, bad, _flip(data, len(data) - 3), signature_fails)  # in the signature
    _refused(region, bad, _flip(data, 9), "unknown cipher suite")
    _refused(region, bad, _flip(data, 0), "not a tongban bundle")
    for cut in (data[: len(data) // 2], data[:-4], data[:30], b""):
        _refused(region, bad, cut, "malformed bundle")
    _refused(region, bad, data + b"\0", "1 bytes after the signature")
    assert snapshot(region) == before


def test_an_unencrypted_version_1_bundle_is_refused_by_name(fed, tmp_path):
    region = fed.nodes[REGION].home
    old = tmp_path / "old.tbb"
    _refused(region, old, gzip.compress(b"\x0a\x06540102", mtime=0),
             "an unencrypted version-1 bundle (gzip); this tongban reads only encrypted "
             "version-2 bundles")


def _reseal(signed: bytes, key) -> bytes:
    signature = P256.sign(key, signed)
    return signed + len(signature).to_bytes(2, "big") + signature


def _sealed(fed, content: bytes, *, signer: str = COUNTY, to: str = REGION) -> bytes:
    """``content`` in a bundle file from the county to the region, as an export seals it."""
    chain = Home(fed.nodes[COUNTY].home).cert_chain()
    return envelope.seal(content, sender=COUNTY, recipient=REGION,
                         recipient_cert=Home(fed.nodes[to].home).cert_chain().cert,
                         chain=[chain.cert, *chain.intermediates],
                         signing_key=Home(fed.nodes[signer].home).signing_key(),
                         created_ms=1_800_000_000_000)


def test_reordered_or_dropped_segments_fail_even_when_signed_again(fed, tmp_path):
    """The sender's own key re-signing a spliced file: the segments' nonces still catch it."""
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    data = _sealed(fed, random.Random(7).randbytes(3 * envelope.SEGMENT_BYTES - 100))
    sealed = bundles.read(data, "bundle")
    step = envelope.SEGMENT_BYTES + envelope.TAG_BYTES
    head, body = data[:sealed.segments_at], data[sealed.segments_at:sealed.signed_end]
    first, second, rest = body[:step], body[step:2 * step], body[2 * step:]
    assert len(rest) > envelope.TAG_BYTES, "want three segments"
    key = Home(county).signing_key()
    bad = tmp_path / "bad.tbb"
    before = snapshot(region)
    _refused(region, bad, _reseal(head + second + first + rest, key),
             "segment 0 of 3 does not authenticate (changed, cut or reordered)")
    _refused(region, bad, _reseal(head + first + first + rest, key),
             "segment 1 of 3 does not authenticate")
    # cut after two segments, the header's size cut to match: the header no longer unwraps
    short = bytearray(head)
    short[62:70] = (2 * envelope.SEGMENT_BYTES).to_bytes(8, "big")
    _refused(region, bad, _reseal(bytes(short) + first + second, key),
             "the file key does not unwrap")
    assert snapshot(region) == before


def test_changed_content_signed_by_someone_else_fails_the_signature(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 10)
    good = tmp_path / "good.tbb"
    export(county, good)
    bundle = contents(good, region)
    bundle.created_ms += 1
    # anyone can encrypt to the region; only the county can sign as the county
    forged = tmp_path / "forged.tbb"
    forged.write_bytes(_sealed(fed, bundle.SerializeToString(), signer="000000"))
    before = snapshot(region)
    result = tongban("bundle", "import", str(forged), home=region, check=False)
    assert result.returncode == 1
    assert "signature by 540102 does not verify" in result.stderr
    assert snapshot(region) == before


def test_nothing_personal_is_readable_on_the_stick(fed, tmp_path):
    """The applicant's ID number and name, and the clerk's name, appear nowhere in the raw
    bytes of either direction's bundle, nor in anything that inflates from any offset."""
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 40)
    tongban("case", "list", home=county)
    up, down = tmp_path / "up.tbb", tmp_path / "down.tbb"
    export(county, up)
    tongban("bundle", "import", str(up), "--reply", str(down), home=region)
    secrets = [b"540102199001010011", "扎西".encode(), "次仁".encode()]
    assert any(s in bundles.open_contents(bundles.read(up.read_bytes(), "b"),
                                          keyring(Home(region)).keys[0], "b").SerializeToString()
               for s in secrets[:1]), "the test must look for what the bundle really carries"
    for path in (up, down):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_bytes()
        for found in [raw, *_inflations(raw)]:
            for secret in secrets:
                assert secret not in found, (path.name, secret)


def _inflations(raw: bytes):
    """Whatever gzip, zlib or raw deflate yields from any offset of ``raw``."""
    for at in range(len(raw)):
        for wbits in (31, 15, -15):
            try:
                out = zlib.decompressobj(wbits).decompress(raw[at:], 1 << 20)
            except zlib.error:
                continue
            if out:
                yield out


def test_a_bundle_encrypted_to_a_key_the_node_never_held_is_refused(fed, tmp_path):
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 4)
    good = tmp_path / "good.tbb"
    export(county, good)
    other = _sealed(fed, contents(good, region).SerializeToString(), to=COUNTY)
    _refused(region, tmp_path / "other.tbb", other,
             "is encrypted to a certificate of 540000 this node never held")


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


def test_a_parent_that_rotated_its_key_opens_old_bundles_and_gets_new_ones(fed, tmp_path):
    """The county, offline, encrypts to the region's old certificate; the region, rotated,
    opens it with the old key it keeps; the reply teaches the county the new certificate,
    and its next bundle is encrypted to that."""
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    old = Home(region).cert_chain().cert
    tongban("pki", "rotate", home=region)
    issued = tmp_path / "rotated.pem"
    tongban("pki", "issue", str(region / "node.csr"), "--out", str(issued),
            home=fed.nodes["000000"].home)
    tongban("pki", "import", str(issued), home=region)
    new = Home(region).cert_chain().cert
    add_events(county, 20)
    up, down, again = tmp_path / "up.tbb", tmp_path / "down.tbb", tmp_path / "again.tbb"
    export(county, up)
    assert bundles.read(up.read_bytes(), "b").recipient_fp == envelope.fingerprint(old)
    out = tongban("bundle", "import", str(up), "--reply", str(down), home=region).stdout
    assert f"from {COUNTY}: {size(county, COUNTY)} new records" in out
    assert bundles.read(down.read_bytes(), "b").chain_der[0] == new.public_bytes(
        serialization.Encoding.DER)
    tongban("bundle", "import", str(down), home=county)
    export(county, again)
    assert bundles.read(again.read_bytes(), "b").recipient_fp == envelope.fingerprint(new)
    tongban("bundle", "import", str(again), home=region)
