"""A real little federation for the audit tests, built without the network.

root 000000 -> region 540000 -> counties 540102 and 540121. Each county is a
real node home whose NodeStore writes catalogue and case records (checkpoints at
the store's cadence, the tail signed before each replication); the region's own
home database is the "replicated" database: the counties' logs arrive through
sync.receive.Receiver exactly as a push would deliver them, and the region
cosigns receipts. Two sync rounds, a day apart, give checkpoints with different trusted times.

Building takes a second, so tests build one template per session and copy it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pki_fixtures import Node, enrol, make_root

from node import cases, matters, staff
from node.catalogue_file import sample_catalogue
from node.clock import CLOCK_ENV
from node.db import connect
from node.home import Config, Home
from node.store import Draft, NodeStore, migrate
from node.wiring import StoreHost
from pki import envelope
from pki.certs import cert_pem, certs_pem
from pki.checkpoint import make_receipt
from pki.keys import save_private_key
from pki.revocation import RevocationSet, revocation_body
from protos.tongban.v1 import federation_pb2, record_pb2
from sync import merkle
from sync.batches import make_batch
from sync.bundle import Keyring
from sync.certstore import CertStore
from sync.log import LogStore
from sync.receive import Receiver

REGION = "540000"
COUNTIES = ("540102", "540121")
ID_OK = "540102199001010011"

NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=30)
ROUND1 = NOW - timedelta(days=2)
ROUND2 = NOW - timedelta(days=1)
#: The receiver is not what these tests audit: it checks chains at a time every cert is valid.
RECEIVER_CLOCK = START + timedelta(hours=1)


@dataclass
class Fed:
    base: Path
    root: Node
    region: Node
    counties: dict[str, Node]
    cases: dict[str, list[str]] = field(default_factory=dict)

    def home(self, code: str) -> Home:
        return Home(self.base / f"node-{code}")

    def db_path(self, code: str = REGION) -> Path:
        return self.home(code).db_path

    @property
    def root_pem(self) -> Path:
        return self.base / "root.pem"

    def node(self, code: str) -> Node:
        return {REGION: self.region, **self.counties}[code]

    def copy_to(self, target: Path) -> Fed:
        shutil.copytree(self.base, target)
        return replace(self, base=target, cases={k: list(v) for k, v in self.cases.items()})


def make_home(base: Path, node: Node, issuers: list, root: Node) -> Home:
    home = Home(base / f"node-{node.code}")
    home.path.mkdir(parents=True)
    save_private_key(node.key, home.key_path)
    home.cert_path.write_bytes(cert_pem(node.cert))
    home.chain_path.write_bytes(certs_pem([*issuers, root.cert]))
    home.root_cert_path.write_bytes(cert_pem(root.cert))
    db = connect(home.db_path, create=True)
    migrate(db)
    CertStore(db).add([node.cert, *issuers])
    db.close()
    # a drill home: its records are written under a pinned clock (node.clock_guard)
    home.save_config(Config(division=node.code, name=f"node {node.code}", clock_drill=True))
    return home


def _sample(division: str, n: int) -> list[dict]:
    return sample_catalogue(division)[:n]


def county_round(store: NodeStore, first: bool) -> list[str]:
    """A few writes: catalogue and staff (first round), a new case, and a step on it."""
    items = _sample(store.division, 3)
    if first:
        matters.publish(store, items)
        staff.add(store, "窗口1", "测试", ["clerk"])
    item = items[0]
    required = [m["name"] for m in item.get("materials", []) if m.get("required")]
    case = cases.apply(store, matter_code=item["impl_code"], applicant=ID_OK,
                       applicant_name="测试", channel="window", materials=required,
                       actor="窗口1").case
    cases.act(store, case.case_no, "accept", actor="窗口1")
    return [case.case_no]


class PinnedHost(StoreHost):
    """The node's real host, judging at RECEIVER_CLOCK and before any revocation.

    The tampering tests make the region store what its own checks would refuse
    later (a certificate revoked afterwards), so the auditor has something to find.
    """

    def revocations(self) -> RevocationSet:
        return RevocationSet()

    def now(self) -> datetime:
        return RECEIVER_CLOCK


def receiver_for(store: NodeStore, root: Node) -> Receiver:
    return Receiver(store.db, store.log, CertStore(store.db), root.cert, PinnedHost(store))


def replicate(fed: Fed, county: str, at: datetime) -> int:
    """Push the county's log to the region (small batches) and cosign; returns the size."""
    region = NodeStore.open(fed.home(REGION))
    child = NodeStore.open(fed.home(county))
    try:
        child.ensure_checkpoint()  # as the uplink does before it sends
        receiver = receiver_for(region, fed.root)
        start = region.log.size(county)
        while (batch := make_batch(child.log, CertStore(child.db), county, start, 2048)):
            start = receiver.receive(batch, county, lambda _origin: True).stored_size
        cp = region.log.latest_checkpoint(county)
        assert cp is not None and cp.size == start
        receipt = make_receipt(cp.note, fed.region.key, REGION, at)
        for store in (region, child):
            store.log.add_receipt(county, cp.size, REGION, receipt.time * 1000,
                                  receipt.to_bytes())
        return cp.size
    finally:
        region.close()
        child.close()


