"""What ``tongban audit`` needs from node files: the root to trust, a home's own
certificates, and the records of one case.

The verification itself lives in sync (sync.audit, sync.audit.caseproof) and knows
nothing of cases; this module finds the inputs, and reads a checked case proof
back as case events, refusing a proof whose records are not all events of the
case it names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509

from node import cases
from node.authority import AuditPolicy
from node.clock import now
from node.db import connect
from node.home import Home
from node.store import NodeStore
from pki.certs import division_of, load_cert
from pki.errors import EnvironmentProblem, Error, InputError, VerificationError
from pki.files import PRIVATE_MODE, read_file, write_atomic
from protos.tongban.v1 import record_pb2
from sync.audit import AuditProgress, audit_path, caseproof
from sync.audit.report import Report
from sync.bundle import Keyring
from sync.records import hlc_ms, parse_body


def read_root(path: Path | None) -> x509.Certificate:
    """The root certificate the auditor trusts; anything wrong with it means "could not run"."""
    if path is None:
        raise EnvironmentProblem("no root certificate: pass --root ROOT.pem (or a node home "
                                 "that holds root.crt)")
    data = read_file(path, "root certificate")
    try:
        return load_cert(data, f"root certificate {path}")
    except Error as exc:
        raise EnvironmentProblem(str(exc)) from exc


def _sign_tail(home: Home) -> None:
    """Sign the node's own records written since its last checkpoint (NodeStore cadence).

    Not on a read-only copy (a USB stick, a read-only mount): the auditor reads
    it as it is, and an unsigned tail is then reported as such.
    """
    if not (os.access(home.db_path, os.W_OK) and os.access(home.path, os.W_OK)):
        return
    store = NodeStore.open(home)
    try:
        store.ensure_checkpoint()
    finally:
        store.close()


@dataclass(frozen=True)
class Audited:
    path: Path  # the database or bundle file that was audited
    root: x509.Certificate
    report: Report


def keyring(home: Home) -> Keyring | None:
    """What ``home`` can decrypt bundles with: its certificates, old and current, and its
    keys; None for a home without a certificate or key (its bundles stay unreadable)."""
    if not (home.cert_path.exists() and home.key_path.exists()):
        return None
    own = [home.cert_chain().cert, *home.old_certs()]
    return Keyring(division_of(own[0]), own, home.decryption_keys())


def audit(path: Path, root_file: Path | None, progress: AuditProgress | None = None,
          reader: Home | None = None) -> Audited:
    """Audit a node database, a node home folder or a bundle file at ``clock.now()``.

    For a home, its root.crt is the default root and its own certificates are
    added to the pool: a county's own database may hold no node_certs. Every
    record is judged against the authority table (node.authority). A bundle is
    decrypted with ``reader``'s keys when it is addressed to that node (its
    root.crt is then the default root); otherwise only its sender is checked.
    """
    if reader is not None and root_file is None and reader.root_cert_path.exists():
        root_file = reader.root_cert_path
    extra: list[x509.Certificate] = []
    if path.is_dir():
        home = Home(path.absolute())
        if root_file is None and home.root_cert_path.exists():
            root_file = home.root_cert_path
        extra = home.installed_certs()
        path = home.db_path
        if path.exists():
            _sign_tail(home)  # the node's own unsigned tail is its cadence, not a finding
    if not path.exists():
        raise EnvironmentProblem(f"nothing to audit at {path}")
    root = read_root(root_file)
    keys = keyring(reader) if reader is not None else None
    return Audited(path, root, audit_path(path, root, now(), extra, progress, AuditPolicy(),
                                          keys))


def prove(home: Home, case_no: str, out: Path) -> int:
    """Write a self-contained proof of one case's records; returns how many it covers.

    With a root installed the proof is checked before it is written, so a
    proof that would not verify is never handed out.
    """
    _sign_tail(home)  # the proof needs a signed checkpoint covering the case
    db = connect(home.db_path)
    try:
        refs = cases.records_of(db, case_no)
        if not refs:
            raise InputError(f"no case {case_no} on this node: see 'tongban case list'")
        data = caseproof.prove(db, refs, case_no, home.installed_certs())
    finally:
        db.close()
    if home.root_cert_path.exists():
        caseproof.check(data, read_root(home.root_cert_path), now())
    write_atomic(out, data, mode=PRIVATE_MODE, what="case proof")  # personal data
    return len(refs)


@dataclass(frozen=True)
class CaseEventRow:
    origin: str
    seq: int
    at_ms: int
    action: str
    actor: str


@dataclass(frozen=True)
class CheckedCase:
    proof: caseproof.CheckedProof
    root: x509.Certificate
    events: list[CaseEventRow]


def check(file: Path, root_file: Path, at: datetime | None = None) -> CheckedCase:
    """Verify a case proof with nothing but the root; every record must be an event of the
    case the proof names."""
    data = read_file(file, "proof")
    root = read_root(root_file)
    checked = caseproof.check(data, root, now() if at is None else at)
    if not checked.label:
        raise VerificationError(f"proof {file} names no case, so its records prove nothing "
                                "about one")
    events = []
    for log in checked.logs:
        for seq, record in log.records:
            if record.kind != record_pb2.CASE_EVENT:
                raise VerificationError(f"record {log.origin}#{seq} is not a case event")
            event = parse_body(record_pb2.CaseEvent, record.body, f"case event {log.origin}#{seq}")
            if event.case_no != checked.label:
                raise VerificationError(f"record {log.origin}#{seq} belongs to case "
                                        f"{event.case_no}, not {checked.label}")
            events.append(CaseEventRow(log.origin, seq, hlc_ms(record.hlc), event.action,
                                       event.actor))
    return CheckedCase(checked, root, events)
