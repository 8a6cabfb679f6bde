"""``tongban licence``: electronic licences (电子证照): issue, list, show, revoke, export, verify.

Exit codes of ``licence verify``: 0 valid, 1 invalid, revoked or expired,
2 could not run (no root, unreadable file, nothing to verify against).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography import x509

from node import licence_export, licence_types, licence_verify, licences
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home, table
from node.cli.common import today as local_today
from node.home import Home
from node.licence_format import from_qr_text
from node.store import NodeStore
from pki.certs import load_cert
from pki.errors import EnvironmentProblem, Error, InputError, VerificationError


class LicenceNotValid(VerificationError):
    """A genuine licence that is revoked, expired or not yet valid (exit 1)."""


@click.group("licence")
def licence_group() -> None:
    """Licences (电子证照): issue, list, show, revoke, export, verify, relay, types."""


def _open(home_dir: str | None) -> NodeStore:
    return NodeStore.open(resolve_home(home_dir))


@licence_group.command("issue")
@click.argument("case_no")
@json_option
@home_option
def issue(case_no: str, as_json: bool, home_dir: str | None) -> None:
    """Issue the licence of an approved, concluded case, sealed by its implementing body.

    \b
    Example:
      tongban licence issue 540102-2026-0000003
    """
    claims = licences.issue(_open(home_dir), case_no)
    if as_json:
        emit_json(asdict(claims))
        return
    until = claims.valid_to or "长期"
    echo(f"{claims.licence_id} {claims.type_name} for {claims.holder_name}, "
               f"valid {claims.valid_from} to {until}")


@licence_group.command("list")
@click.option("--holder", help="Holder's ID number or USCC.")
@click.option("--type", "type_code", help="Licence type code, e.g. GA0001.")
@json_option
@home_option
def list_(holder: str | None, type_code: str | None, as_json: bool, home_dir: str | None
          ) -> None:
    """The licence directory (电子证照目录) of what this node holds.

    \b
    Example:
      tongban licence list --holder 540102199001010011
    """
    found = licences.list_licences(_open(home_dir).db, holder, type_code)
    if as_json:
        emit_json(found)
        return
    echo(table(["licence", "type", "holder", "issued", "valid to", "status"],
                     [(i["licence_id"], i["type_name"], i["holder_name"], i["issue_date"],
                       i["valid_to"] or "长期", "revoked" if i["revoked"] else "")
                      for i in found]))


@licence_group.command("show")
@click.argument("licence_id")
@json_option
@home_option
def show(licence_id: str, as_json: bool, home_dir: str | None) -> None:
    """Show one licence.

    \b
    Example:
      tongban licence show 1.2.156.3005.2.GA0001.11540102015712342L.5401020000012.001.7
    """
    item = licences.show(_open(home_dir).db, licence_id)
    if as_json:
        emit_json(item)
        return
    for key, value in item.items():
        if value not in (None, ""):
            echo(f"{key:12} {value}")


@licence_group.command("revoke")
@click.argument("licence_id")
@click.option("--reason", required=True)
@json_option
@home_option
def revoke(licence_id: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Revoke a licence this node issued; the revocation reaches every node.

    \b
    Example:
      tongban licence revoke 1.2.156.3005.2.GA0001.11540102015712342L.5401020000012.001.7 \\
        --reason 户口已迁出
    """
    licences.revoke(_open(home_dir), licence_id, reason)
    if as_json:
        emit_json({"licence_id": licence_id, "reason": reason})
        return
    echo(f"revoked {licence_id}: goes up with the next sync, and down to every node "
               "with the national relay")


@licence_group.command("export")
@click.argument("licence_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Licence file to write (JSON, needs only the root to verify).")
@click.option("--qr", "qr_png", type=click.Path(dir_okay=False, path_type=Path),
              help="QR code image (PNG) of the paper-copy payload.")
@click.option("--qr-text", is_flag=True, help="Print the QR payload text.")
@click.option("--openssl", "openssl_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for checking the seal with OpenSSL alone.")
@home_option
def export(licence_id: str, out: Path | None, qr_png: Path | None, qr_text: bool,
           openssl_dir: Path | None, home_dir: str | None) -> None:
    """Export a licence as a file, a QR code, or OpenSSL check files.

    \b
    Example:
      tongban licence export 1.2.156.3005.2.GA0001.11540102015712342L.5401020000012.001.7 \\
        --out licence.json --qr licence.png
    """
    if not (out or qr_png or qr_text or openssl_dir):
        raise InputError("say what to export: --out FILE, --qr PNG, --qr-text or --openssl DIR")
    for line in licence_export.export(_open(home_dir), licence_id, out, qr_png, qr_text,
                                      openssl_dir):
        echo(line)


