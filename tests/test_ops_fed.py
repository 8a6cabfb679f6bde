"""The operator's view of a running chain: metrics, health, subtree, doctor, reload.

Real `tongban serve` processes on 127.0.0.1 with mutual TLS (ops.localfed):
root 000000 <- region 540000 <- county 540102, plus 540121 enrolled under the
region and 650000 under the national node, both never synced. The county
holds two cases: one accepted today (its clock runs, green), one only applied.
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
from node_fixtures import register_staff, tongban
from prometheus_client.parser import text_string_to_metric_families

from node.health import UPLINK_SERVICE
from node.home import Home
from node.store import NodeStore
from node.wiring import build, identity
from ops.localfed import Federation, free_port, log_records
from ops.localfed import tongban as tongban_process
from pki import certs
from pki.keys import generate_key
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.batches import make_batch
from sync.receive import PeerNotAllowed
from sync.tls import CHANNEL_OPTIONS, target_name

ID = "540102199001010011"


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    federation = Federation(tmp_path_factory.mktemp("opsfed"), run=tongban)
    federation.add("000000")
    region = federation.add("540000", "000000")
    federation.add("540102", "540000")
    federation.add("540121", "540000")
    federation.add("650000", "000000")
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
    code = next(m["code"] for m in json.loads(tongban("matter", "list", "--json",
                                                      home=county).stdout)
                if m["promised_limit_days"] >= 10)
    detail = json.loads(tongban("matter", "show", code, "--json", home=county).stdout)
    handed_in = [arg for m in detail["materials"] if m.get("required")
                 for arg in ("--material", m["name"])]
    applied = [tongban("case", "apply", "--matter", code, "--applicant", ID, "--name", "扎西",
                       *handed_in, "--quiet", home=county).stdout.strip() for _ in range(2)]
    tongban("case", "accept", applied[0], home=county)
    federation.start("000000")
    federation.start("540000", uplink=True)
    yield federation
    federation.stop_all()


def wait_for(predicate, timeout: float = 60.0):
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


def doctor_check(home, name: str) -> dict:
    """One check of `doctor --json`, without its name: its own verdict, not the exit code."""
    report = json.loads(tongban("doctor", "--json", home=home, check=False).stdout)
    found = next(c for c in report["checks"] if c["name"] == name)
    return {k: v for k, v in found.items() if k != "name"}


def restart_region(fed, watch_certificates: bool) -> int:
    """Restart the region's serve; returns where its log stands, to read what follows."""
    fed.stop("540000")
    home = Home(fed.nodes["540000"].home)
    config = home.load_config()
    config.watch_certificates = watch_certificates
    home.save_config(config)
    mark = len(fed.nodes["540000"].log_path.read_text(encoding="utf-8"))
    fed.start("540000", uplink=True)
    return mark


def keep_syncing(fed, results: list[int], stop: threading.Event) -> threading.Thread:
    """A child syncing in its own processes (alongside this one's in-process commands)."""
    def run() -> None:
        while not stop.is_set():
            results.append(tongban_process("sync", "--once", home=fed.nodes["540102"].home,
                                           check=False).returncode)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


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
    # one case accepted today with 10+ working days to go; the applied one has no clock yet
    assert {light: metrics[("tongban_open_cases", (("light", light),))]
            for light in ("green", "yellow", "red")} == {"green": 1, "yellow": 0, "red": 0}
    assert ("tongban_backup_age_seconds", ()) not in metrics
    before = time.time()
    tongban("db", "backup", "--out", str(fed.root / "region-backup.db"),
            home=fed.nodes["540000"].home)
    age = scrape(fed)[("tongban_backup_age_seconds", ())]
    assert 0 <= age <= time.time() - before + 1
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
    # the national node lists the grandchildren too, from the region's CERT_ISSUED records,
    # and 650000, which never synced, from its own
    national = wait_for(lambda: (views := {v["division"]: v for v in json.loads(tongban(
        "status", "--subtree", "--json", home=fed.nodes["000000"].home).stdout)}) and {
        "540000", "540102", "540121", "650000"} <= set(views) and views)
    assert national["650000"]["records"] == 0 and national["650000"]["last_contact_ms"] is None
    assert national["650000"]["issuer"] == "000000"
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
    assert doctor_check(region.home, "problems") == {"code": 0, "verdict": "OK",
                                                      "message": "none"}
    store = NodeStore.open(Home(county))
    try:
        store.ensure_checkpoint()  # as the uplink does before records leave
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
    assert doctor_check(region.home, "problems") == {
        "code": 1, "verdict": "WARNING", "message": "1 refused batches in quarantine"}
    views = {v["division"]: v for v in json.loads(tongban(
        "status", "--subtree", "--json", home=region.home).stdout)}
    assert views["540102"]["problems"] == 1 and views["540102"]["last_refusal"]
    assert "WARNING tongban.children: child 540102: refused batch of 540102" in (
        region.log_path.read_text(encoding="utf-8"))


