"""The tamper suite: every way an attacker could edit a node database or a proof, detected.

Each test edits a copy of a real replicated database (the region's node.db,
holding the counties' logs as they arrived through the Receiver) directly with
SQL, the way an attacker with the file would, then checks that the audit names
that tampering at the right origin and sequence number.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_fixtures import (
    COUNTIES,
    REGION,
    ROUND1,
    ROUND2,
    START,
    build,
    national_keyring,
    revoke,
    seal_bundle,
    write_bundle,
)
from pki_fixtures import enrol, forge, make_root

from node.store import NodeStore
from pki.checkpoint import (
    Checkpoint,
    Receipt,
    make_receipt,
    origin_for,
    parse_note,
    sign_checkpoint,
)
from pki.errors import MalformedError, VerificationError
from pki.suite import P256
from protos.tongban.v1 import federation_pb2, record_pb2
from sync import bundle as bundle_io
from sync import merkle
from sync.audit import audit_path, caseproof
from sync.audit.report import Report
from sync.certstore import CertStore
from sync.records import build_record

COUNTY = COUNTIES[0]
SIBLING = COUNTIES[1]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build(tmp_path_factory.mktemp("fed") / "fed")


@pytest.fixture
def fed(template, tmp_path):
    return template.copy_to(tmp_path / "fed")


def audit(fed, path: Path | None = None, root=None) -> Report:
    """A database, or a bundle opened with the national node's key (its recipient)."""
    return audit_path(path or fed.db_path(), root or fed.root.cert, datetime.now(UTC),
                      keyring=national_keyring(fed))


def found(report: Report, check: str, origin: str = COUNTY, seq: int | None = None,
          text: str = "") -> str:
    hits = [f for f in report.problems if f.check == check and f.origin == origin
            and (seq is None or f.seq == seq) and text in f.reason]
    assert hits, f"no {check} problem for {origin} #{seq} with {text!r}:\n{report.text()}"
    assert not report.ok
    return hits[0].reason


def sql(fed, statement: str, params: tuple = ()) -> None:
    db = sqlite3.connect(fed.db_path())
    with db:
        db.execute(statement, params)
    db.close()


def record(fed, seq: int, origin: str = COUNTY) -> bytes:
    db = sqlite3.connect(fed.db_path())
    (data,) = db.execute("SELECT data FROM records WHERE origin = ? AND seq = ?",
                         (origin, seq)).fetchone()
    db.close()
    return data


def set_record(fed, seq: int, data: bytes) -> None:
    sql(fed, "UPDATE records SET data = ? WHERE origin = ? AND seq = ?", (data, COUNTY, seq))


def newest(fed, origin: str = COUNTY) -> tuple[int, bytes, bytes]:
    db = sqlite3.connect(fed.db_path())
    row = db.execute("SELECT size, root, note FROM checkpoints WHERE origin = ?"
                     " ORDER BY size DESC LIMIT 1", (origin,)).fetchone()
    db.close()
    return row


def replace_newest_note(fed, note: bytes) -> None:
    size, _, _ = newest(fed)
    sql(fed, "UPDATE checkpoints SET note = ? WHERE origin = ? AND size = ?",
        (note, COUNTY, size))


def with_store(fed, fn):
    store = NodeStore.open(fed.home(REGION))
    try:
        with store.transaction():
            return fn(store)
    finally:
        store.close()


def test_bit_flip_in_a_record_body(fed):
    data = bytearray(record(fed, 3))
    data[-1] ^= 0x01
    set_record(fed, 3, bytes(data))
    report = audit(fed)
    found(report, "leaf-hash", seq=3, text="does not match the record bytes")
    found(report, "records-root", text="seq [")


def test_record_deleted(fed):
    sql(fed, "DELETE FROM records WHERE origin = ? AND seq = 2", (COUNTY,))
    found(audit(fed), "gap", seq=2, text="no record at seq 2")


def test_two_records_swapped(fed):
    a, b = record(fed, 2), record(fed, 3)
    set_record(fed, 2, b)
    set_record(fed, 3, a)
    report = audit(fed)
    found(report, "record-claim", seq=2, text="claims origin '540102' seq 3")
    found(report, "record-claim", seq=3, text="seq 2")


def test_log_truncated(fed):
    size, _, _ = newest(fed)
    sql(fed, "DELETE FROM records WHERE origin = ? AND seq >= ?", (COUNTY, size - 2))
    found(audit(fed), "truncated", seq=size - 2, text=f"signs size {size}")


def test_record_appended_without_a_checkpoint(fed):
    size, _, _ = newest(fed)
    extra = build_record(COUNTY, size, 1, record_pb2.POLICY_NOTICE, b"")
    with_store(fed, lambda s: s.log.append(COUNTY, size, [extra]))
    found(audit(fed), "unsigned-records", seq=size, text="appended without a checkpoint")


