"""Seeded mutation fuzzing of everything tongban reads from outside (issue 12).

Bundles (imported into a real replica and audited from a file with the
recipient's key; their decrypted contents mutated and sealed again with the
sender's own key, so the decoder behind the signature is fuzzed too), certificates,
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

import json
import sqlite3
import zlib
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
from pki import envelope
from pki.certs import certs_pem, division_of
from pki.checkpoint import parse_note, receipts_in, verify_checkpoint, verify_receipt
from pki.errors import Error
from pki.suite import P256
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
           "region": Home(region), "dir": tmp_path, "county": home,
           "keyring": audits.keyring(Home(region))}
    store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _contents(inputs, blob: bytes) -> bytes:
    """The decrypted Bundle bytes of a bundle file, with the region's key."""
    sealed = bundles.read(blob, "bundle")
    key = inputs["keyring"].key_for(sealed, "bundle")
    return envelope.open_content(sealed, key, "bundle")


def _seal_as_county(inputs, content: bytes) -> bytes:
    """``content`` sealed to the region and signed by the county, as its export would."""
    chain, sealed = inputs["chain"], bundles.read(inputs["bundle"], "bundle")
    return envelope.seal(content, sender=COUNTY, recipient=REGION,
                         recipient_cert=inputs["region"].cert_chain().cert,
                         chain=[chain.cert, *chain.intermediates],
                         signing_key=inputs["county"].signing_key(),
                         created_ms=sealed.created_ms)


def _fuzz_bundle_import(inputs, count):
    """Mutated files: every one refused (the signature covers every byte before it, and a
    mutated signature does not verify). Mutated files signed again by the county itself,
    so the header, key wrap, segments and inflating behind the signature are reached:
    every one refused too (the header is bound into the key wrap, the segments into
    AES-GCM). Mutated contents sealed and signed by the county: refused, or accepted
    without storing a record the county did not write."""
    third = count // 3
    for i, blob in mutants(12, inputs["bundle"], third):
        with pytest.raises(Error):
            bundles.import_bundle(inputs["replica"], blob, f"mutant {i}")
    signed_end = bundles.read(inputs["bundle"], "bundle").signed_end
    key = inputs["county"].signing_key()
    for i, signed in mutants(18, inputs["bundle"][:signed_end], third):
        signature = P256.sign(key, signed)
        blob = signed + len(signature).to_bytes(2, "big") + signature
        with pytest.raises(Error):
            bundles.import_bundle(inputs["replica"], blob, f"re-signed mutant {i}")
    genuine = records(inputs["county"].path, COUNTY)
    for i, payload in mutants(13, _contents(inputs, inputs["bundle"]), count - 2 * third):
        try:
            bundles.import_bundle(inputs["replica"], _seal_as_county(inputs, payload),
                                  f"inner mutant {i}")
        except Error:
            continue
    stored = records(inputs["region"].path, COUNTY)
    assert stored == genuine[:len(stored)], "a mutated record was stored"


def _fuzz_bundle_audit(inputs, count):
    """Audited with the recipient's key: no mutant is reported as fine."""
    path = inputs["dir"] / "mutant.tbb"
    for i, blob in mutants(14, inputs["bundle"], count):
        path.write_bytes(blob)
        try:
            report = audit_path(path, inputs["root"], _now(), keyring=inputs["keyring"])
        except Error:
            continue
        assert not report.ok, f"mutant {i} audited as fine"


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


def _bomb(inputs, zeros: int, declared: int) -> bytes:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = deflater.compress(b"\0" * zeros) + deflater.flush()
    chain, sealed = inputs["chain"], bundles.read(inputs["bundle"], "bundle")
    return envelope.seal_deflated(packed, declared, sender=COUNTY, recipient=REGION,
                                  recipient_cert=inputs["region"].cert_chain().cert,
                                  chain=[chain.cert, *chain.intermediates],
                                  signing_key=inputs["county"].signing_key(),
                                  created_ms=sealed.created_ms)


def test_a_deflate_bomb_signed_by_the_sender_is_refused_before_it_is_inflated(inputs):
    too_big = bundles.MAX_BUNDLE_BYTES + 1
    with pytest.raises(Error, match="declares 67,108,865 bytes unpacked"):
        bundles.import_bundle(inputs["replica"], _bomb(inputs, too_big, too_big), "bomb")
    with pytest.raises(Error, match="inflates past the 1,000 bytes it declares"):
        bundles.import_bundle(inputs["replica"], _bomb(inputs, 8 << 20, 1000), "bomb")
    with pytest.raises(Error, match="inflates to 1,000 bytes, not the 2,000 it declares"):
        bundles.import_bundle(inputs["replica"], _bomb(inputs, 1000, 2000), "bomb")


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
