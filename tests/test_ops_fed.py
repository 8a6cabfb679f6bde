"""The operator's view of a running chain: metrics, health, subtree, doctor, reload.

Real `tongban serve` processes on 127.0.0.1 with mutual TLS (ops.localfed):
root 000000 <- region 540000 <- county 540102, plus 540121 enrolled under the
region but never synced.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc
from node_fixtures import register_staff
from prometheus_client.parser import text_string_to_metric_families

from node.health import UPLINK_SERVICE
from node.home import Home
from node.store import NodeStore
from node.wiring import build, identity
from ops.localfed import Federation, free_port, tongban
from pki import certs
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.batches import make_batch
from sync.tls import CHANNEL_OPTIONS, target_name

ID = "540102199001010011"


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    federation = Federation(tmp_path_factory.mktemp("opsfed"))
    federation.add("000000")
    region = federation.add("540000", "000000")
    federation.add("540102", "540000")
    federation.add("540121", "540000")
    home = Home(region.home)
    config = home.load_config()
    config.metrics_address = f"127.0.0.1:{free_port()}"
    config.health_address = f"127.0.0.1:{free_port()}"
    config.interval_seconds = 0.3
    config.max_backoff_seconds = 0.5
    home.save_config(config)
    county = federation.nodes["540102"].home
    tongban("matter", "import", "--sample", home=county)
    register_staff(county)
    code = json.loads(tongban("matter", "list", "--json", home=county).stdout)[0]["code"]
    for _ in range(2):
        tongban("case", "apply", "--matter", code, "--applicant", ID, "--name", "扎西",
                home=county)
    federation.start("000000")
    federation.start("540000", uplink=True)
    yield federation
    federation.stop_all()


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def scrape(fed) -> dict:
    address = Home(fed.nodes["540000"].home).load_config().metrics_address
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def probe(fed, path: str) -> tuple[int, dict]:
    address = Home(fed.nodes["540000"].home).load_config().health_address
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def uplink_health(fed) -> int:
    region = fed.nodes["540000"]
    ident = identity(Home(region.home))
    with grpc.secure_channel(region.address, ident.channel_credentials(),
                             [("grpc.ssl_target_name_override", target_name("540000"))]) as ch:
        return health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service=UPLINK_SERVICE), timeout=5).status


def doctor(home) -> tuple[int, dict]:
    result = tongban("doctor", "--json", home=home, check=False)
    report = json.loads(result.stdout)
    return result.returncode, {c["name"]: c["verdict"] for c in report["checks"]}


def test_metrics_health_and_subtree_while_the_link_is_up(fed):
    fed.sync("540102")
    wait_for(lambda: scrape(fed)[("tongban_link_up", ())] == 1.0)
    metrics = wait_for(lambda: (m := scrape(fed)) and m.get(
        ("tongban_outbox_records", (("origin", "540102"),))) == 0 and m)
    held = len(json.loads(tongban("status", "--json", home=fed.nodes["540102"].home).stdout)[
        "outbox"]) and json.loads(tongban("status", "--json", home=fed.nodes["540102"].home
                                          ).stdout)["outbox"][0]["held"]
    assert metrics[("tongban_records_stored", (("origin", "540102"),))] == held
    assert metrics[("tongban_link_state", (("state", "up"),))] == 1.0
    assert metrics[("tongban_problems", (("kind", "quarantine"),))] == 0
    own = metrics[("tongban_certificate_expiry_seconds", (("division", "540000"),
                                                          ("role", "own")))]
    assert 729 * 86400 < own <= 730 * 86400 + 3600
    assert ("tongban_certificate_expiry_seconds", (("division", "540121"),
                                                   ("role", "child"))) in metrics
    assert metrics[("tongban_exchanges_total", (("outcome", "up"),))] >= 1
    assert metrics[("tongban_wire_bytes_total", (("direction", "sent"),))] > 0
    assert probe(fed, "/healthz") == (200, {"ok": True, "problems": []})
    assert probe(fed, "/readyz") == (200, {"ok": True, "problems": []})
    assert uplink_health(fed) == health_pb2.HealthCheckResponse.SERVING

    subtree = tongban("status", "--subtree", "--json", home=fed.nodes["540000"].home)
    views = {v["division"]: v for v in json.loads(subtree.stdout)}
    assert set(views) == {"540102", "540121"}
    assert views["540121"]["records"] == 0 and views["540121"]["last_contact_ms"] is None
    assert views["540102"]["records"] == held and views["540102"]["behind_records"] == 0
    assert views["540102"]["last_contact_ms"] >= views["540102"]["last_receipt_ms"] - 1000
    # the national node lists the grandchildren too, from the region's CERT_ISSUED records
    wait_for(lambda: {"540000", "540102", "540121"} <= {
        v["division"] for v in json.loads(tongban("status", "--subtree", "--json",
                                                  home=fed.nodes["000000"].home).stdout)})
    log = fed.nodes["540000"].log_path.read_text(encoding="utf-8")
    assert "INFO tongban.children: child 540102: accepted" in log


def test_a_refused_batch_is_logged_counted_and_shown(fed):
    county = fed.nodes["540102"].home
    region = fed.nodes["540000"]
    store = NodeStore.open(Home(county))
    try:
        held = store.log.sizes()["540102"]
    finally:
        store.close()
    code = json.loads(tongban("matter", "list", "--json", home=county).stdout)[0]["code"]
    tongban("case", "apply", "--matter", code, "--applicant", ID, "--name", "扎西", home=county)
    store = NodeStore.open(Home(county))
    try:
        batch = make_batch(store.log, build(store).certs, "540102", held, 64 * 1024)
    finally:
        store.close()
    batch.records[0] = batch.records[0][:-1] + bytes([batch.records[0][-1] ^ 1])
    ident = identity(Home(county))
    options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", target_name("540000"))]
    with (grpc.secure_channel(region.address, ident.channel_credentials(), options) as ch,
          pytest.raises(grpc.RpcError)):
        federation_pb2_grpc.FederationStub(ch).PushLogs(
            federation_pb2.PushRequest(batch=batch), timeout=10)
    assert wait_for(lambda: scrape(fed)[("tongban_problems", (("kind", "quarantine"),))]) == 1
    code, verdicts = doctor(region.home)
    assert verdicts["problems"] == "WARNING" and verdicts["link"] == "OK"
    assert "CRITICAL" not in verdicts.values() and code == 1
    views = {v["division"]: v for v in json.loads(tongban(
        "status", "--subtree", "--json", home=region.home).stdout)}
    assert views["540102"]["problems"] == 1 and views["540102"]["last_refusal"]
    assert "WARNING tongban.children: child 540102: refused batch of 540102" in (
        region.log_path.read_text(encoding="utf-8"))


def test_reload_a_renewed_certificate_on_sighup_while_a_child_keeps_syncing(fed, tmp_path):
    region = fed.nodes["540000"]
    before = certs.serial_hex(Home(region.home).cert_chain().cert)
    results: list[int] = []
    stop = threading.Event()

    def keep_syncing() -> None:
        while not stop.is_set():
            results.append(fed.sync("540102", check=False).returncode)

    syncing = threading.Thread(target=keep_syncing)
    syncing.start()
    try:
        tongban("pki", "csr", home=region.home)
        bundle = tmp_path / "renewed.pem"
        tongban("pki", "issue", str(region.home / "node.csr"), "--out", str(bundle),
                home=fed.nodes["000000"].home)
        tongban("pki", "import", str(bundle), home=region.home)
        region.process.send_signal(signal.SIGHUP)
        after = certs.serial_hex(Home(region.home).cert_chain().cert)
        assert after != before
        wait_for(lambda: f"certificate reloaded: serial {after}" in region.log_path.read_text(
            encoding="utf-8"))
        count = len(results)
        wait_for(lambda: len(results) >= count + 2)
    finally:
        stop.set()
        syncing.join()
    assert region.process.poll() is None, "SIGHUP must reload, not kill"
    assert results and set(results) == {0}
    seen = sqlite3.connect(fed.nodes["540102"].home / "node.db")
    try:
        ders = [r[0] for r in seen.execute("SELECT der FROM node_certs WHERE division = ?",
                                           ("540000",))]
    finally:
        seen.close()
    assert after in {certs.serial_hex(x509.load_der_x509_certificate(d)) for d in ders}
    assert "SIGHUP: reloading the certificate" in region.log_path.read_text(encoding="utf-8")


def test_a_stopped_parent_shows_in_health_status_metrics_and_doctor(fed):
    region = fed.nodes["540000"]
    fed.stop("000000")
    wait_for(lambda: uplink_health(fed) == health_pb2.HealthCheckResponse.NOT_SERVING)
    assert scrape(fed)[("tongban_link_up", ())] == 0.0
    status = tongban("status", home=region.home, check=False)
    assert status.returncode == 1 and ": down" in status.stdout
    code, verdicts = doctor(region.home)
    assert code == 2 and verdicts["link"] == "CRITICAL"
    log = region.log_path.read_text(encoding="utf-8")
    assert log.count("WARNING tongban.link: link down") <= 2   # repeats collapse


def test_doctor_exit_codes_for_an_expired_certificate_and_a_damaged_database(tmp_path):
    past = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    clock = {"TONGBAN_CLOCK": past + "+00:00"}
    fed = Federation(tmp_path)
    root = tmp_path / "000000"
    tongban("init", "--division", "000000", "--name", "国家节点", home=root)
    tongban("pki", "init-root", home=root, env=clock)
    county = tmp_path / "540102"
    tongban("init", "--division", "540102", "--name", "城关区", home=county)
    tongban("pki", "csr", home=county)
    tongban("pki", "issue", str(county / "node.csr"), "--out", str(tmp_path / "c.pem"),
            "--days", "3", home=root, env=clock)
    tongban("pki", "import", str(tmp_path / "c.pem"), home=county, env=clock)
    code, verdicts = doctor(county)
    assert code == 2 and verdicts["certificate"] == "CRITICAL"
    assert fed.nodes == {}
    tongban("matter", "import", "--sample", home=root)
    data = bytearray((root / "node.db").read_bytes())
    for offset in range(4096 * 2, min(len(data), 4096 * 6), 97):
        data[offset] ^= 0x5A
    (root / "node.db").write_bytes(bytes(data))
    (root / "node.db-wal").unlink(missing_ok=True)
    code, verdicts = doctor(root)
    assert code == 2 and verdicts["database"] == "CRITICAL"
    assert verdicts["link"] == "UNKNOWN"