def test_checkpoint_root_changed(fed):
    size, _, note = newest(fed)
    cp, _ = parse_note(note)
    forged_root = bytes(32)
    text = note.decode().replace(base64.b64encode(cp.root).decode(),
                                 base64.b64encode(forged_root).decode())
    sql(fed, "UPDATE checkpoints SET note = ?, root = ? WHERE origin = ? AND size = ?",
        (text.encode(), forged_root, COUNTY, size))
    report = audit(fed)
    found(report, "checkpoint-signature", text="does not verify")
    found(report, "records-root", text=f"sizes {size}..{size}")


def test_checkpoint_signed_by_a_sibling_node(fed):
    size, root, _ = newest(fed)
    note = sign_checkpoint(Checkpoint(f"tongban/{COUNTY}", size, root),
                           fed.counties[SIBLING].key)
    replace_newest_note(fed, note)
    found(audit(fed), "checkpoint-signature", text=f"signed by the key of {SIBLING}")


def test_certificate_from_another_subtree(fed):
    other_region = enrol("650000", fed.root, START, 365)
    impostor = forge(COUNTY, other_region, ca=True, path_length=2, not_before=START,
                     not_after=START + timedelta(days=365))
    size, root, _ = newest(fed)
    replace_newest_note(fed, sign_checkpoint(Checkpoint(f"tongban/{COUNTY}", size, root),
                                             impostor.key))
    with_store(fed, lambda s: CertStore(s.db).add([impostor.cert, other_region.cert]))
    found(audit(fed), "certificate", text="subtree violation: issuer 650000")


def test_revoked_certificate_used_after_revocation(fed):
    revoke(fed, COUNTY, ROUND1 + timedelta(hours=12))
    report = audit(fed)
    size, _, _ = newest(fed)
    reason = found(report, "certificate", text=f"checkpoint of size {size}")
    assert "was revoked by 540000" in reason
    earlier = [f for f in report.problems if f.check == "certificate" and f.origin == COUNTY
               and f"size {size}," not in f.reason]
    assert not earlier, "checkpoints cosigned before the revocation must stay valid"


def test_expired_certificate(tmp_path):
    short = build(tmp_path / "short", county_days=3)
    report = audit(short)
    reason = found(report, "certificate", text="judged at parent receipt time")
    assert "expired at" in reason


def test_forked_history(fed):
    other = [build_record(COUNTY, i, 1, record_pb2.POLICY_NOTICE, b"fork") for i in range(3)]
    fork_root = merkle.hash_tree([merkle.leaf_hash(d) for d in other])
    note = sign_checkpoint(Checkpoint(f"tongban/{COUNTY}", 3, fork_root), fed.counties[COUNTY].key)
    with_store(fed, lambda s: s.log.add_checkpoint(COUNTY, 3, fork_root, note))
    report = audit(fed)
    found(report, "fork", seq=3, text="forked history")
    assert any(f.origin == COUNTY and note.decode() in f.notes for f in report.forks)
    assert "FORK 540102 at size 3" in report.text()


def test_forged_receipt(fed):
    db = sqlite3.connect(fed.db_path())
    rid, line = db.execute("SELECT id, note FROM receipts WHERE origin = ? ORDER BY size DESC",
                           (COUNTY,)).fetchone()
    db.close()
    name, payload = line.decode().rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[20] ^= 0x40
    sql(fed, "UPDATE receipts SET note = ? WHERE id = ?",
        (f"{name} {base64.b64encode(bytes(raw)).decode()}\n".encode(), rid))
    found(audit(fed), "receipt", text="forged or damaged receipt")


def test_receipt_from_a_node_that_is_not_the_parent(fed):
    size, _, note = newest(fed)
    sibling = fed.node("540121")
    receipt = Receipt("540121", int(ROUND2.timestamp()),
                      P256.key_id(origin_for("540121"), sibling.key.public_key()),
                      P256.sign(sibling.key, b"cosignature/v1\ntime "
                                + str(int(ROUND2.timestamp())).encode() + b"\n"
                                + parse_note(note)[0].body()))
    with_store(fed, lambda s: s.log.add_receipt(COUNTY, size, "540121", receipt.time * 1000,
                                                receipt.to_bytes()))
    found(audit(fed), "receipt", text="540121, which is not the parent or another ancestor")


def test_receipt_from_a_higher_ancestor_is_custody_not_a_problem(fed):
    size, _, note = newest(fed)
    receipt = make_receipt(note, fed.root.key, "000000", ROUND2)
    with_store(fed, lambda s: s.log.add_receipt(COUNTY, size, "000000", receipt.time * 1000,
                                                receipt.to_bytes()))
    report = audit(fed)
    assert report.ok, report.text()