def _node(home_dir: str | None) -> NodeStore:
    home = resolve_home(home_dir)
    if not Home(home.path).exists():
        raise EnvironmentProblem(f"no node at {home.path}: pass --root ROOT.pem to verify a "
                                 "file without a node (a QR payload needs a node)")
    return NodeStore.open(home)


def _root(path: Path) -> x509.Certificate:
    try:
        return load_cert(path.read_bytes(), f"root certificate {path}")
    except OSError as exc:
        raise EnvironmentProblem(f"cannot read root certificate {path}: {exc.strerror}") from exc
    except Error as exc:
        raise EnvironmentProblem(exc.diagnostics()) from exc


@licence_group.command("verify")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--qr-text", "qr", help="The QR payload (TB1:…) instead of a file.")
@click.option("--root", "root_file", type=click.Path(dir_okay=False, path_type=Path),
              help="National root certificate, for a machine that holds no node.")
@json_option
@home_option
def verify(file: Path | None, qr: str | None, root_file: Path | None, as_json: bool,
           home_dir: str | None) -> None:
    """Verify a licence file (with only the root) or a QR payload (on any node).

    Exit 0 valid; 1 invalid, revoked or expired; 2 could not run.

    \b
    Example:
      tongban licence verify licence.json --root root.pem
      tongban licence verify --qr-text 'TB1:…' --home /var/lib/tongban
    """
    now, today = datetime.now(UTC), local_today()
    if file is not None and qr is None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise EnvironmentProblem(f"cannot read {file}: {exc.strerror}") from exc
        store: NodeStore | None = None
        if root_file is not None and not home_dir:
            root_path = root_file
        else:
            store = _node(home_dir)
            root_path = root_file or store.home.root_cert_path
        verdict = licence_verify.verify_file(data, _root(root_path), now, today, store)
    elif qr is not None and file is None:
        verdict = licence_verify.verify_qr(_node(home_dir), from_qr_text(qr), now, today)
    else:
        raise EnvironmentProblem("give a licence FILE or --qr-text, one of the two")
    report = licence_export.describe(verdict)
    if as_json:
        emit_json(report)
    else:
        for key, value in report.items():
            echo(f"{key:14} {value}")
    if not verdict.ok:
        raise LicenceNotValid(f"licence {verdict.claims.licence_id} is {verdict.detail}")


@licence_group.command("relay")
@json_option
@home_option
def relay(as_json: bool, home_dir: str | None) -> None:
    """At the national node: relay new licence revocations and seals to every node.

    `tongban serve` at the national node runs it by itself (after each push that
    brings a seal or a revocation, and every interval_seconds); this is the same
    relay by hand. It writes nothing when nothing is new.

    \b
    Example:
      tongban licence relay --home /srv/tongban-000000
    """
    result = licences.relay(_open(home_dir))
    if as_json:
        emit_json(asdict(result))
        return
    echo(f"relayed {result.revocations} revocations and {result.certificates} "
               f"certificates in {result.records} records")



@licence_group.group("types")
def types_group() -> None:
    """Licence types (证照类型), published downward like matters."""


@types_group.command("publish")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@home_option
def types_publish(file: Path | None, home_dir: str | None) -> None:
    """Publish licence types (the national node, or a province for its own types).

    Without FILE, the shipped list (node/data/licence_types.toml): the national
    node's initial publication. Unchanged types write nothing.

    \b
    Example:
      tongban licence types publish --home /srv/tongban-000000
    """
    published, unchanged = licence_types.publish(_open(home_dir), file)
    echo(f"{published} published, {unchanged} unchanged")


@types_group.command("list")
@json_option
@home_option
def types_list(as_json: bool, home_dir: str | None) -> None:
    """The licence types this node knows, and where they came from.

    \b
    Example:
      tongban licence types list
    """
    found = licence_types.listing(_open(home_dir).db)
    if as_json:
        emit_json({"source": found.source, "types": found.types})
        return
    echo(table(["code", "name", "holder", "published by"],
               [(t["code"], t["name"], t["holder"], t["published_by"]) for t in found.types]))
    echo(f"source: {found.source}")
