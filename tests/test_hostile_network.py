"""Hostile peers at a real servicer over mTLS on 127.0.0.1 (issue 12, network refusals).

A revoked child is refused on every RPC, not only Hello; a certified node that
is neither our parent nor our child learns nothing from Hello; every
malformed request is INVALID_ARGUMENT with one line, never UNKNOWN, and the
servicer keeps answering.
"""

from __future__ import annotations

import bz2
import shutil
import sqlite3
from concurrent import futures
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from node_fixtures import tongban
from pki_fixtures import Node, enrol, forge
from servicer_fixtures import served, stub_as

from node.home import Home
from node.serve import start_server
from node.store import NodeStore
from node.wiring import build, identity
from ops.fedcheck import COUNTY, REGION, add_events, records, set_parent_address
from pki import certs
from protos.tongban.v1 import federation_pb2, federation_pb2_grpc
from sync.batches import make_batch
from sync.certstore import der
from sync.packing import pack


def hello_request(home) -> federation_pb2.HelloRequest:
    """The Hello the node at ``home`` sends its parent (as sync.uplink makes it)."""
    store = NodeStore.open(Home(home))
    try:
        replica = build(store)
        return federation_pb2.HelloRequest(
            division=replica.division, chain_der=[der(c) for c in replica.chain],
            sizes=store.log.sizes())
    finally:
        store.close()


def own_batch(home, start: int = 0) -> federation_pb2.LogBatch:
    store = NodeStore.open(Home(home))
    try:
        store.ensure_checkpoint()  # as the uplink does before records leave
        return make_batch(store.log, build(store).certs, COUNTY, start, 64 * 1024)
    finally:
        store.close()