def test_replayed_older_checkpoint_presented_as_newest(fed):
    size, _, _ = newest(fed)
    sql(fed, "DELETE FROM checkpoints WHERE origin = ? AND size = ?", (COUNTY, size))
    report = audit(fed)
    found(report, "withheld-checkpoint", seq=size, text="older checkpoint is presented as newest")
    found(report, "unsigned-records", text="appended without a checkpoint")


def test_duplicate_sequence_number(fed):
    db = sqlite3.connect(fed.db_path())
    with db:
        db.execute("CREATE TABLE r2 (origin TEXT, seq INTEGER, leaf_hash BLOB, data BLOB)")
        db.execute("INSERT INTO r2 SELECT origin, seq, leaf_hash, data FROM records")
        db.execute("DROP TABLE records")
        db.execute("ALTER TABLE r2 RENAME TO records")
        db.execute("INSERT INTO records SELECT origin, seq, leaf_hash, data || x'00'"
                   " FROM records WHERE origin = ? AND seq = 3", (COUNTY,))
    db.close()
    found(audit(fed), "duplicate-seq", seq=3, text="appears more than once")


def test_record_claiming_another_origin(fed):
    set_record(fed, 3, build_record(SIBLING, 3, 1, record_pb2.POLICY_NOTICE, b""))
    found(audit(fed), "record-claim", seq=3, text="claims origin '540121'")


def test_malformed_protobuf(fed):
    set_record(fed, 3, b"\x0a\xff\xff\xff")
    found(audit(fed), "malformed-record", seq=3, text="malformed record")


def test_oversized_record(fed):
    big = build_record(COUNTY, 3, 1, record_pb2.POLICY_NOTICE, b"x" * 70_000)
    set_record(fed, 3, big)
    found(audit(fed), "oversized-record", seq=3, text="limit 65536")


def test_wrong_root_certificate(fed):
    stranger = make_root(START, 3650)
    report = audit(fed, root=stranger.cert)
    found(report, "root", origin="*", text="wrong --root")
    found(report, "certificate", text="wrong issuer")


def _proof(fed, tmp_path) -> dict:
    store = NodeStore.open(fed.home(COUNTY))
    try:
        refs = store.db.execute("SELECT origin, seq FROM case_events WHERE case_no = ?",
                                (fed.cases[COUNTY][0],)).fetchall()
        data = caseproof.prove(store.db, refs, fed.cases[COUNTY][0], [fed.region.cert])
    finally:
        store.close()
    return json.loads(data)


def test_case_proof_with_a_wrong_sibling_hash(fed, tmp_path):
    doc = _proof(fed, tmp_path)
    caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))
    entry = doc["logs"][0]["records"][0]
    sibling = bytearray(base64.b64decode(entry["proof"][0]))
    sibling[0] ^= 0x80
    entry["proof"][0] = base64.b64encode(bytes(sibling)).decode()
    with pytest.raises(VerificationError, match=r"not in the signed log: inclusion proof"):
        caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))


def test_case_proof_base64_with_bits_past_the_last_byte_is_refused(fed, tmp_path):
    """Found by the fuzzer: a sibling hash whose unused low bits were set decoded to the
    same bytes and verified, a second file for one proof."""
    doc = _proof(fed, tmp_path)
    entry = doc["logs"][0]["records"][0]
    hashed = entry["proof"][0]
    assert hashed.endswith("=") and not hashed.endswith("==")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    entry["proof"][0] = hashed[:-2] + alphabet[alphabet.index(hashed[-2]) | 1] + "="
    assert base64.b64decode(entry["proof"][0]) == base64.b64decode(hashed)
    with pytest.raises(MalformedError) as err:
        caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))
    seq = entry["seq"]
    assert str(err.value) == (f"malformed case proof: log of {COUNTY} seq {seq} proof: "
                              "not canonical base64")


@pytest.mark.parametrize("field", ["label", "checkpoint"])
def test_case_proof_with_half_a_surrogate_pair_is_malformed(fed, tmp_path, field):
    """Found by the fuzzer: JSON's "\\udc00" is no text, and encoding the checkpoint to
    verify it raised UnicodeEncodeError."""
    doc = _proof(fed, tmp_path)
    holder = doc if field == "label" else doc["logs"][0]
    holder[field] = "\udc00" + holder[field]
    with pytest.raises(MalformedError) as err:
        caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))
    assert str(err.value) == ("malformed case proof: a string holds a lone UTF-16 surrogate "
                              "('\\udc00')")


# --- beyond the twenty ---------------------------------------------------------------------------


