"""``tongban pki``: enrolment, certificate inspection, key rotation, checkpoint export.

The work is node.enrolment's; these commands parse and print. Every command
refuses with one line (a pki.errors.Error); the main command prints it.
"""

from __future__ import annotations

from pathlib import Path

import click
from cryptography import x509

from node import enrolment
from node.cli.common import echo, emit_json, home_option, json_option, resolve_home
from pki import certs
from pki.errors import InputError


@click.group("pki")
def pki_group() -> None:
    """Certificates: national root, enrolment of child nodes, rotation, audit export.

    \b
    Example:
      tongban pki csr && tongban pki import node-540102.pem
    """


def _described(cert: x509.Certificate) -> dict:
    """What the commands that make or install a certificate say about it, for scripts."""
    return {"division": certs.division_of(cert), "serial": certs.serial_hex(cert),
            "not_after": cert.not_valid_after_utc.isoformat()}


@pki_group.command("init-root")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Folder for root.crt and root.key (the key can then be moved offline).")
@click.option("--days", type=int, default=enrolment.ROOT_DAYS, show_default=True,
              help="Validity in days.")
@json_option
@home_option
def init_root(out: str | None, days: int, as_json: bool, home_dir: str | None) -> None:
    """Create the national root CA (division 000000).

    With --out, writes a new root key (mode 0600) and self-signed root.crt into
    the folder, to be kept offline and used with `pki issue --ca-cert --ca-key`.
    Without --out, makes the root from the key of the national node's home
    (created by `tongban init --division 000000`) and installs it as node.crt and
    root.crt: the national node then signs with the root key itself.

    \b
    Example:
      tongban pki init-root --out /media/offline-ca --days 3650
    """
    if out is not None:
        made = enrolment.make_offline_root(Path(out), days)
        if as_json:
            emit_json({**_described(made.cert), "certificate": str(made.cert_path),
                       "key_file": str(made.key_path)})
            return
        echo(f"root CA 000000 serial {certs.serial_hex(made.cert)} "
                   f"valid until {made.cert.not_valid_after_utc:%Y-%m-%d}")
        echo(f"certificate: {made.cert_path}")
        echo(f"private key: {made.key_path} (mode 0600; keep it offline)")
        return
    home = resolve_home(home_dir)
    root = enrolment.install_root(home, days)
    if as_json:
        emit_json({**_described(root), "home": str(home.path)})
        return
    echo(f"root CA 000000 serial {certs.serial_hex(root)} installed in {home.path}")


@pki_group.command()
@json_option
@home_option
def csr(as_json: bool, home_dir: str | None) -> None:
    """Write node.csr for this node's key, to be carried to the parent's operator.

    \b
    Example:
      tongban pki csr --home /srv/tongban
    """
    path = enrolment.write_csr(resolve_home(home_dir))
    if as_json:
        emit_json({"csr": str(path)})
        return
    echo(str(path))