def test_reload_a_renewed_certificate_on_sighup_while_a_child_keeps_syncing(fed, tmp_path):
    """With the file watch off, only SIGHUP can have swapped the certificate in."""
    mark = restart_region(fed, watch_certificates=False)
    region = fed.nodes["540000"]
    before = certs.serial_hex(Home(region.home).cert_chain().cert)
    results: list[int] = []
    stop = threading.Event()
    syncing = keep_syncing(fed, results, stop)
    try:
        tongban("pki", "csr", home=region.home)
        bundle = tmp_path / "renewed.pem"
        tongban("pki", "issue", str(region.home / "node.csr"), "--out", str(bundle),
                home=fed.nodes["000000"].home)
        tongban("pki", "import", str(bundle), home=region.home)
        after = certs.serial_hex(Home(region.home).cert_chain().cert)
        assert after != before
        time.sleep(2.5)     # two ticks of serve's main loop: a file watch would have fired
        assert "certificate reloaded" not in region.log_path.read_text(encoding="utf-8")[mark:]
        region.process.send_signal(signal.SIGHUP)
        wait_for(lambda: f"certificate reloaded (SIGHUP): serial {after}" in
                 region.log_path.read_text(encoding="utf-8"))
        count = len(results)
        wait_for(lambda: len(results) >= count + 2)
    finally:
        stop.set()
        syncing.join()
    assert region.process.poll() is None, "SIGHUP must reload, not kill"
    assert results and set(results) == {0}
    assert after in held_serials(fed, "540102", "540000")
    assert "SIGHUP: reloading the certificate" in region.log_path.read_text(encoding="utf-8")


def held_serials(fed, at: str, division: str) -> set[str]:
    db = sqlite3.connect(fed.nodes[at].home / "node.db")
    try:
        return {certs.serial_hex(x509.load_der_x509_certificate(d)) for (d,) in db.execute(
            "SELECT der FROM node_certs WHERE division = ?", (division,))}
    finally:
        db.close()


def test_a_parent_rotating_its_key_keeps_its_child_syncing(fed, tmp_path):
    """The county's certificate was issued by the region's old key; the region rotates,
    `serve` picks the new certificate up from the files, and the county keeps syncing,
    verifying the region's checkpoints signed with the new key."""
    mark = restart_region(fed, watch_certificates=True)
    region, county = fed.nodes["540000"], fed.nodes["540102"]
    old = Home(region.home).cert_chain().cert
    results: list[int] = []
    stop = threading.Event()
    syncing = keep_syncing(fed, results, stop)
    try:
        tongban("pki", "rotate", home=region.home)
        bundle = tmp_path / "rotated.pem"
        tongban("pki", "issue", str(region.home / "node.csr"), "--out", str(bundle),
                home=fed.nodes["000000"].home)
        tongban("pki", "import", str(bundle), home=region.home)
        new = Home(region.home).cert_chain().cert
        assert not certs.same_public_key(new.public_key(), old.public_key())
        wait_for(lambda: "certificate reloaded (certificate files changed): serial "
                 f"{certs.serial_hex(new)}" in region.log_path.read_text(encoding="utf-8"))
        sent = tongban("notice", "send", "--to", "540102", "--title", "换钥", "--text",
                       "区级证书已更换", "--json", home=region.home)
        seq = json.loads(sent.stdout)["seq"]
        wait_for(lambda: len(log_records(county.home, "540000")) > seq)
        count = len(results)
        wait_for(lambda: len(results) >= count + 2)
    finally:
        stop.set()
        syncing.join()
    assert results and set(results) == {0}
    county_cert = Home(county.home).cert_chain().cert
    assert certs.issued_by(county_cert, old) and not certs.issued_by(county_cert, new)
    assert certs.serial_hex(new) in held_serials(fed, "540102", "540000")
    assert "SIGHUP" not in region.log_path.read_text(encoding="utf-8")[mark:]


def test_the_child_refuses_a_parent_certified_for_another_division_or_root(fed, tmp_path):
    county = Home(fed.nodes["540102"].home)
    store = NodeStore.open(county)
    try:
        replica = build(store)
        region_chain = Home(fed.nodes["540000"].home).cert_chain()
        assert replica.require_parent([region_chain.cert, *region_chain.issuers]) == "540000"
        sibling = Home(fed.nodes["540121"].home).cert_chain()
        with pytest.raises(PeerNotAllowed, match="540121 is not this node's parent"):
            replica.require_parent([sibling.cert, *sibling.issuers])
        at = datetime.now(UTC)
        foreign_key = generate_key()
        foreign_root = certs.make_root(foreign_key, at, 30)
        impostor = certs.issue(certs.make_csr(generate_key(), "540000"), foreign_root,
                               foreign_key, at, 30)
        with pytest.raises(PeerNotAllowed, match="does not verify as its division's CA"):
            replica.require_parent([impostor, foreign_root])
    finally:
        store.close()


def test_the_clock_offset_comes_from_hello_even_when_nothing_is_receipted(fed):
    """540121 holds no records: its first exchange pushes nothing and gets no receipt,
    yet it learns its parent's clock, to within half the round trip (same machine: ~0)."""
    county = fed.nodes["540121"].home
    fed.sync("540121")
    link = json.loads(tongban("status", "--json", home=county).stdout)["link"]
    assert link["state"] == "up" and link["last_success_ms"]
    assert 0 < link["clock_uncertainty_ms"] < 5000
    assert abs(link["clock_offset_ms"]) <= link["clock_uncertainty_ms"] + 5
    assert doctor_check(county, "clock")["verdict"] == "OK"


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