def refusal(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value


def test_a_revoked_child_is_refused_on_every_rpc(fed_copy):
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    add_events(county, 6)
    serial = format(Home(county).cert_chain().cert.serial_number, "x")
    with served(region) as address, stub_as(county, REGION, address) as stub:
        assert stub.Hello(hello_request(county), timeout=10).sizes
        stub.PullLogs(federation_pb2.PullRequest(), timeout=10)
        tongban("pki", "revoke", serial, "--reason", "keyCompromise", home=region)
        held = records(region, COUNTY)
        calls = {
            "Hello": lambda: stub.Hello(hello_request(county), timeout=10),
            "PullLogs": lambda: stub.PullLogs(federation_pb2.PullRequest(), timeout=10),
            "PushLogs": lambda: stub.PushLogs(
                federation_pb2.PushRequest(batch=own_batch(county)), timeout=10),
        }
        for name, call in calls.items():
            err = refusal(call)
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED, name
            assert "revoked" in err.details() and "\n" not in err.details(), name
        assert records(region, COUNTY) == held


def test_hello_tells_a_certified_stranger_nothing(fed_copy):
    region = fed_copy.nodes[REGION].home
    stranger = fed_copy.add("650000", "000000").home  # certified by the root, not our child
    with served(region) as address:
        with stub_as(stranger, REGION, address) as stub:
            err = refusal(lambda: stub.Hello(hello_request(stranger), timeout=10))
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
            assert err.details() == ("peer 650000 is not a child of 540000: its certificate "
                                     "was not issued by this node")
            assert err.trailing_metadata() in ((), None)
        with stub_as(fed_copy.nodes[COUNTY].home, REGION, address) as stub:
            assert REGION in stub.Hello(hello_request(fed_copy.nodes[COUNTY].home),
                                        timeout=10).sizes
    db = sqlite3.connect(region / "node.db")
    try:
        assert [d for (d,) in db.execute("SELECT division FROM child_contacts")] == [COUNTY]
        assert db.execute("SELECT count(*) FROM node_certs WHERE division = '650000'"
                          ).fetchone() == (0,)
    finally:
        db.close()


def _malformed(county) -> dict[str, tuple[str, object]]:
    """Each bad request by name: the RPC and the request."""
    hello = hello_request(county)
    batch = own_batch(county)

    def hello_with(**fields) -> federation_pb2.HelloRequest:
        out = federation_pb2.HelloRequest()
        out.CopyFrom(hello)
        for name, value in fields.items():
            if name == "chain_der":
                del out.chain_der[:]
                out.chain_der.extend(value)
            else:
                getattr(out, name).update(value)
        return out

    def batch_with(**fields) -> federation_pb2.PushRequest:
        out = federation_pb2.LogBatch()
        out.CopyFrom(batch)
        for name, value in fields.items():
            setattr(out, name, value)
        return federation_pb2.PushRequest(batch=out)

    def packed_with(data: bytes) -> federation_pb2.PushRequest:
        out = pack(batch)
        out.packed_records = data
        return federation_pb2.PushRequest(batch=out)

    records_only = federation_pb2.LogBatch(records=batch.records).SerializeToString()
    many = {f"54{p:02d}{c:02d}": 1 for p in range(1, 100) for c in range(1, 100)}
    many.update({f"65{p:02d}{c:02d}": 1 for p in range(1, 20) for c in range(1, 100)})
    return {
        "push first_seq 2^63": ("PushLogs", batch_with(first_seq=1 << 63)),
        "push first_seq 2^64-1 (a negative int64)": ("PushLogs",
                                                     batch_with(first_seq=(1 << 64) - 1)),
        "push origin not a code": ("PushLogs", batch_with(origin="54010x")),
        "push origin with escapes": ("PushLogs", batch_with(origin="\x1b[31m540102\r\n")),
        "push packed beside records": ("PushLogs", batch_with(packed_records=bz2.compress(
            records_only))),
        "push packed not bzip2": ("PushLogs", packed_with(records_only)),
        "push packed bomb (64 MiB of zeros)": ("PushLogs", packed_with(bz2.compress(
            b"\0" * (64 << 20)))),
        "push packed then trailing bytes": ("PushLogs", packed_with(
            bz2.compress(records_only) + b"tail")),
        "push packed truncated": ("PushLogs", packed_with(bz2.compress(records_only)[:-9])),
        "push packed other fields": ("PushLogs", packed_with(bz2.compress(
            federation_pb2.LogBatch(origin=COUNTY, records=batch.records).SerializeToString()))),
        "pull size 2^63": ("PullLogs", federation_pb2.PullRequest(sizes={REGION: 1 << 63})),
        "pull size key not a code": ("PullLogs", federation_pb2.PullRequest(sizes={"x": 1})),
        "pull delivered 2^64-1": ("PullLogs", federation_pb2.PullRequest(
            delivered={COUNTY: (1 << 64) - 1})),
        "pull 11,000 origins": ("PullLogs", federation_pb2.PullRequest(sizes=many)),
        "hello 7 certificates": ("Hello", hello_with(chain_der=[hello.chain_der[0]] * 7)),
        "hello garbage certificate": ("Hello", hello_with(chain_der=[b"\x30\x03\x02\x01"])),
        "hello size key with escapes": ("Hello", hello_with(sizes={"\x1b[2J": 1})),
        "hello delivered 2^63": ("Hello", hello_with(delivered={COUNTY: 1 << 63})),
    }


def test_every_malformed_request_is_invalid_argument_in_one_line(fed_copy):
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    add_events(county, 4)
    with served(region) as address, stub_as(county, REGION, address) as stub:
        for name, (rpc, request) in _malformed(county).items():
            err = refusal(lambda rpc=rpc, request=request: getattr(stub, rpc)(request,
                                                                             timeout=10))
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (name, err.details())
            assert err.details().isprintable(), name
        assert records(region, COUNTY) == []
        stub.Hello(hello_request(county), timeout=10)
        # the servicer still answers, and a well-formed packed batch stores the exact bytes
        response = stub.PushLogs(federation_pb2.PushRequest(batch=pack(own_batch(county))),
                                 timeout=10)
        assert response.stored_size == len(records(county, COUNTY))
        assert records(region, COUNTY) == records(county, COUNTY)
        # a later batch without certificates is checked against those the parent holds
        held = response.stored_size
        add_events(county, 2)
        later = pack(own_batch(county, start=held))
        del later.certificates[:]
        response = stub.PushLogs(federation_pb2.PushRequest(batch=later), timeout=10)
        assert response.stored_size == len(records(county, COUNTY)) == held + 2
    db = sqlite3.connect(region / "node.db")
    try:
        contacts = db.execute("SELECT division, sizes FROM child_contacts").fetchall()
    finally:
        db.close()
    assert [d for d, _ in contacts] == [COUNTY] and "\\u001b" not in contacts[0][1]


def _contacts(home) -> list[str]:
    db = sqlite3.connect(home / "node.db")
    try:
        return [d for (d,) in db.execute("SELECT division FROM child_contacts")]
    except sqlite3.OperationalError:  # no Hello recorded yet: the table comes with the first
        return []
    finally:
        db.close()


def test_hello_and_pull_do_not_wait_behind_a_push(fed_copy):
    """The servicer's write lock held (as a long push holds it): Hello and PullLogs answer
    from a read snapshot; the contact Hello records waits for the next holder of the lock."""
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    add_events(county, 4)
    store = NodeStore.open(Home(region))
    replica = build(store)
    server, port, _ = start_server(store, replica, "127.0.0.1:0",
                                   identity(Home(region)).server_credentials())
    try:
        with stub_as(county, REGION, f"127.0.0.1:{port}") as stub:
            with replica.lock:
                hello = stub.Hello(hello_request(county), timeout=10)
                pulled = stub.PullLogs(federation_pb2.PullRequest(sizes={}), timeout=10)
                assert _contacts(region) == []
            assert dict(hello.sizes) == store.log.sizes()
            assert [b.origin for b in pulled.batches] == [REGION]
            stub.PushLogs(federation_pb2.PushRequest(batch=own_batch(county)), timeout=10)
            assert _contacts(region) == [COUNTY]
    finally:
        server.stop(None)
        store.close()


def test_the_snapshot_readers_close_with_the_store(fed_copy):
    """A served store's read-only connections go when it closes, so its file can be
    replaced (a restore) and opened again."""
    county, region = fed_copy.nodes[COUNTY].home, fed_copy.nodes[REGION].home
    with served(region) as address, stub_as(county, REGION, address) as stub:
        stub.Hello(hello_request(county), timeout=10)
    copy = region / "copy.db"
    shutil.copy(region / "node.db", copy)
    for suffix in ("-wal", "-shm"):
        (region / f"node.db{suffix}").unlink(missing_ok=True)
    shutil.copy(copy, region / "node.db")
    store = NodeStore.open(Home(region))
    try:
        assert store.log.sizes()
    finally:
        store.close()


class _Impostor(federation_pb2_grpc.FederationServicer):
    """A server at the parent's address with a certificate for the parent's name from
    another subtree's CA (TLS accepts it: node certificates carry no name constraints),
    answering Hello with the real parent's public chain. It records what it is sent."""

    def __init__(self, parent_chain: list[bytes], sizes: dict[str, int],
                 signature: bytes) -> None:
        self.parent_chain, self.sizes, self.signature = parent_chain, sizes, signature
        self.calls: list[str] = []

    def Hello(self, request, context):
        self.calls.append("Hello")
        return federation_pb2.HelloResponse(division=REGION, chain_der=self.parent_chain,
                                            sizes=self.sizes, packs_batches=True,
                                            nonce_signature=self.signature)

    def PushLogs(self, request, context):
        self.calls.append("PushLogs")
        return federation_pb2.PushResponse()

    def PullLogs(self, request, context):
        self.calls.append("PullLogs")
        return federation_pb2.PullResponse()


@pytest.mark.parametrize(("signature", "says"), [
    (b"\x30\x06\x02\x01\x01\x02\x01\x01", "not signed by the key of the certificate it "
     "presents: it is not the node it claims to be; nothing was sent to it"),
    (b"", "not signed: upgrade that node to this tongban version (parents before their "
     "children)"),
])
def test_a_server_replaying_the_parents_chain_is_refused_before_anything_crosses(
        fed_copy, signature, says):
    fed = fed_copy
    county, national = fed.nodes[COUNTY].home, Home(fed.nodes["000000"].home)
    region_home = Home(fed.nodes[REGION].home)
    add_events(county, 5)
    root = Node("000000", serialization.load_pem_private_key(
        national.key_path.read_bytes(), None), national.cert_chain().cert)
    sibling = enrol("650000", root, now=datetime.now(UTC), is_ca=True)
    fake = forge(REGION, sibling, ca=True, not_before=datetime.now(UTC) - timedelta(hours=1),
                 not_after=datetime.now(UTC) + timedelta(days=30))
    impostor = _Impostor([der(c) for c in region_home.cert_chain().all()], {COUNTY: 0},
                         signature)
    server = grpc.server(futures.ThreadPoolExecutor(4))
    federation_pb2_grpc.add_FederationServicer_to_server(impostor, server)
    key_pem = fake.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials(
        [(key_pem, certs.certs_pem([fake.cert, sibling.cert]))],
        root_certificates=national.root_cert_path.read_bytes(), require_client_auth=True))
    server.start()
    try:
        set_parent_address(county, f"127.0.0.1:{port}")
        done = tongban("sync", "--once", home=county, check=False)
    finally:
        server.stop(0)
    assert done.returncode != 0
    assert says in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert impostor.calls == ["Hello"]  # no record left the county
