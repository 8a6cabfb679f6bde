"""``tongban audit``: offline verification for auditors (see docs/auditors.md).

The inputs and the case reading are node.audits'; the verification is sync's.
Exit codes: 0 verified, 1 problems found, 2 could not run.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from node import audits
from node.cli.common import (
    echo,
    emit_json,
    format_ms,
    home_option,
    json_option,
    resolve_home,
    table,
)
from node.home import Home
from pki.certs import division_of, serial_hex
from pki.errors import VerificationError

#: Below this many records a progress bar is only noise.
PROGRESS_FROM = 100_000


class AuditFailed(VerificationError):
    """The audit ran and found problems (exit 1); the report lists them."""


@click.group("audit")
def audit_group() -> None:
    """Offline verification of replicated logs and case proofs (for auditors)."""


@audit_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--root", "root_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The national root certificate (PEM). Default: the home's root.crt.")
@click.option("--home", "home_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="For a bundle: the node home whose key decrypts it (the "
              "bundle's recipient). Without it only the sender is checked.")
@json_option
def verify(path: Path, root_file: Path | None, home_dir: Path | None, as_json: bool) -> None:
    """Verify every record, checkpoint, receipt and certificate in PATH.

    PATH is a node database, a node home folder, or a bundle file. A bundle is
    encrypted to its recipient: with --home of that node it is decrypted and
    audited whole; otherwise the sender's signature and certificate chain are
    checked and one line says the contents cannot be read (exit 0 when they
    verify). Exit 0 when everything verified, 1 when problems were found (each
    is listed), 2 when the audit could not run.

    \b
    Example:
      tongban audit verify /mnt/usb/node.db --root root.pem
      tongban audit verify /var/lib/tongban --json
      tongban audit verify /mnt/usb/540102-up.tbb --home /var/lib/tongban
    """
    with ExitStack() as stack:
        bars: list = []

        def progress(done: int, total: int) -> None:
            if total < PROGRESS_FROM:
                return
            if not bars:
                bars.append(stack.enter_context(click.progressbar(
                    length=total, label="auditing records", file=sys.stderr)))
            bars[0].update(done - bars[0].pos)

        audited = audits.audit(path, root_file, progress,
                               Home(home_dir.absolute()) if home_dir else None)
    report = audited.report
    if as_json:
        emit_json(report.to_json())
    else:
        echo(f"root: {division_of(audited.root)} serial {serial_hex(audited.root)}")
        echo(report.text())
    if not report.ok:
        raise AuditFailed(f"audit found {report.problem_count()} problems "
                          f"and {len(report.forks)} forks in {audited.path}")


@audit_group.command("prove")
@click.option("--case", "case_no", required=True, help="Case number, e.g. 540102-2026-0000003.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Proof file to write (JSON).")
@json_option
@home_option
def prove(case_no: str, out: Path, as_json: bool, home_dir: str | None) -> None:
    """Write a self-contained proof of one case's records for `tongban audit check`.

    \b
    Example:
      tongban audit prove --case 540102-2026-0000003 --out case.proof.json
    """
    count = audits.prove(resolve_home(home_dir), case_no, out)
    if as_json:
        emit_json({"case_no": case_no, "records": count, "out": str(out)})
        return
    echo(f"wrote proof of {count} records of case {case_no} to {out}")


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
    case = audits.check(file, root_file)
    checked = case.proof
    rows = [[e.origin, e.seq, format_ms(e.at_ms), e.action, e.actor] for e in case.events]
    logs: list[dict] = [{"origin": log.origin, "size": log.size, "root": log.root.hex(),
             "signer_serial": serial_hex(log.signer),
             "trusted_time": log.trusted_time.isoformat() if log.trusted_time else None,
             "future_receipts": list(log.future_receipts)}
            for log in checked.logs]
    if as_json:
        emit_json({"case": checked.label, "verified": True, "logs": logs,
                   "events": [dict(zip(("origin", "seq", "time", "action", "actor"), r,
                                       strict=True)) for r in rows]})
        return
    echo(f"case {checked.label}: {len(rows)} records verified against root "
               f"{serial_hex(case.root)}")
    for log in logs:
        when = log["trusted_time"] or "unconfirmed (no parent receipt; judged at now)"
        echo(f"  log {log['origin']}: checkpoint size {log['size']}, signer serial "
                   f"{log['signer_serial']}, trusted time {when}")
        if log["future_receipts"]:
            echo(f"  log {log['origin']}: receipts dated after this machine's clock, not "
                 f"trusted: {', '.join(log['future_receipts'])}")
    echo(table(["origin", "seq", "time", "action", "actor"], rows))
