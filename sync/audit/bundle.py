"""Read a bundle file (format 2: encrypted to its recipient, signed by its sender) for the audit.

Anyone holding the root can check the outside: the header's sender chain and
the sender's signature over the stored header and ciphertext. Only the
recipient's key opens the inside; with it, the bundle is checked as what a link
would carry: every batch on its own against its checkpoint, using the batch's
prefix frontier to stand in for records the bundle does not carry. Without it
the report says, in one line, that the contents could not be read. Nothing in
the file is trusted for being in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from cryptography import x509
from google.protobuf.message import DecodeError

from pki.envelope import Envelope, verify_sender
from pki.errors import Error, MalformedError
from pki.files import read_file
from protos.tongban.v1 import federation_pb2, record_pb2
from sync import deliver
from sync.audit.report import Report
from sync.bundle import MAX_BUNDLE_FILE_BYTES, Keyring, open_contents, read, sender_pool
from sync.certstore import parse_der
from sync.records import parse_record
from sync.trust import Verifier


def read_file_envelope(path: Path) -> Envelope:
    """The bundle file's header and layout, parsed as an import parses them."""
    return read(read_file(path, "bundle", limit=MAX_BUNDLE_FILE_BYTES), f"bundle {path}")


def certificates(report: Report, sealed: Envelope, bundle: federation_pb2.Bundle | None
                 ) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    sources = [("sender chain", list(sealed.chain_der))]
    if bundle is not None:
        sources += [(f"batch {b.origin}@{b.first_seq}", list(b.certificates))
                    for b in bundle.batches]
        sources += [(f"delivery {i}", list(d.certificates))
                    for i, d in enumerate(bundle.deliveries)]
    for what, blobs in sources:
        try:
            found.extend(parse_der(blobs, what))
        except MalformedError as exc:
            report.problem(sealed.sender, None, "certificate", str(exc))
    return found


def check_sender(report: Report, verifier: Verifier, sealed: Envelope, now: datetime) -> None:
    """The sender's signature over the stored header and ciphertext, and its chain at now."""
    sender = sealed.sender
    try:
        cert = sender_pool(sealed, "bundle")[0]
        verify_sender(sealed, cert, "bundle")
    except Error as exc:
        report.problem(sender, None, "bundle-signature",
                       f"the sender's signature over the bundle does not verify: {exc}")
        return
    try:
        verifier.chain(cert, now)
    except Error as exc:
        report.problem(sender, None, "bundle-sender", f"sender certificate: {exc}")


def contents(report: Report, sealed: Envelope, keyring: Keyring | None, what: str
             ) -> federation_pb2.Bundle | None:
    """The decrypted Bundle, or None with the reason in ``report.unreadable`` (no key for
    it here) or as a problem (the key opens it, but the contents are damaged)."""
    where = f"to {sealed.recipient} (certificate sha256 {sealed.recipient_fp.hex()[:16]}…)"
    if keyring is None:
        report.unreadable = f"encrypted {where}; no --home with that node's key was given"
        return None
    try:
        key = keyring.key_for(sealed, what)
    except Error as exc:
        report.unreadable = f"encrypted {where}: {exc}"
        return None
    try:
        return open_contents(sealed, key, what)
    except Error as exc:
        report.problem(sealed.sender, None, "bundle-contents", str(exc))
        return None


def batches(bundle: federation_pb2.Bundle) -> dict[str, list[federation_pb2.LogBatch]]:
    by_origin: dict[str, list[federation_pb2.LogBatch]] = {}
    for batch in bundle.batches:
        by_origin.setdefault(batch.origin, []).append(batch)
    for group in by_origin.values():
        group.sort(key=lambda b: b.first_seq)
    return by_origin


def delivered(report: Report, verifier: Verifier, bundle: federation_pb2.Bundle,
              now: datetime) -> Iterator[record_pb2.Record]:
    """The bundle's deliveries that verify (sync.deliver.proven); each other is reported."""
    for i, carried in enumerate(bundle.deliveries):
        try:
            record = parse_record(carried.record)
            deliver.proven(verifier, record, carried.record, carried.checkpoint,
                           carried.inclusion_proof, now)
        except Error as exc:
            report.problem(bundle.sender, None, "delivery", f"delivery {i} of the bundle: {exc}")
            continue
        yield record


def held_records(bundle: federation_pb2.Bundle) -> Callable[[str, int], bytes | None]:
    """The bundle's record bytes by origin and seq (its batches and deliveries). The index
    is built on the first call only: most audits never need it, and a large bundle's
    index would cost as much memory as its records."""
    index: dict[tuple[str, int], bytes] = {}

    def held(origin: str, seq: int) -> bytes | None:
        if not index:
            for batch in bundle.batches:
                for i, data in enumerate(batch.records):
                    index[(batch.origin, batch.first_seq + i)] = data
            for carried in bundle.deliveries:
                try:
                    record = record_pb2.Record.FromString(carried.record)
                except DecodeError:
                    continue
                index.setdefault((record.origin, record.seq), carried.record)
        return index.get((origin, seq))

    return held
