"""``tongban audit``: offline verification for auditors (see docs/auditors.md).

The verification itself lives in sync (sync.audit, sync.caseproof) and knows
nothing of cases; this layer finds files, a case's records (through the
case_events projection) and prints. Exit codes: 0 verified, 1 problems found,
2 could not run.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography import x509

from node.cli_common import emit_json, format_ms, home_option, json_option, resolve_home, table
from node.db import connect
from node.home import Home
from pki.certs import division_of, load_cert, load_certs, serial_hex
from pki.errors import EnvironmentProblem, Error, InputError, VerificationError
from protos.tongban.v1 import record_pb2
from sync.audit import audit_path, caseproof
from sync.records import hlc_ms, parse_body

#: Below this many records a progress bar is only noise.
PROGRESS_FROM = 100_000


class AuditFailed(VerificationError):
    """The audit ran and found problems (exit 1); the report lists them."""


def _now() -> datetime:
    return datetime.now(UTC)


def _read_root(path: Path | None) -> x509.Certificate:
    if path is None:
        raise EnvironmentProblem("no root certificate: pass --root ROOT.pem (or a node home "
                                 "that holds root.crt)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read root certificate {path}: {exc.strerror}") from exc
    try:
        return load_cert(data, f"root certificate {path}")
    except Error as exc:
        raise EnvironmentProblem(str(exc)) from exc


def _home_certs(home: Home) -> list[x509.Certificate]:
    """The node's own certificate and chain: a county's own database may hold no node_certs."""
    found: list[x509.Certificate] = []
    for path in (home.cert_path, home.chain_path):
        if path.exists() and path.read_bytes().strip():
            found.extend(load_certs(path.read_bytes(), str(path)))
    return found


@click.group("audit")
def audit_group() -> None:
    """Offline verification of replicated logs and case proofs (for auditors)."""


@audit_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--root", "root_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The national root certificate (PEM). Default: the home's root.crt.")
@json_option
def verify(path: Path, root_file: Path | None, as_json: bool) -> None:
    """Verify every record, checkpoint, receipt and certificate in PATH.

    PATH is a node database, a node home folder, or a bundle file. Exit 0 when
    everything verified, 1 when problems were found (each is listed), 2 when
    the audit could not run.

    \b
    Example:
      tongban audit verify /mnt/usb/node.db --root root.pem
      tongban audit verify /var/lib/tongban --json
    """
    extra: list[x509.Certificate] = []
    if path.is_dir():
        home = Home(path.absolute())
        if root_file is None and home.root_cert_path.exists():
            root_file = home.root_cert_path
        extra = _home_certs(home)
        path = home.db_path
    if not path.exists():
        raise EnvironmentProblem(f"nothing to audit at {path}")
    root = _read_root(root_file)
    with ExitStack() as stack:
        bars: list = []

        def progress(done: int, total: int) -> None:
            if total < PROGRESS_FROM:
                return
            if not bars:
                bars.append(stack.enter_context(click.progressbar(
                    length=total, label="auditing records", file=sys.stderr)))
            bars[0].update(done - bars[0].pos)

        report = audit_path(path, root, _now(), extra, progress)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(f"root: {division_of(root)} serial {serial_hex(root)}")
        click.echo(report.text())
    if not report.ok:
        raise AuditFailed(f"audit found {report.problem_count()} problems "
                          f"and {len(report.forks)} forks in {path}")


@audit_group.command("prove")
@click.option("--case", "case_no", required=True, help="Case number, e.g. 540102-2026-0000003.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Proof file to write (JSON).")
@home_option
def prove(case_no: str, out: Path, home_dir: str | None) -> None:
    """Write a self-contained proof of one case's records for `tongban audit check`.

    \b
    Example:
      tongban audit prove --case 540102-2026-0000003 --out case.proof.json
    """
    home = resolve_home(home_dir)
    home.load_config()
    db = connect(home.db_path)
    try:
        refs = db.execute("SELECT origin, seq FROM case_events WHERE case_no = ?"
                          " ORDER BY origin, seq", (case_no,)).fetchall()
        if not refs:
            raise InputError(f"no case {case_no} on this node: see 'tongban case list'")
        data = caseproof.prove(db, refs, case_no, _home_certs(home))
    finally:
        db.close()
    if home.root_cert_path.exists():
        caseproof.check(data, _read_root(home.root_cert_path), _now())
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {out}: {exc.strerror}") from exc
    click.echo(f"wrote proof of {len(refs)} records of case {case_no} to {out}")


def _case_rows(checked: caseproof.CheckedProof) -> list[list[object]]:
    """One row per event; every record must be an event of the case the proof names."""
    rows = []
    for log in checked.logs:
        for seq, record in log.records:
            if record.kind != record_pb2.CASE_EVENT:
                raise VerificationError(f"record {log.origin}#{seq} is not a case event")
            event = parse_body(record_pb2.CaseEvent, record.body, f"case event {log.origin}#{seq}")
            if checked.label and event.case_no != checked.label:
                raise VerificationError(f"record {log.origin}#{seq} belongs to case "
                                        f"{event.case_no}, not {checked.label}")
            rows.append([log.origin, seq, format_ms(hlc_ms(record.hlc)), event.action,
                         event.actor])
    return rows


@audit_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--root", "root_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The national root certificate (PEM).")
@json_option
def check(file: Path, root_file: Path, as_json: bool) -> None:
    """Verify a case proof with nothing but the root certificate.

    \b
    Example:
      tongban audit check case.proof.json --root root.pem
    """
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read proof {file}: {exc.strerror}") from exc
    root = _read_root(root_file)
    checked = caseproof.check(data, root, _now())
    rows = _case_rows(checked)
    logs = [{"origin": log.origin, "size": log.size, "root": log.root.hex(),
             "signer_serial": serial_hex(log.signer),
             "trusted_time": log.trusted_time.isoformat() if log.trusted_time else None}
            for log in checked.logs]
    if as_json:
        emit_json({"case": checked.label, "verified": True, "logs": logs,
                   "events": [dict(zip(("origin", "seq", "time", "action", "actor"), r,
                                       strict=True)) for r in rows]})
        return
    click.echo(f"case {checked.label}: {len(rows)} records verified against root "
               f"{serial_hex(root)}")
    for log in logs:
        when = log["trusted_time"] or "unconfirmed (no parent receipt; judged at now)"
        click.echo(f"  log {log['origin']}: checkpoint size {log['size']}, signer serial "
                   f"{log['signer_serial']}, trusted time {when}")
    click.echo(table(["origin", "seq", "time", "action", "actor"], rows))
