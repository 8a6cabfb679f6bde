"""Read a bundle file (gzip of a SignedBundle) for the audit.

A bundle is checked as what a link would carry: the sender's signature over
the exact Bundle bytes, then every batch on its own against its checkpoint,
using the batch's prefix frontier to stand in for records the bundle does not
carry. Nothing in the file is trusted for being in the file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cryptography import x509

from pki.certs import division_of
from pki.errors import Error, MalformedError
from pki.files import read_file
from pki.suite import suite_for
from protos.tongban.v1 import federation_pb2
from sync.audit.report import Report
from sync.bundle import MAX_BUNDLE_FILE_BYTES, unpack
from sync.certstore import parse_der
from sync.trust import Verifier


def read(path: Path) -> tuple[federation_pb2.SignedBundle, federation_pb2.Bundle]:
    """The bundle file's envelope and bundle, decoded as an import decodes it."""
    return unpack(read_file(path, "bundle", limit=MAX_BUNDLE_FILE_BYTES), f"bundle {path}")


def certificates(report: Report, bundle: federation_pb2.Bundle) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    sources = [("sender chain", list(bundle.sender_chain_der))]
    sources += [(f"batch {b.origin}@{b.first_seq}", list(b.certificates)) for b in bundle.batches]
    for what, blobs in sources:
        try:
            found.extend(parse_der(blobs, what))
        except MalformedError as exc:
            report.problem(bundle.sender or "-", None, "certificate", str(exc))
    return found


def check_sender(report: Report, verifier: Verifier, signed: federation_pb2.SignedBundle,
                 bundle: federation_pb2.Bundle, now: datetime) -> None:
    """The sender's signature over the Bundle bytes, and the sender's chain at now."""
    sender = bundle.sender or "-"
    try:
        chain = parse_der(list(bundle.sender_chain_der), "bundle sender chain")
    except MalformedError as exc:
        report.problem(sender, None, "bundle-signature", str(exc))
        return
    if not chain:
        report.problem(sender, None, "bundle-signature", "the bundle carries no sender "
                       "certificate, so its signature cannot be checked")
        return
    cert = chain[0]
    try:
        if division_of(cert) != bundle.sender:
            report.problem(sender, None, "bundle-signature",
                           f"bundle names sender {bundle.sender!r}, but its certificate is "
                           f"for {division_of(cert)}")
            return
        public = cert.public_key()
        suite_for(public).verify(public, signed.bundle, signed.signature)
    except Error as exc:
        report.problem(sender, None, "bundle-signature",
                       f"the sender's signature over the bundle does not verify: {exc}")
        return
    try:
        verifier.chain(cert, now)
    except Error as exc:
        report.problem(sender, None, "bundle-sender", f"sender certificate: {exc}")


def batches(bundle: federation_pb2.Bundle) -> dict[str, list[federation_pb2.LogBatch]]:
    by_origin: dict[str, list[federation_pb2.LogBatch]] = {}
    for batch in bundle.batches:
        by_origin.setdefault(batch.origin, []).append(batch)
    for group in by_origin.values():
        group.sort(key=lambda b: b.first_seq)
    return by_origin
