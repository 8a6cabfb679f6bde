"""Seeded mutation fuzzing of everything tongban reads from outside (issue 12).

Bundles (imported into a real replica and audited from a file), certificates,
checkpoints, receipts, case proofs and the three Federation requests (sent as
bytes to a real servicer over mTLS) are mutated from known-good inputs
(tests/fuzzing.py). For every mutant the only outcomes allowed are a
``pki.errors.Error`` (a refusal), a failed audit report, or acceptance of an
input that means exactly what the original meant; any other exception is a
traceback a user would have seen, and a test timeout is a hang. ``make test``
runs FUZZ_FAST inputs per target; ``make test-slow`` runs FUZZ_SLOW (over
100,000 in all).
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import UTC, datetime

import grpc
import pytest
from fuzzing import mutants
from servicer_fixtures import channel_as, served

from node import audits, bundle_files
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from ops.fedcheck import COUNTY, REGION, add_events, records
from pki.certs import certs_pem, division_of
from pki.checkpoint import parse_note, receipts_in, verify_checkpoint, verify_receipt
from pki.errors import Error
from pki.verify import verify_chain
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync import bundle as bundles
from sync.audit import audit_path
from sync.batches import make_batch
from sync.certstore import der, parse_der

FUZZ_FAST = 1000
FUZZ_SLOW = 21_000  # five targets: 105,000 inputs
#: per RPC: each request crosses TLS to a real servicer, so the budgets are smaller
RPC_FAST = 150
RPC_SLOW = 5_000


@pytest.fixture
def inputs(fed_copy, tmp_path):
    """A county bundle for the region, the region's replica, and the county's signed parts."""
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    add_events(county, 40)
    up = tmp_path / "up.tbb"
    bundle_files.export_for_parent(Home(county), up)
    store = NodeStore.open(Home(region))
    replica = build(store)
    db = sqlite3.connect(county / "node.db")
    (case_no,) = db.execute("SELECT case_no FROM cases LIMIT 1").fetchone()
    (note,) = db.execute("SELECT note FROM checkpoints WHERE origin = ? ORDER BY size DESC",
                         (COUNTY,)).fetchone()
    db.close()
    proof = tmp_path / "case.proof.json"
    audits.prove(Home(county), case_no, proof)
    home = Home(county)
    yield {"bundle": up.read_bytes(), "replica": replica, "root": home.root_cert(),
           "chain": home.cert_chain(), "note": note, "proof": proof.read_bytes(),
           "region": Home(region), "dir": tmp_path}
    store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _fuzz_bundle_import(inputs, count):
    original = bundles.inflate(inputs["bundle"], "bundle")
    accepted = 0
    for i, blob in mutants(12, inputs["bundle"], count // 2):
        try:
            bundles.import_bundle(inputs["replica"], blob, f"mutant {i}")
        except Error:
            continue
        assert bundles.inflate(blob, "bundle") == original, f"mutant {i} accepted"
        accepted += 1
    inner = gzip.decompress(inputs["bundle"])
    for i, payload in mutants(13, inner, count - count // 2):
        blob = gzip.compress(payload, mtime=0)
        with pytest.raises(Error):
            bundles.import_bundle(inputs["replica"], blob, f"inner mutant {i}")
    return accepted


def _fuzz_bundle_audit(inputs, count):
    path = inputs["dir"] / "mutant.tbb"
    original = bundles.inflate(inputs["bundle"], "bundle")
    for i, blob in mutants(14, inputs["bundle"], count):
        path.write_bytes(blob)
        try:
            report = audit_path(path, inputs["root"], _now())
        except Error:
            continue
        if report.ok:
            assert bundles.inflate(blob, "bundle") == original, f"mutant {i} audited as fine"


def _fuzz_certificates(inputs, count):
    chain = inputs["chain"]
    original = der(chain.cert)
    for i, blob in mutants(15, original, count):
        try:
            (cert,) = parse_der([blob], f"mutant {i}")
            division_of(cert)
            verify_chain(cert, chain.intermediates, chain.root, _now())
        except Error:
            continue
        assert der(cert) == original, f"certificate mutant {i} verified"


def _fuzz_checkpoints_and_receipts(inputs, count):
    note, cert = inputs["note"], inputs["chain"].cert
    good = verify_checkpoint(note, cert)
    for i, blob in mutants(16, note, count):
        try:
            checkpoint = verify_checkpoint(blob, cert)
        except Error:
            checkpoint = None
        if checkpoint is not None:
            assert checkpoint == good, f"checkpoint mutant {i} verified as another checkpoint"
        try:
            parse_note(blob)
            for receipt in receipts_in(blob):
                verify_receipt(note, receipt, cert)
        except Error:
            continue


def _fuzz_case_proofs(inputs, count):
    """Through node.audits.check, as ``tongban audit check`` reads a proof: the label is
    bound there (every record must be an event of the case the proof names)."""
    original = json.loads(inputs["proof"])
    path, root = inputs["dir"] / "mutant.proof.json", inputs["dir"] / "root.pem"
    root.write_bytes(certs_pem([inputs["root"]]))
    for i, blob in mutants(17, inputs["proof"], count):
        path.write_bytes(blob)
        try:
            audits.check(path, root)
        except Error:
            continue
        assert json.loads(blob) == original, f"case proof mutant {i} verified"


TARGETS = {
    "bundle-import": _fuzz_bundle_import,
    "bundle-audit": _fuzz_bundle_audit,
    "certificate": _fuzz_certificates,
    "checkpoint-receipt": _fuzz_checkpoints_and_receipts,
    "case-proof": _fuzz_case_proofs,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz(inputs, target):
    TARGETS[target](inputs, FUZZ_FAST)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzz_slow(inputs, target):
    TARGETS[target](inputs, FUZZ_SLOW)


def test_a_gzip_bomb_is_refused_before_it_is_inflated(inputs):
    bomb = gzip.compress(b"\0" * (bundles.MAX_BUNDLE_BYTES + 1), compresslevel=9)
    with pytest.raises(Error, match="declares 67,108,865 bytes unpacked"):
        bundles.import_bundle(inputs["replica"], bomb, "bomb")
    lying = bomb[:-4] + (1000).to_bytes(4, "little")  # claims a thousand bytes
    with pytest.raises(Error, match="inflates past the 1,000 bytes it declares"):
        bundles.import_bundle(inputs["replica"], lying, "bomb")


def _good_requests(county) -> dict[str, bytes]:
    """The Hello, PushLogs and PullLogs requests the county really sends, as bytes."""
    store = NodeStore.open(Home(county))
    try:
        store.ensure_checkpoint()  # as the uplink does before records leave
        replica = build(store)
        chain = [der(c) for c in replica.chain]
        batch = make_batch(store.log, replica.certs, COUNTY, 0, 64 * 1024)
        sizes = store.log.sizes()
    finally:
        store.close()
    return {
        "Hello": federation_pb2.HelloRequest(division=COUNTY, chain_der=chain, sizes=sizes,
                                             time_ms=1, delivered={REGION: 0}),
        "PushLogs": federation_pb2.PushRequest(batch=batch),
        "PullLogs": federation_pb2.PullRequest(sizes={REGION: 1, "000000": 0}, max_bytes=4096,
                                               delivered={REGION: 0}),
    }


def _fuzz_rpcs(fed, count: int) -> None:
    """Every mutant gets a status other than UNKNOWN; nothing mutated is stored; the
    servicer answers the genuine requests afterwards."""
    county, region = fed.nodes[COUNTY].home, fed.nodes[REGION].home
    add_events(county, 20)
    good = {rpc: request.SerializeToString() for rpc, request in _good_requests(county).items()}
    statuses: dict[grpc.StatusCode, int] = {}
    with served(region) as address, channel_as(county, REGION, address) as channel:
        stub = federation_pb2_grpc.FederationStub(channel)
        for seed, (rpc, original) in enumerate(sorted(good.items())):
            send = channel.unary_unary(  # the raw bytes, exactly as mutated
                f"/tongban.v1.Federation/{rpc}", request_serializer=None,
                response_deserializer=None)
            for i, blob in mutants(30 + seed, original, count):
                try:
                    send(blob, timeout=10)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as exc:
                    code = exc.code()
                    assert code != grpc.StatusCode.UNKNOWN, (rpc, i, exc.details())
                    assert exc.details().isprintable(), (rpc, i)
                statuses[code] = statuses.get(code, 0) + 1
        genuine = records(county, COUNTY)
        stored = records(region, COUNTY)
        assert stored == genuine[:len(stored)], "a mutated record was stored"
        assert stub.Hello(federation_pb2.HelloRequest.FromString(good["Hello"]), timeout=10)
        pushed = stub.PushLogs(federation_pb2.PushRequest.FromString(good["PushLogs"]),
                               timeout=10)
        assert pushed.stored_size == len(genuine)
    assert records(region, COUNTY) == genuine
    assert statuses.get(grpc.StatusCode.INVALID_ARGUMENT, 0) > count // 2, statuses


@pytest.mark.timeout(180)
def test_fuzz_rpc_requests(fed_copy):
    _fuzz_rpcs(fed_copy, RPC_FAST)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_fuzz_rpc_requests_slow(fed_copy):
    _fuzz_rpcs(fed_copy, RPC_SLOW)
