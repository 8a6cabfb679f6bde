"""Sync by file when there is no link (sneakernet): a node home's side of bundles.

The county exports what its parent lacks (with a pending key-rotation request);
the parent imports it (the same checks as a network push), keeps the child's
certificate requests for its operator, and writes a reply with its receipts and
the ancestors' records; the county imports the reply. Bundle files carry
personal data, so they are encrypted to the recipient's certificate key
(sync.bundle, pki.envelope) and written 0600 with pki.files.write_atomic: a
stick pulled out half-way leaves no file that looks complete. Importing
decrypts with the home's keys, old ones included (a bundle made before this
node rotated its key was encrypted to the old certificate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from node import link
from node.enrolment import keep_child_requests, pending_request
from node.home import Home
from node.store import NodeStore
from node.wiring import build
from pki.files import PRIVATE_MODE, read_file, write_atomic
from protos.tongban.v1 import federation_pb2
from sync import bundle as bundles


@dataclass(frozen=True)
class Written:
    """A bundle file written: for whom, what it carries, how big."""

    path: Path
    peer: str
    records: int
    batches: int
    receipts: int
    size: int


def _write(path: Path, made: federation_pb2.Bundle, data: bytes, peer: str) -> Written:
    write_atomic(path, data, mode=PRIVATE_MODE, what="bundle")
    return Written(path, peer, sum(len(b.records) for b in made.batches),
                   sum(1 for b in made.batches if b.records), len(made.receipts), len(data))


def export_for_parent(home: Home, out: Path) -> Written:
    """Everything the parent lacks according to its newest receipts, signed, into ``out``."""
    store = NodeStore.open(home)
    try:
        store.ensure_checkpoint()  # records leave the node: the tail must be signed
        replica = build(store)
        parent = link.parent_division(replica)
        made = bundles.export_for_parent(replica, parent,
                                         pending_request(home, replica.chain[0]))
        data = bundles.encode(made, replica, bundles.parent_certificate(replica))
        return _write(out, made, data, parent)
    finally:
        store.close()


@dataclass
class Imported:
    sender: str
    from_child: bool
    new_records: int
    receipts: int
    saved_requests: list[Path] = field(default_factory=list)
    reply: Written | None = None


def import_file(home: Home, path: Path, reply: Path | None, say: Callable[[str], None]
                ) -> Imported:
    """Verify and store a bundle; from a child, keep its requests and write ``reply``.

    ``reply`` is ignored for a bundle from the parent (only a child's bundle
    gets a reply); ``say`` receives progress lines.
    """
    store = NodeStore.open(home)
    try:
        replica = build(store)
        data = read_file(path, "bundle", limit=bundles.MAX_BUNDLE_FILE_BYTES)
        keyring = bundles.Keyring(replica.division, replica.own_certs, home.decryption_keys())
        done = bundles.import_bundle(replica, data, f"bundle {path}", say, keyring)
        result = Imported(done.sender, done.from_child, done.new_records, len(done.receipts))
        if not done.from_child and done.held_of_subtree:
            link.confirm_sizes(store, replica, done.held_of_subtree)
        if done.from_child:
            result.saved_requests = keep_child_requests(home, done.sender, done.csrs)
            if reply is not None:
                store.ensure_checkpoint()
                made = bundles.reply_for_child(replica, done)
                result.reply = _write(reply, made, bundles.encode(made, replica, done.sender_cert),
                                      done.sender)
        return result
    finally:
        store.close()
