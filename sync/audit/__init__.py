"""Offline audit of replicated logs: authentic, complete, in order, and not forked.

The auditor is given a node database or a bundle and the national root
certificate, and trusts nothing else: not the node that handed over the data,
not its stored hashes, not its clock. Two passes: first every record of every
origin is hashed and parsed (which also collects the revocations the logs
carry), then each origin's checkpoints, receipts and certificates are judged
with those revocations known. With a RecordPolicy (the node's authority
table) the first pass also judges whether each record's origin may say it;
records delivered here from logs not held are verified too and given to the
policy as facts, and the verdicts that needed a record read later are given
at the end of the first pass.

Findings go into a Report instead of being raised, so one run lists every
problem; only "could not run at all" (unreadable input) raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from cryptography import x509

from pki.certs import issued_by
from pki.envelope import is_envelope
from pki.errors import EnvironmentProblem, Error
from pki.revocation import RevocationSet
from sync.audit import bundle as bundle_file
from sync.audit import database
from sync.audit.judge import Claim, OriginInput, ReceiptRow, judge
from sync.audit.report import Report
from sync.audit.tree import FUTURE_SLACK_MS, scan
from sync.bundle import Keyring
from sync.contract import RecordPolicy
from sync.trust import Verifier

#: (records done, records in total)
AuditProgress = Callable[[int, int], None]

_SQLITE_MAGIC = b"SQLite format 3\x00"
_GZIP_MAGIC = b"\x1f\x8b"  # a version-1 bundle: read_file_envelope refuses it by name


def audit_path(path: Path, root: x509.Certificate, now: datetime,
               extra_certs: Iterable[x509.Certificate] = (),
               progress: AuditProgress | None = None,
               policy: RecordPolicy | None = None, keyring: Keyring | None = None) -> Report:
    """Audit a node database or a bundle file, told apart by their first bytes.

    ``keyring`` opens bundles addressed to its node; others are checked from outside.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read {path}: {exc.strerror}") from exc
    if head.startswith(_GZIP_MAGIC) or is_envelope(head):
        return audit_bundle_file(path, root, now, progress, policy, keyring)
    if head == _SQLITE_MAGIC:
        return audit_database(path, root, now, extra_certs, progress, policy)
    raise EnvironmentProblem(f"{path} is neither a node database (SQLite) nor a bundle "
                             "(TBBUNDLE)")


def _future_ms(now: datetime) -> int:
    """Records dated after this (the audit's clock plus the slack) are in the future."""
    return int(now.timestamp() * 1000) + FUTURE_SLACK_MS


def _counter(progress: AuditProgress | None, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total)

    return step


def audit_database(path: Path, root: x509.Certificate, now: datetime,
                   extra_certs: Iterable[x509.Certificate] = (),
                   progress: AuditProgress | None = None,
                   policy: RecordPolicy | None = None) -> Report:
    report = Report(str(path), "database")
    db = database.open_readonly(path)
    try:
        pool = database.certificates(db, report) + list(extra_certs)
        verifier = Verifier(root, RevocationSet(), pool)
        step = _counter(progress, database.total_records(db))
        items = []
        for origin in database.origins(db):
            result = scan(origin, database.chunks(db, origin), database.claim_sizes(db, origin),
                          report, keep_nodes=True, progress=step,
                          judge=policy.reader(origin, 0) if policy else None,
                          future_ms=_future_ms(now))
            report.origin(origin).records = result.end
            database.compare_tree_nodes(db, report, result)
            for revocation in result.revocations:
                verifier.revocations.add(revocation)
            items.append(database.origin_input(db, report, origin, result))
        for record in database.delivered(db, report, verifier, now):
            if policy is not None:
                policy.learn(record)
        _finish(report, policy, lambda origin, seq: database.held_record(db, origin, seq))
        for item in items:
            judge(report, verifier, item, now)
        database.fork_rows(db, report)
    finally:
        db.close()
    _root_hint(report, root, pool)
    return report


def audit_bundle_file(path: Path, root: x509.Certificate, now: datetime,
                      progress: AuditProgress | None = None,
                      policy: RecordPolicy | None = None,
                      keyring: Keyring | None = None) -> Report:
    """The sender's signature and chain always; the contents when ``keyring`` opens them."""
    report = Report(str(path), "bundle")
    sealed = bundle_file.read_file_envelope(path)
    bundle = bundle_file.contents(report, sealed, keyring, f"bundle {path}")
    pool = bundle_file.certificates(report, sealed, bundle)
    verifier = Verifier(root, RevocationSet(), pool)
    if bundle is None:
        bundle_file.check_sender(report, verifier, sealed, now)
        _root_hint(report, root, pool)
        return report
    step = _counter(progress, sum(len(b.records) for b in bundle.batches))
    items: dict[str, OriginInput] = {}
    for origin, group in bundle_file.batches(bundle).items():
        item = items.setdefault(origin, OriginInput(origin))
        previous_end = None
        reader = None
        for batch in group:
            if not batch.records and not batch.checkpoint:
                continue  # a size announcement ("I hold first_seq records"), nothing to check
            end = batch.first_seq + len(batch.records)
            if previous_end is not None and batch.first_seq > previous_end:
                report.problem(origin, previous_end, "gap",
                               f"no record at seq {previous_end}..{batch.first_seq - 1} between "
                               "the bundle's batches")
            previous_end = end
            rows = [(batch.first_seq + i, None, data) for i, data in enumerate(batch.records)]
            if reader is None and policy is not None:
                reader = policy.reader(origin, batch.first_seq)  # one reader along the origin
            try:
                result = scan(origin, [rows], {end}, report, batch.first_seq,
                              list(batch.prefix_frontier), progress=step, judge=reader,
                              future_ms=_future_ms(now))
            except Error as exc:
                report.problem(origin, batch.first_seq, "prefix-frontier", str(exc))
                continue
            report.origin(origin).records += len(batch.records)
            for revocation in result.revocations:
                verifier.revocations.add(revocation)
            item.claims.append(Claim(end, result.roots[end], batch.checkpoint,
                                     tuple(batch.consistency_proof), result.latest.get(end)))
    for entry in bundle.receipts:
        item = items.setdefault(entry.origin, OriginInput(entry.origin))
        item.claims.append(Claim(entry.size, None, entry.checkpoint))
        item.receipts.append(ReceiptRow(entry.size, entry.receipt))
    for record in bundle_file.delivered(report, verifier, bundle, now):
        if policy is not None:
            policy.learn(record)
    _finish(report, policy, bundle_file.held_records(bundle))
    bundle_file.check_sender(report, verifier, sealed, now)
    for item in items.values():
        judge(report, verifier, item, now)
    _root_hint(report, root, pool)
    return report


def _finish(report: Report, policy: RecordPolicy | None,
            held: Callable[[str, int], bytes | None]) -> None:
    """The verdicts that waited for records read later (a handler's event before the apply)."""
    if policy is None:
        return
    for origin, seq, rule, message in policy.finish(held):
        report.problem(origin, seq, f"authority:{rule}", message)


def _root_hint(report: Report, root: x509.Certificate, pool: list[x509.Certificate]) -> None:
    """Name the likely cause when nothing chains: the auditor was given the wrong root."""
    top = [c for c in pool if c.issuer == root.subject and c != root]
    if not top or report.counts.get(("*", "root")):
        return
    if any(issued_by(cert, root) for cert in top):
        return
    report.problem("*", None, "root",
                   "no held certificate was issued by the given root certificate: it is not "
                   "this federation's root (wrong --root?)")
