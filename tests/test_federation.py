"""Federation over real `tongban serve` processes with mutual TLS on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from node_fixtures import register_staff, tongban

from node.home import Home
from node.store import NodeStore
from node.wiring import build, identity
from ops.fedcheck import add_events, set_parent_address
from ops.linkemu import LinkEmulator, profile_by_name
from ops.localfed import Federation
from ops.localfed import log_records as records
from pki.division import in_subtree
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.batches import make_batch
from sync.deliver import make_deliveries, verify_delivery
from sync.merkle import ProofError
from sync.receive import PeerNotAllowed
from sync.tls import CHANNEL_OPTIONS, target_name

REGION_ITEM = Path(__file__).resolve().parents[1] / "ops" / "data" / "region_item.toml"
ID = "540102199001010011"


def apply_cases(home: Path, count: int) -> list[str]:
    code = json.loads(tongban("matter", "list", "--json", home=home).stdout)[0]["code"]
    return [tongban("case", "apply", "--matter", code, "--applicant", ID, "--name", "扎西",
                    home=home).stdout.split()[0] for _ in range(count)]


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    federation = Federation(tmp_path_factory.mktemp("fed"), run=tongban)
    federation.add("000000")
    federation.add("540000", "000000")
    federation.add("540100", "540000")
    federation.add("540102", "540100")
    federation.add("540121", "540100")
    for county in ("540102", "540121"):
        tongban("matter", "import", "--sample", home=federation.nodes[county].home)
        register_staff(federation.nodes[county].home)
    for division in federation.nodes:
        federation.start(division)
    yield federation
    federation.stop_all()


def test_four_level_chain_converges_both_ways(fed):
    tongban("matter", "import", str(REGION_ITEM), home=fed.nodes["540000"].home)
    apply_cases(fed.nodes["540102"].home, 3)
    apply_cases(fed.nodes["540121"].home, 2)
    fed.sync_up_then_down()
    national = fed.nodes["000000"].home
    for county in ("540102", "540121"):
        own = records(fed.nodes[county].home, county)
        assert own and records(national, county) == own
        assert records(fed.nodes["540000"].home, county) == own
        shown = tongban("matter", "show", "540000-GF-001", "--json",
                        home=fed.nodes[county].home)
        assert json.loads(shown.stdout)["name"] == "高海拔地区冬季取暖补贴发放"
    assert records(fed.nodes["540102"].home, "540000") == records(national, "540000")
    status = json.loads(tongban("status", "--json", home=fed.nodes["540102"].home).stdout)
    assert status["link"]["state"] == "up"
    assert status["waiting_records"] == 0
    assert status["newest_receipt_size"] == len(records(fed.nodes["540102"].home, "540102"))
    top = json.loads(tongban("status", "--json", home=national).stdout)
    assert {n["origin"] for n in top["subtree"]} >= {"540000", "540102", "540121"}


def test_writes_continue_while_the_county_syncs(fed):
    county, prefecture = fed.nodes["540102"].home, fed.nodes["540100"]
    add_events(county, 400)  # seconds of pushing over a satellite hop
    code = json.loads(tongban("matter", "list", "--json", home=county).stdout)[0]["code"]
    profile = profile_by_name("satellite", mean_seconds_between_drops=0)
    with LinkEmulator(("127.0.0.1", prefecture.port), profile, seed=2) as emu:
        set_parent_address(county, emu.address)
        sync = subprocess.Popen([sys.executable, "-m", "node.cli", "sync", "--once",
                                 "--home", str(county)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            lines = iter(sync.stderr.readline, "")
            assert any(line.startswith("hello 540100:") for line in lines)
            # The exchange has begun (Hello answered); the window keeps registering cases.
            written = [tongban("case", "apply", "--matter", code, "--applicant", ID, "--name",
                               "n", home=county).stdout.split()[0] for _ in range(3)]
            assert sync.poll() is None  # ... and the exchange outlived every one of them
            assert sync.wait(timeout=60) == 0, sync.stderr.read()
        finally:
            set_parent_address(county, prefecture.address)
            sync.stdout.close()
            sync.stderr.close()
    fed.sync("540102")
    held = records(prefecture.home, "540102")
    assert held == records(county, "540102")
    store = NodeStore.open(Home(county))
    try:
        assert {c for (c,) in store.db.execute("SELECT case_no FROM cases")} >= set(written)
    finally:
        store.close()


def test_parent_killed_mid_sync_resumes_without_loss_or_duplication(fed):
    county = fed.nodes["540121"].home
    apply_cases(county, 40)
    fed.stop("540100", kill=True)
    failed = fed.sync("540121", check=False)
    assert failed.returncode == 2
    assert "link to parent" in failed.stderr and "UNAVAILABLE" in failed.stderr
    fed.start("540100")
    fed.sync("540121")
    assert records(fed.nodes["540100"].home, "540121") == records(county, "540121")
    again = fed.sync("540121")
    assert "pushed 0 records" in again.stdout


def _channel(child: Path, parent_division: str, address: str) -> grpc.Channel:
    ident = identity(Home(child))
    return grpc.secure_channel(address, ident.channel_credentials(), options=[
        *CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", target_name(parent_division))])


def test_grandchild_may_not_push_past_its_parent(fed):
    county = fed.nodes["540102"].home
    store = NodeStore.open(Home(county))
    try:
        replica = build(store)
        batch = make_batch(store.log, replica.certs, "540102", 0, 4096)
    finally:
        store.close()
    with (_channel(county, "540000", fed.nodes["540000"].address) as channel,
          pytest.raises(grpc.RpcError) as err):
            federation_pb2_grpc.FederationStub(channel).PushLogs(
                federation_pb2.PushRequest(batch=batch), timeout=10)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not a child of 540000" in err.value.details()


def test_certificate_from_another_subtree_is_refused(fed, tmp_path):
    other = Federation(tmp_path, run=tongban)
    other.nodes["000000"] = fed.nodes["000000"]
    other.add("650000", "000000")
    other.add("650100", "650000")
    home = other.nodes["650100"].home
    tongban("matter", "import", "--sample", home=home)
    store = NodeStore.open(Home(home))
    try:
        batch = make_batch(store.log, build(store).certs, "650100", 0, 4096)
    finally:
        store.close()
    with _channel(home, "540100", fed.nodes["540100"].address) as channel:
        stub = federation_pb2_grpc.FederationStub(channel)
        for call in (lambda: stub.PullLogs(federation_pb2.PullRequest(), timeout=10),
                     lambda: stub.PushLogs(federation_pb2.PushRequest(batch=batch), timeout=10)):
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            assert "650100 is not a child of 540100" in err.value.details()
    assert records(fed.nodes["540100"].home, "650100") == []


def test_tampered_batch_is_refused_and_quarantined_good_ones_still_land(fed):
    county = fed.nodes["540102"].home
    apply_cases(county, 2)
    prefecture = fed.nodes["540100"]
    held = len(records(prefecture.home, "540102"))
    store = NodeStore.open(Home(county))
    try:
        store.ensure_checkpoint()  # as every sending path does first
        batch = make_batch(store.log, build(store).certs, "540102", held, 64 * 1024)
    finally:
        store.close()
    data = bytearray(batch.records[0])
    data[-1] ^= 0x01
    batch.records[0] = bytes(data)
    with (_channel(county, "540100", prefecture.address) as channel,
          pytest.raises(grpc.RpcError) as err):
            federation_pb2_grpc.FederationStub(channel).PushLogs(
                federation_pb2.PushRequest(batch=batch), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(records(prefecture.home, "540102")) == held
    db = sqlite3.connect(prefecture.home / "node.db")
    try:
        rows = db.execute("SELECT peer, origin, status FROM quarantine").fetchall()
    finally:
        db.close()
    assert ("540102", "540102", "INVALID_ARGUMENT") in rows
    fed.sync("540102")
    assert records(prefecture.home, "540102") == records(county, "540102")


def test_notice_to_a_sibling_is_delivered_with_an_inclusion_proof(fed):
    sender, receiver = fed.nodes["540102"].home, fed.nodes["540121"].home
    out = tongban("notice", "send", "--to", "540121", "--title", "代收材料已寄出",
                  "--text", "扎西的户籍材料已于今日寄出", home=sender).stdout
    assert out.startswith("notice 540102#") and out.rstrip().endswith("next sync")
    fed.sync_up_then_down()
    got = json.loads(tongban("notice", "list", "--json", home=receiver).stdout)
    assert [(n["origin"], n["title"]) for n in got if n["origin"] == "540102"] == [
        ("540102", "代收材料已寄出")]
    assert records(receiver, "540102") == []  # a sibling's log is not replicated
    tongban("db", "rebuild", home=receiver)
    assert json.loads(tongban("notice", "list", "--json", home=receiver).stdout) == got


def test_a_damaged_or_misaddressed_delivery_is_refused(fed):
    tongban("notice", "send", "--to", "540121", "--title", "t", "--text", "x",
            home=fed.nodes["540102"].home)
    fed.sync("540102")
    parent = NodeStore.open(Home(fed.nodes["540100"].home))
    child = NodeStore.open(Home(fed.nodes["540121"].home))
    try:
        source, sink = build(parent), build(child)
        wanted = source.host.addressed_into("540121", {})
        deliveries, _ = make_deliveries(source.log, source.db, source.certs, wanted, 1 << 20)
        delivery = deliveries[-1]
        verify_delivery(sink.receiver, delivery, lambda r: in_subtree("540121", r))
        damaged = federation_pb2.Delivery()
        damaged.CopyFrom(delivery)
        damaged.inclusion_proof[0] = bytes(32)
        with pytest.raises(ProofError):
            verify_delivery(sink.receiver, damaged, lambda r: in_subtree("540121", r))
        with pytest.raises(PeerNotAllowed):
            verify_delivery(sink.receiver, delivery, lambda r: in_subtree("540102", r))
    finally:
        parent.close()
        child.close()