def cosign_region(fed: Fed, at: datetime) -> None:
    """The national node (the root key) cosigns the region's newest checkpoint."""
    region = NodeStore.open(fed.home(REGION))
    try:
        cp = region.log.latest_checkpoint(REGION)
        receipt = make_receipt(cp.note, fed.root.key, "000000", at)
        region.log.add_receipt(REGION, cp.size, "000000", receipt.time * 1000,
                               receipt.to_bytes())
    finally:
        region.close()


def region_write(fed: Fed, drafts: list[Draft]) -> None:
    region = NodeStore.open(fed.home(REGION))
    try:
        region.write(drafts)
    finally:
        region.close()


def revoke(fed: Fed, code: str, at: datetime) -> None:
    """The region revokes a county's certificate: a CERT_REVOKED record in its own log."""
    body = revocation_body(fed.counties[code].cert.serial_number, "keyCompromise", at)
    region_write(fed, [Draft(record_pb2.CERT_REVOKED, lambda _s, _h: body)])


def build(base: Path, *, county_days: int = 365) -> Fed:
    root = make_root(START, 3650)
    region = enrol(REGION, root, START, 365)
    counties = {code: enrol(code, region, START, county_days) for code in COUNTIES}
    fed = Fed(base, root, region, counties)
    base.mkdir(parents=True, exist_ok=True)
    fed.root_pem.write_bytes(cert_pem(root.cert))
    make_home(base, region, [], root)
    for node in counties.values():
        make_home(base, node, [region.cert], root)
    items = _sample(REGION, 2)
    with pinned_clock(START + timedelta(days=1)):
        region_store = NodeStore.open(fed.home(REGION))
        matters.publish(region_store, items)
        region_store.close()
    for first, at in ((True, ROUND1), (False, ROUND2)):
        for code in COUNTIES:
            with pinned_clock(at - timedelta(hours=1)):
                store = NodeStore.open(fed.home(code))
                try:
                    fed.cases.setdefault(code, []).extend(county_round(store, first))
                finally:
                    store.close()
            replicate(fed, code, at)
        cosign_region(fed, at)
    return fed


@contextmanager
def pinned_clock(at: datetime) -> Iterator[None]:
    """Records written "at" a past time, so receipts come after the records they cosign."""
    saved = os.environ.get(CLOCK_ENV)
    os.environ[CLOCK_ENV] = at.isoformat()
    try:
        yield
    finally:
        if saved is None:
            del os.environ[CLOCK_ENV]
        else:
            os.environ[CLOCK_ENV] = saved


def prefix_frontier(log: LogStore, origin: str, first_seq: int) -> list[bytes]:
    """Perfect-subtree hashes tiling [0, first_seq), left to right, from the records."""
    leaves = [merkle.leaf_hash(d) for d in log.records(origin, 0, first_seq)]
    tiles, start = [], 0
    for level in range(first_seq.bit_length() - 1, -1, -1):
        if first_seq >> level & 1:
            tiles.append(merkle.hash_tree(leaves[start:start + (1 << level)]))
            start += 1 << level
    return tiles


def write_bundle(fed: Fed, path: Path, starts: dict[str, int] | None = None) -> Path:
    """What the region would send up: every log it holds, from ``starts`` (default 0)."""
    region = NodeStore.open(fed.home(REGION))
    try:
        certs = CertStore(region.db)
        batches = []
        for origin in sorted(region.log.sizes()):
            start = (starts or {}).get(origin, 0)
            while (batch := make_batch(region.log, certs, origin, start, 1 << 20)):
                batch.prefix_frontier.extend(prefix_frontier(region.log, origin, start))
                batches.append(batch)
                start += len(batch.records)
        receipts = [federation_pb2.ReceiptEntry(
            origin=r.origin, size=r.size, receipt=r.note,
            checkpoint=next(c.note for c in region.log.checkpoints(r.origin) if c.size == r.size))
            for origin in region.log.sizes() for r in region.log.receipts(origin)]
        bundle = federation_pb2.Bundle(
            sender=REGION, recipient="000000", created_ms=int(NOW.timestamp() * 1000),
            batches=batches, receipts=receipts)
    finally:
        region.close()
    return seal_bundle(fed, bundle, path)


def seal_bundle(fed: Fed, bundle: federation_pb2.Bundle, path: Path,
                signer: Node | None = None) -> Path:
    """``bundle`` from the region to the national node, as bundle export seals it, signed by
    ``signer`` (default the region: anyone else's signature is a forgery)."""
    path.write_bytes(envelope.seal(
        bundle.SerializeToString(), sender=REGION, recipient="000000",
        recipient_cert=fed.root.cert, chain=[fed.region.cert],
        signing_key=(signer or fed.region).key, created_ms=bundle.created_ms))
    return path


def national_keyring(fed: Fed) -> Keyring:
    """What the national node decrypts the region's bundles with."""
    return Keyring("000000", [fed.root.cert], [fed.root.key])