@pki_group.command()
@click.argument("csr_file", metavar="CSR", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the issued certificate bundle (PEM).")
@click.option("--ca-cert", type=click.Path(dir_okay=False), default=None,
              help="Issuer certificate (default: this node's node.crt).")
@click.option("--ca-key", type=click.Path(dir_okay=False), default=None,
              help="Issuer private key (default: this node's node.key).")
@click.option("--chain", "chain_file", type=click.Path(dir_okay=False), default=None,
              help="Issuer's chain up to and including the root (not needed for the root).")
@click.option("--days", type=int, default=enrolment.NODE_DAYS, show_default=True,
              help="Validity in days.")
@json_option
@home_option
def issue(csr_file: str, out: str, ca_cert: str | None, ca_key: str | None,
          chain_file: str | None, days: int, as_json: bool, home_dir: str | None) -> None:
    """Certify a child node: run by the parent's operator.

    Writes the new certificate followed by the issuer chain up to the root, the
    file the child imports. Refuses a division outside the issuer's subtree.

    \b
    Example:
      tongban pki issue node-540102.csr --out node-540102.pem --home /srv/tongban-540000
    """
    if (ca_cert is None) != (ca_key is None):
        raise InputError("--ca-cert and --ca-key go together (or neither, to use --home)")
    home = None
    if ca_cert is not None and ca_key is not None:
        issuer = enrolment.file_issuer(Path(ca_cert), Path(ca_key),
                                       Path(chain_file) if chain_file else None)
    else:
        home = resolve_home(home_dir)
        issuer = enrolment.home_issuer(home)
    issued = enrolment.issue(Path(csr_file), Path(out), issuer, days, record_in=home)
    cert = issued.cert
    if as_json:
        emit_json({**_described(cert), "out": out, "cut_short": issued.cut_short,
                   "recorded": issued.recorded})
        return
    echo(f"issued {certs.division_of(cert)} serial {certs.serial_hex(cert)} "
               f"valid until {cert.not_valid_after_utc:%Y-%m-%d}: {out}")
    if issued.cut_short:
        echo(f"warning: cut short to the issuer's own expiry; {days} days were asked for "
                   "(renew the issuer's certificate, then re-issue)", err=True)


@pki_group.command("import")
@click.argument("bundle_file", metavar="CERT", type=click.Path(dir_okay=False))
@json_option
@home_option
def import_(bundle_file: str, as_json: bool, home_dir: str | None) -> None:
    """Install the certificate bundle the parent issued for this node.

    Checks that it is for this node's division and key and that its chain
    verifies to the root in the bundle (and to the installed root.crt, if any).

    \b
    Example:
      tongban pki import node-540102.pem
    """
    cert = enrolment.install(resolve_home(home_dir), Path(bundle_file))
    if as_json:
        emit_json(_described(cert))
        return
    echo(f"installed {certs.division_of(cert)} serial {certs.serial_hex(cert)} "
               f"valid until {cert.not_valid_after_utc:%Y-%m-%d}")


@pki_group.command()
@home_option
@json_option
def show(home_dir: str | None, as_json: bool) -> None:
    """Show this node's certificate chain and how long each certificate has left.

    Warns when one expires within 30 days or when a key rotation awaits its
    certificate.

    \b
    Example:
      tongban pki show --json
    """
    status = enrolment.chain_status(resolve_home(home_dir))
    if as_json:
        emit_json({"chain": status.chain, "warnings": status.warnings})
        return
    for c in status.chain:
        kind = "CA" if c["ca"] else "leaf"
        echo(f"{c['division']}  {kind:4}  serial {c['serial']}  issuer {c['issuer']}  "
                   f"{c['not_before'][:10]} .. {c['not_after'][:10]}  "
                   f"{c['days_left']} days left")
    for w in status.warnings:
        echo(f"warning: {w}")


@pki_group.command()
@json_option
@home_option
def rotate(as_json: bool, home_dir: str | None) -> None:
    """Start a key rotation: new node key and node.csr; the old key and cert are kept.

    The old key and certificate move to old-keys/ (mode 0600) so checkpoints
    signed before stay verifiable. Until the parent has issued node.csr and
    `pki import` has installed the new certificate, the node keeps signing with
    the old key, so work at the window never stops.

    \b
    Example:
      tongban pki rotate && tongban pki show
    """
    rotation = enrolment.rotate(resolve_home(home_dir))
    if as_json:
        emit_json({"kept": str(rotation.kept), "csr": str(rotation.csr_path)})
        return
    echo(f"old key and certificate kept as {rotation.kept}.key/.crt")
    echo(f"new request {rotation.csr_path}: have the parent issue it, then "
               "'tongban pki import'")


@pki_group.command("export-checkpoint")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Folder for checkpoint.txt, checkpoint.sig and the PEM files.")
@json_option
@home_option
def export_checkpoint_cmd(out: str, as_json: bool, home_dir: str | None) -> None:
    """Export this node's latest signed checkpoint for checking with OpenSSL alone.

    \b
    Example:
      tongban pki export-checkpoint --out audit/ && cd audit && \\
        openssl dgst -sha256 -verify signer-pubkey.pem -signature checkpoint.sig checkpoint.txt
    """
    done = enrolment.export_latest_checkpoint(resolve_home(home_dir), Path(out))
    if as_json:
        emit_json({"division": done.division, "size": done.size,
                   "folder": str(done.files.directory)})
        return
    echo(f"exported {done.division} checkpoint size {done.size} to {done.files.directory}")
    echo("check: openssl verify -CAfile root.pem -untrusted chain.pem signer.pem")
    echo("check: openssl dgst -sha256 -verify signer-pubkey.pem "
               "-signature checkpoint.sig checkpoint.txt")


@pki_group.command()
@click.argument("serial")
@click.option("--reason", required=True,
              help="RFC 5280 reason: keyCompromise, superseded, cessationOfOperation, …")
@json_option
@home_option
def revoke(serial: str, reason: str, as_json: bool, home_dir: str | None) -> None:
    """Revoke a certificate this node issued (a record in this node's own log).

    The revocation flows up and down with the log; every verifier refuses the
    certificate for anything signed after the revocation time.

    \b
    Example:
      tongban pki revoke 3f2a9c0d1e --reason keyCompromise --home /srv/tongban-540100
    """
    number, origin = enrolment.revoke(resolve_home(home_dir), serial, reason)
    if as_json:
        emit_json({"serial": f"{number:x}", "reason": reason, "origin": origin})
        return
    echo(f"revoked serial {number:x} ({reason}) in the log of {origin}")