def test_stored_leaf_hash_changed_alone(fed):
    sql(fed, "UPDATE records SET leaf_hash = ? WHERE origin = ? AND seq = 1", (bytes(32), COUNTY))
    report = audit(fed)
    found(report, "leaf-hash", seq=1)
    assert not [f for f in report.problems if f.check == "records-root"]


def test_stored_tree_node_changed(fed):
    sql(fed, "UPDATE tree_nodes SET hash = ? WHERE origin = ? AND level = 2 AND idx = 1",
        (bytes(32), COUNTY))
    found(audit(fed), "tree-nodes", seq=4, text="first at level 2 index 1")


def _level_one(fed) -> list[tuple[str, int, int, bytes]]:
    """The level-1 rows a database from before migration 3 holds, from the leaf hashes."""
    db = sqlite3.connect(fed.db_path())
    leaves = [h for (h,) in db.execute("SELECT leaf_hash FROM records WHERE origin = ?"
                                       " ORDER BY seq", (COUNTY,))]
    db.close()
    return [(COUNTY, 1, i, merkle.node_hash(leaves[2 * i], leaves[2 * i + 1]))
            for i in range(len(leaves) // 2)]


def test_level_one_nodes_of_an_older_database_are_compared(fed):
    rows = _level_one(fed)
    db = sqlite3.connect(fed.db_path())
    with db:
        db.executemany("INSERT INTO tree_nodes VALUES (?, ?, ?, ?)", rows)
    db.close()
    assert audit(fed).ok
    sql(fed, "UPDATE tree_nodes SET hash = ? WHERE origin = ? AND level = 1 AND idx = 1",
        (bytes(32), COUNTY))
    found(audit(fed), "tree-nodes", seq=2, text="first at level 1 index 1")


def test_receipt_time_column_changed(fed):
    sql(fed, "UPDATE receipts SET time_ms = time_ms - 86400000 WHERE origin = ?", (COUNTY,))
    found(audit(fed), "receipt-row", text="stored time")


def test_fork_caught_by_the_receiver_is_reported(fed):
    size, root, note = newest(fed)
    sql(fed, "INSERT INTO forks (origin, size, held_root, held_note, presented_note, seen_ms)"
        " VALUES (?, ?, ?, ?, ?, 0)", (COUNTY, size, root, note, b"tongban/540102\n..."))
    report = audit(fed)
    found(report, "fork", seq=size, text="forks table")
    assert report.forks[0].source == "forks table"


def _opened(fed, path: Path) -> federation_pb2.Bundle:
    sealed = bundle_io.read(path.read_bytes(), "bundle")
    return bundle_io.open_contents(sealed, fed.root.key, "bundle")


def test_bundle_changed_after_signing(fed, tmp_path):
    path = write_bundle(fed, tmp_path / "b.tbb")
    bundle = _opened(fed, path)
    batch = next(b for b in bundle.batches if b.origin == COUNTY)
    batch.records[1] = batch.records[1][:-1] + bytes([batch.records[1][-1] ^ 1])
    seal_bundle(fed, bundle, path, signer=fed.counties[COUNTY])  # not the sender's key
    report = audit(fed, path)
    found(report, "bundle-signature", origin=REGION, text="does not verify")
    found(report, "records-root")


def test_sender_cannot_alter_a_childs_record_even_signing_the_bundle(fed, tmp_path):
    path = write_bundle(fed, tmp_path / "b.tbb", {COUNTY: 3})
    bundle = _opened(fed, path)
    batch = next(b for b in bundle.batches if b.origin == COUNTY)
    batch.records[0] = build_record(COUNTY, 3, 1, record_pb2.POLICY_NOTICE, b"rewritten")
    seal_bundle(fed, bundle, path)
    report = audit(fed, path)
    assert not [f for f in report.problems if f.check == "bundle-signature"]
    found(report, "records-root")


def test_case_proof_with_changed_record_bytes(fed, tmp_path):
    doc = _proof(fed, tmp_path)
    entry = doc["logs"][0]["records"][0]
    data = bytearray(base64.b64decode(entry["data"]))
    data[-1] ^= 0x01
    entry["data"] = base64.b64encode(bytes(data)).decode()
    with pytest.raises(VerificationError, match="not in the signed log"):
        caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))


def test_case_proof_with_a_forged_checkpoint(fed, tmp_path):
    doc = _proof(fed, tmp_path)
    cp, _ = parse_note(doc["logs"][0]["checkpoint"].encode())
    doc["logs"][0]["checkpoint"] = sign_checkpoint(cp, fed.counties[SIBLING].key).decode()
    with pytest.raises(VerificationError, match="not signed by this certificate's key"):
        caseproof.check(json.dumps(doc).encode(), fed.root.cert, datetime.now(UTC))
